// The member-state rules: how alive, suspect and dead claims change the local view (SWIM §4.2,
// with memberlist's merge semantics and Lifeguard's buddy refutation).
#include <algorithm>

#include "base/assert.h"
#include "gossip/core/membership.h"

namespace chronik::gossip {

namespace {

// SWIM §4.2: what a member holds of another's incarnation only grows; every message that would
// lower it was refused before this point, so a lower one here is a broken invariant.
void raise_incarnation(member& mem, incarnation inc) {
  CHRONIK_ASSERT(inc >= mem.inc, "a member's incarnation moved back");
  mem.inc = inc;
}

}  // namespace

void membership::broadcast(message msg, node_id about) { broadcasts_.push(about, std::move(msg)); }

void membership::set_state(member& mem, member_state state) {
  mem.state = state;
  mem.state_changed_at = now_;
  emit(member_event_kind::state_changed, mem);
}

// SWIM §4.2: only the member itself raises its incarnation, which overrides every older suspect or
// dead claim about it.
void membership::refute(incarnation accused) {
  member& me = members_.at(self_.id);
  // Every claim that reaches here passed incarnation_in_range or is below the ceiling itself
  // (on_alive), so the refutation fits and other members accept it.
  CHRONIK_ASSERT(std::max(me.inc.value, accused.value) < max_incarnation, "refutation past max_incarnation");
  me.inc.value = std::max(me.inc.value, accused.value) + 1;
  ++stats_.refutations;
  // Lifeguard §4.3: being suspected is a hint that we are the slow one.
  awareness_.apply(1);
  broadcast(own_alive(me), me.id);
  log(log_level::info, "refuting suspicion at incarnation " + std::to_string(accused.value) + ", now " +
                           std::to_string(me.inc.value));
}

// Nothing outbids max_incarnation, so there we announce ourselves at it and rely on the rule that
// an alive at the ceiling overrides suspect and dead claims of the same incarnation (on_alive).
// Only a forged claim, or a previous run of ours that met one, puts us here; a restart then comes
// back at the ceiling instead of being held dead for good.
void membership::announce_at_ceiling() {
  member& me = members_.at(self_.id);
  if (me.inc.value != max_incarnation)
    log(log_level::warn, "incarnation raised to its ceiling " + std::to_string(max_incarnation) +
                             " by a claim there; refutations now rely on the ceiling rule");
  me.inc.value = max_incarnation;
  broadcast(own_alive(me), me.id);
}

// A suspect or dead claim about ourselves (SWIM §4.2). A current one is refuted with a new
// incarnation; a stale one means its sender, and whoever it gossiped to, missed our refutation, so
// our alive is queued again. Either way the accuser also gets our alive straight back: under heavy
// loss the gossip path alone can miss exactly the members whose timers are running.
void membership::accused(incarnation inc, const std::string& reply_to) {
  if (leaving_) return;
  const member& me = members_.at(self_.id);
  if (inc.value == max_incarnation) announce_at_ceiling();
  else if (inc >= me.inc) refute(inc);
  else broadcast(own_alive(me), me.id);
  if (!reply_to.empty()) send(reply_to, {own_alive(me)});
}

void membership::on_alive(const alive_msg& m, const envelope* via) {
  if (m.node == self_.id) {
    const member& me = members_.at(self_.id);
    const bool same_identity = m.uuid == me.uuid && m.addr == me.addr;
    if (leaving_ || (same_identity && m.inc <= me.inc)) return;
    if (other_holder(me, m.uuid, m.addr)) {  // identity.cc
      if (via != nullptr) claim_of_own_id({m.node, m.inc, member_state::alive, m.uuid, m.addr, m.meta}, *via);
      return;
    }
    if (m.inc.value == max_incarnation) {
      // Nothing outbids the ceiling. Our own earlier announcement (from before a restart) is
      // taken over as it stands. Another identity at the ceiling is an impostor or a forged
      // claim we cannot outbid.
      if (!same_identity) {
        log(log_level::error, "another identity holds this node id at the incarnation ceiling (address " + m.addr + ")");
        return;
      }
      announce_at_ceiling();
      return;
    }
    // Someone speaks for our node id with our uuid or our address but not both, or with a newer
    // incarnation: a previous run of this node (another holder went to identity.cc above).
    // Out-bidding it makes the whole cluster replace the old entry for good.
    if (!same_identity) log(log_level::info, "replacing the previous entry of this node id (address " + m.addr + ")");
    refute(m.inc);
    return;
  }
  if (m.meta.size() > cfg_.max_meta_bytes) return;

  auto it = members_.find(m.node);
  if (it == members_.end()) {
    member mem{m.node, m.uuid, m.addr, m.meta, m.inc, member_state::alive, now_};
    auto& inserted = members_.emplace(m.node, std::move(mem)).first->second;
    // memberlist inserts new members at a random position of the probe round.
    const auto lo = std::min(probe_index_, probe_order_.size());
    const auto pos = lo + rng_.below(probe_order_.size() - lo + 1);
    probe_order_.insert(probe_order_.begin() + static_cast<std::ptrdiff_t>(pos), m.node);
    member_added_at_ = now_;
    emit(member_event_kind::joined, inserted);
    broadcast(m, m.node);
    return;
  }

  member& mem = it->second;
  const bool identity_changed = mem.uuid != m.uuid || mem.addr != m.addr;
  const bool dead_or_left = mem.state == member_state::dead || mem.state == member_state::left;
  // A live member keeps its id against another identity, whatever incarnation it claims.
  if (!dead_or_left && other_holder(mem, m.uuid, m.addr)) {
    ignore_claim_of_live_id(mem, m, via);
    return;
  }
  // A restarted node (new uuid or address) may take over a dead entry at the same incarnation;
  // another holder (new uuid and address) only when its operator asked for it (identity.cc).
  const bool takes_over_dead = dead_or_left && identity_changed && m.inc == mem.inc &&
                               (m.replaces || !other_holder(mem, m.uuid, m.addr));
  // A member at max_incarnation cannot refute with a higher one, so there its alive overrides a
  // suspect or dead claim of the same incarnation. Without this, one false suspicion of it would
  // stand for good; with it, a member that really died at the ceiling may show up alive again
  // while stale copies of its last alive circulate, until probes confirm its death again.
  const bool at_ceiling = m.inc.value == max_incarnation && m.inc == mem.inc && mem.state != member_state::alive &&
                          mem.state != member_state::left;
  if (m.inc <= mem.inc && !takes_over_dead && !at_ceiling) return;

  const bool changed = identity_changed || mem.meta != m.meta;
  raise_incarnation(mem, m.inc);
  mem.uuid = m.uuid;
  mem.addr = m.addr;
  mem.meta = m.meta;
  suspicions_.erase(m.node);
  if (mem.state != member_state::alive) set_state(mem, member_state::alive);
  else if (changed) emit(member_event_kind::updated, mem);
  broadcast(m, m.node);
}

void membership::on_suspect(const suspect_msg& m, const std::string& reply_to) {
  if (m.node == self_.id) {
    accused(m.inc, reply_to);
    return;
  }
  auto it = members_.find(m.node);
  if (it == members_.end() || m.inc < it->second.inc) return;
  member& mem = it->second;
  // A suspicion at a newer incarnation proves the member refuted our older one (we only missed the
  // alive): it starts a fresh timer instead of confirming, and possibly expiring, the old one.
  if (mem.state == member_state::suspect && m.inc == mem.inc) {
    // Lifeguard §4.2: an independent accusation shortens the timeout; re-gossip it so others can
    // count it too.
    auto s = suspicions_.find(m.node);
    if (s != suspicions_.end() && s->second.confirm(m.from)) broadcast(m, m.node);
    return;
  }
  if (mem.state != member_state::alive && mem.state != member_state::suspect) return;

  raise_incarnation(mem, m.inc);
  if (mem.state != member_state::suspect) set_state(mem, member_state::suspect);
  ++stats_.suspicions_started;
  const std::size_t n = alive_count();
  std::uint32_t k = cfg_.suspicion_mult >= 2 ? cfg_.suspicion_mult - 2 : 0;
  if (n < 2 || n - 2 < k) k = 0;  // too few members to expect confirmations
  const tick_count min = suspicion_min_ticks(cfg_.suspicion_mult, n, cfg_.ticks(cfg_.probe_interval_ms));
  const tick_count max = min * cfg_.suspicion_max_timeout_mult;
  suspicions_.insert_or_assign(m.node, suspicion(m.from, now_, k, min, max));
  broadcast(m, m.node);
  // Lifeguard's buddy system (§4.2) tells a suspect on the next probe of it, which round-robin may
  // delay by several periods. Every member that starts suspecting also tells the suspect directly,
  // so that one lost gossip path does not stand between a live member and its refutation.
  send(mem.addr, {m});
}

void membership::on_dead(const dead_msg& m, const std::string& reply_to) {
  if (m.node == self_.id) {
    accused(m.inc, reply_to);
    return;
  }
  auto it = members_.find(m.node);
  if (it == members_.end() || m.inc < it->second.inc) return;
  member& mem = it->second;
  if (mem.state == member_state::dead || mem.state == member_state::left) return;

  raise_incarnation(mem, m.inc);
  suspicions_.erase(m.node);
  const bool left = m.from == m.node;
  if (!left) ++stats_.declared_dead;
  set_state(mem, left ? member_state::left : member_state::dead);
  broadcast(m, m.node);
}

// memberlist mergeRemoteState: a remote "dead" becomes only a suspicion here, so that the member
// gets a suspicion timeout's chance to refute before we believe it.
void membership::merge_remote(const push_pull_msg& m, const envelope& env) {
  for (const auto& r : m.members) merge_record(r, env);
}

void membership::merge_record(const member_record& r, const envelope& env) {
  if (!incarnation_in_range(r.node, r.inc, r.state)) return;  // that record only
  if (conflict_) return;  // we yielded our id: nothing more is ours to learn
  if (r.node == self_.id && other_holder(members_.at(self_.id), r.uuid, r.addr)) {
    claim_of_own_id(r, env);  // identity.cc
    return;
  }
  // A suspicion or death of another identity than the one we hold for that id is not about
  // our member (identity.cc); its alive went through the same rule in on_alive.
  if (auto held = members_.find(r.node); r.state != member_state::alive && held != members_.end() &&
                                         r.node != self_.id && other_holder(held->second, r.uuid, r.addr))
    return;
  switch (r.state) {
    case member_state::alive: on_alive(alive_msg{r.node, r.inc, r.uuid, r.addr, r.meta}, &env); break;
    case member_state::suspect:
    case member_state::dead: on_suspect(suspect_msg{r.node, r.inc, env.from}, env.from_addr); break;
    case member_state::left: on_dead(dead_msg{r.node, r.inc, r.node}); break;
  }
}

void membership::check_suspicions() {
  const tick_count period = cfg_.ticks(cfg_.probe_interval_ms);
  std::vector<node_id> expired;
  for (const auto& [id, s] : suspicions_) {
    if (s.deadline() <= now_) {
      expired.push_back(id);
    } else if (now_ > s.started_at() && (now_ - s.started_at()) % period == 0) {
      // Remind the suspect once per probe period while our timer runs: a suspicion that no one
      // else heard of (every copy lost) must still reach the one member who can refute it.
      const member& mem = members_.at(id);
      send(mem.addr, {suspect_msg{id, mem.inc, self_.id}});
    }
  }
  for (node_id id : expired) {
    auto it = members_.find(id);
    suspicions_.erase(id);
    if (it == members_.end() || it->second.state != member_state::suspect) continue;
    log(log_level::info, "declaring node " + std::to_string(id.value()) + " dead after suspicion timeout");
    on_dead(dead_msg{id, it->second.inc, self_.id});
  }
}

void membership::reap() {
  // Reaping is rare; check about once a second of ticks to keep tick() cheap.
  if (now_ % 128 != 0) return;
  const tick_count keep = cfg_.ticks(cfg_.reap_after_ms);
  for (auto it = members_.begin(); it != members_.end();) {
    const member& mem = it->second;
    const bool gone = mem.state == member_state::dead || mem.state == member_state::left;
    if (mem.id != self_.id && gone && now_ - mem.state_changed_at > keep) {
      emit(member_event_kind::reaped, mem);
      std::erase(probe_order_, mem.id);
      probe_index_ = std::min(probe_index_, probe_order_.size());
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace chronik::gossip
