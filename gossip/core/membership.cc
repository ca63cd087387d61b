// Construction, the tick/step entry points, commands and queries of the membership core.
#include "gossip/core/membership.h"

#include <algorithm>

namespace chronik::gossip {

membership::membership(config cfg, self_identity self, std::vector<std::string> seed_addrs,
                       std::uint64_t rng_seed, log_sink log)
    : cfg_(cfg),
      self_(std::move(self)),
      rng_(rng_seed),
      log_(std::move(log)),
      awareness_(cfg.awareness_max_multiplier) {
  // A node is often handed the whole seed list, itself included; never join ourselves.
  for (auto& s : seed_addrs)
    if (s != self_.addr && std::find(seeds_.begin(), seeds_.end(), s) == seeds_.end()) seeds_.push_back(std::move(s));

  member me{self_.id, self_.uuid, self_.addr, self_.meta, incarnation{0}, member_state::alive, 0};
  members_.emplace(self_.id, me);
  broadcast(own_alive(me), me.id);

  // Without seeds this node is the first of its cluster and waits to be contacted.
  joined_ = seeds_.empty();
  pending_seeds_ = seeds_;
  join_backoff_ticks_ = cfg_.ticks(cfg_.join_retry_min_ms);
  // Spread the periodic work of nodes started together over one period each.
  next_probe_at_ = 1 + rng_.below(cfg_.ticks(cfg_.probe_interval_ms));
  next_gossip_at_ = 1 + rng_.below(cfg_.ticks(cfg_.gossip_interval_ms));
  next_push_pull_at_ = 1 + rng_.below(cfg_.ticks(cfg_.push_pull_interval_ms));
  next_reconnect_at_ = cfg_.ticks(cfg_.reconnect_interval_ms) + rng_.below(cfg_.ticks(cfg_.reconnect_interval_ms));
}

void membership::tick() {
  if (conflict_) return;  // we yielded our node id (identity.cc): silent until the shell stops
  ++now_;
  join_tick();
  probe_tick();
  relay_tick();
  check_suspicions();
  gossip_tick();
  introduce_tick();
  push_pull_tick();
  reconnect_tick();
  reap();
}

void membership::step(const envelope& env) {
  if (env.cluster != self_.cluster) {
    // Another cluster's node (or a stale seed list): ignore it entirely, at join and afterwards.
    if (stats_.envelopes_foreign_cluster++ % 100 == 0)
      log(log_level::warn, "ignoring gossip from cluster '" + env.cluster + "' at " + env.from_addr);
    return;
  }
  if (env.from == self_.id && env.from_addr == self_.addr) return;
  if (conflict_) return;
  // Anyone who talks to us knows us: the join is done, and that seed needs no more retries.
  if (!joined_) {
    joined_ = true;
    introduce_pending_ = true;
    log(log_level::info, "joined via " + env.from_addr);
  }
  std::erase(pending_seeds_, env.from_addr);
  sync_with_stranger(env);
  // State updates first, then probe traffic: an ack we send then carries what this very envelope
  // taught us, such as the refutation a buddy probe asks for (Lifeguard §4.2).
  for (const auto& msg : env.messages)
    if (!is_probe(msg)) dispatch(env, msg);
  for (const auto& msg : env.messages)
    if (is_probe(msg)) dispatch(env, msg);
}

bool membership::is_probe(const message& msg) {
  return std::holds_alternative<ping_msg>(msg) || std::holds_alternative<indirect_ping_msg>(msg) ||
         std::holds_alternative<ack_msg>(msg) || std::holds_alternative<nack_msg>(msg);
}

bool membership::incarnation_in_range(node_id about, incarnation inc, member_state claim) {
  // An accusation must leave room for its refutation, inc + 1 (SWIM §4.2). The one exception is
  // an accusation of ourselves at the ceiling: we answer it with an alive at the ceiling, which
  // overrides it (members.cc, accused and on_alive).
  const bool ok = claim == member_state::alive
                      ? inc.value <= max_incarnation
                      : inc.value < max_incarnation || (about == self_.id && inc.value == max_incarnation);
  if (ok) return true;
  if (stats_.incarnations_out_of_range++ % 100 == 0)
    log(log_level::warn, "dropping a " + std::string(to_string(claim)) + " claim about node " +
                             std::to_string(about.value()) + " at incarnation " + std::to_string(inc.value) +
                             ", past the ceiling");
  return false;
}

void membership::dispatch(const envelope& env, const message& msg) {
  if (conflict_) return;  // yielded within this envelope
  if (const auto* a = std::get_if<alive_msg>(&msg); a && !incarnation_in_range(a->node, a->inc, member_state::alive))
    return;
  if (const auto* s = std::get_if<suspect_msg>(&msg); s && !incarnation_in_range(s->node, s->inc, member_state::suspect))
    return;
  if (const auto* d = std::get_if<dead_msg>(&msg); d && !incarnation_in_range(d->node, d->inc, member_state::dead))
    return;
  {
    std::visit(
        [&](const auto& m) {
          using T = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<T, ping_msg>) on_ping(env, m);
          else if constexpr (std::is_same_v<T, indirect_ping_msg>) on_indirect_ping(env, m);
          else if constexpr (std::is_same_v<T, ack_msg>) on_ack(m);
          else if constexpr (std::is_same_v<T, nack_msg>) on_nack(m);
          else if constexpr (std::is_same_v<T, alive_msg>) on_alive(m, &env);
          else if constexpr (std::is_same_v<T, suspect_msg>) on_suspect(m, env.from_addr);
          else if constexpr (std::is_same_v<T, dead_msg>) on_dead(m, env.from_addr);
          else if constexpr (std::is_same_v<T, push_pull_msg>) on_push_pull(env, m);
        },
        msg);
  }
}

void membership::set_meta(std::string meta) {
  if (meta.size() > cfg_.max_meta_bytes) {
    log(log_level::error, "node metadata of " + std::to_string(meta.size()) + " bytes exceeds max_meta_bytes");
    return;
  }
  member& me = members_.at(self_.id);
  self_.meta = meta;
  me.meta = std::move(meta);
  // Only a forged claim can have put us at the ceiling; then members who already hold us at it
  // keep our old metadata, and new ones learn the new.
  if (me.inc.value < max_incarnation) ++me.inc.value;
  else log(log_level::error, "incarnation at its ceiling: metadata change not announced to current members");
  emit(member_event_kind::updated, me);
  broadcast(own_alive(me), me.id);
  // Metadata changes drive cluster formation (docs/bootstrap.md): gossip them on the next tick
  // instead of waiting up to a gossip interval.
  next_gossip_at_ = std::min(next_gossip_at_, now_ + 1);
}

void membership::leave() {
  if (leaving_ || conflict_) return;
  leaving_ = true;
  member& me = members_.at(self_.id);
  set_state(me, member_state::left);
  broadcast(dead_msg{me.id, me.inc, me.id}, me.id);
  // Do not wait for the next gossip round: the shell is about to stop.
  next_gossip_at_ = now_ + 1;
}

bool membership::leave_broadcast_done() const {
  if (conflict_) return true;  // a yielded node must not announce a leave of the holder's id
  if (!leaving_) return false;
  if (alive_count() == 0) return true;  // we are already `left`, so this means nobody to tell
  return !broadcasts_.transmits(self_.id).has_value();
}

std::vector<member> membership::members() const {
  std::vector<member> out;
  out.reserve(members_.size());
  for (const auto& [id, m] : members_) out.push_back(m);
  return out;
}

std::optional<member> membership::find(node_id id) const {
  auto it = members_.find(id);
  if (it == members_.end()) return std::nullopt;
  return it->second;
}

std::size_t membership::alive_count() const {
  return static_cast<std::size_t>(std::count_if(members_.begin(), members_.end(), [](const auto& kv) {
    return kv.second.state == member_state::alive || kv.second.state == member_state::suspect;
  }));
}

void membership::emit(member_event_kind kind, const member& mem) {
  ++events_emitted_;
  ready_.events.push_back({kind, mem});
}

void membership::log(log_level level, const std::string& text) const {
  if (log_) log_(level, text);
}

}  // namespace chronik::gossip
