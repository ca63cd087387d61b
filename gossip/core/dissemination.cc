// Spreading state: piggyback gossip (SWIM §4.1), periodic push-pull full sync, the join with
// backoff to the seeds, a joiner's introduction to every member, and reconnects to dead members
// and seeds so that partitions heal.
#include <algorithm>
#include <cmath>

#include "gossip/core/membership.h"

namespace chronik::gossip {

std::uint32_t membership::retransmit_limit() const {
  // SWIM §4.1: lambda * ceil(log10(n + 1)) retransmissions reach everyone with high probability.
  const double n = static_cast<double>(members_.size());
  return cfg_.retransmit_mult * static_cast<std::uint32_t>(std::ceil(std::log10(n + 1.0)));
}

std::vector<node_id> membership::random_members(std::size_t k, node_id exclude, bool include_recent_dead) {
  const tick_count dead_window = cfg_.ticks(cfg_.gossip_to_dead_ms);
  std::vector<node_id> candidates;
  for (const auto& [id, m] : members_) {
    if (id == self_.id || id == exclude) continue;
    const bool live = m.state == member_state::alive || m.state == member_state::suspect;
    const bool recent_dead = m.state == member_state::dead && now_ - m.state_changed_at < dead_window;
    if (live || (include_recent_dead && recent_dead)) candidates.push_back(id);
  }
  rng_.shuffle(candidates);
  if (candidates.size() > k) candidates.resize(k);
  return candidates;
}

std::vector<message> membership::fill_with_broadcasts(std::vector<message> msgs, std::size_t budget, transmission mode) {
  std::size_t used = 0;
  for (const auto& m : msgs) used += encoded_size_bound(m);
  if (used >= budget) return msgs;
  for (auto& b : broadcasts_.take(budget - used, retransmit_limit(), mode)) msgs.push_back(std::move(b));
  return msgs;
}

// Copies sent to members we suspect or hold dead do not count toward an update's few
// transmissions: probes, suspicion notices and gossip to a crashed member would otherwise use them
// up and starve the live members of the news (such as that very member's death).
transmission membership::transmission_to(const std::string& addr) const {
  const bool doubtful = std::any_of(members_.begin(), members_.end(), [&](const auto& kv) {
    return kv.second.addr == addr && (kv.second.state == member_state::suspect || kv.second.state == member_state::dead);
  });
  return doubtful ? transmission::free : transmission::counted;
}

void membership::send(const std::string& to, std::vector<message> msgs, transport via) {
  envelope env{self_.cluster, self_.id, self_.addr, {}};
  // Piggyback pending updates on every datagram, as SWIM §4.1 prescribes.
  if (via == transport::datagram) {
    const std::size_t overhead = envelope_overhead_bound(env);
    msgs = fill_with_broadcasts(std::move(msgs), cfg_.max_datagram_bytes - overhead, transmission_to(to));
  }
  env.messages = std::move(msgs);
  ready_.packets.push_back(outbound_packet{to, via, std::move(env)});
}

void membership::gossip_tick() {
  if (now_ < next_gossip_at_) return;
  next_gossip_at_ = now_ + cfg_.ticks(cfg_.gossip_interval_ms);
  if (broadcasts_.size() == 0) return;
  const std::size_t budget = cfg_.max_datagram_bytes - envelope_overhead_bound({self_.cluster, self_.id, self_.addr, {}});
  for (node_id id : random_members(cfg_.gossip_nodes, self_.id, true)) {
    const std::string& addr = members_.at(id).addr;
    auto msgs = broadcasts_.take(budget, retransmit_limit(), transmission_to(addr));
    if (msgs.empty()) break;
    envelope env{self_.cluster, self_.id, self_.addr, std::move(msgs)};
    ready_.packets.push_back(outbound_packet{addr, transport::datagram, std::move(env)});
  }
}

// A joiner tells every member it holds about itself, once, directly. Its alive spreads by gossip
// and by passed-on syncs, but each member gets a copy only with high probability: a member that
// every copy happens to miss hears of us only at its next periodic sync, up to a minute later,
// since it has no way to know it missed anything (tests/sim seed 64000020: 533 copies, none to one
// of 63 members). We wait until our own alive has left our broadcast queue, by when the cluster
// has mostly heard of us, so nearly every introduction is a datagram the receiver ignores; one
// that did miss us learns us from it and, since we are a stranger to it, syncs with us. We also
// wait until our view has gone introduce_quiet_rounds gossip intervals without a new member (a
// passed-on sync follows the one that taught news by one interval, so a view still growing gains
// members sooner): in a cluster that starts together our own gossip is done while we hold only
// part of it, and an introduction then would skip the members we learn of later (seed 32003433).
void membership::introduce_tick() {
  constexpr std::uint64_t introduce_quiet_rounds = 4;
  if (!introduce_pending_ || leaving_ || broadcasts_.transmits(self_.id).has_value() ||
      now_ < member_added_at_ + introduce_quiet_rounds * cfg_.ticks(cfg_.gossip_interval_ms))
    return;
  introduce_pending_ = false;
  const member& me = members_.at(self_.id);
  for (node_id id : random_members(members_.size(), self_.id, false)) {
    envelope env{self_.cluster, self_.id, self_.addr, {own_alive(me)}};
    ready_.packets.push_back(outbound_packet{members_.at(id).addr, transport::datagram, std::move(env)});
  }
}

// A member that talks to us while we do not know it, or hold it dead, has state we are missing
// (or we have state it is missing): one full sync with it fixes both sides at once, rather than
// waiting for its alive to reach us by gossip, which it does only with high probability.
void membership::sync_with_stranger(const envelope& env) {
  auto it = members_.find(env.from);
  const bool stranger = it == members_.end() || it->second.state == member_state::dead;
  if (!stranger || leaving_) return;
  std::erase_if(syncs_requested_, [&](const auto& kv) { return kv.second <= now_; });
  if (syncs_requested_.contains(env.from_addr) || syncs_requested_.size() >= 256) return;
  syncs_requested_.emplace(env.from_addr, now_ + cfg_.ticks(cfg_.probe_interval_ms));
  send_push_pull(env.from_addr, sync_kind::news);
}

void membership::push_pull_tick() {
  const bool periodic = now_ >= next_push_pull_at_;
  const bool pass_on = pass_on_push_pull_at_ && now_ >= *pass_on_push_pull_at_;
  if ((!periodic && !pass_on) || leaving_) return;
  // One sync serves both when they fall due together. A passed-on sync leaves the periodic
  // schedule where it was, so nodes keep the random phases they started with (memberlist's
  // pushPullTrigger keeps its random initial offset the same way).
  pass_on_push_pull_at_.reset();
  if (periodic) {
    // memberlist pushPullScale: above 32 members, sync less often so the total load stays flat.
    const double n = static_cast<double>(members_.size());
    const std::uint64_t scale = n <= 32 ? 1 : static_cast<std::uint64_t>(std::ceil(std::log2(n) - std::log2(32.0))) + 1;
    next_push_pull_at_ = now_ + cfg_.ticks(cfg_.push_pull_interval_ms) * scale;
  }
  auto peers = random_members(1, self_.id, false);
  if (!peers.empty()) send_push_pull(members_.at(peers.front()).addr, pass_on ? sync_kind::news : sync_kind::periodic);
}

void membership::join_tick() {
  if (leaving_ || now_ < next_join_at_) return;
  // A seed that became a live member through someone else needs no join of its own.
  std::erase_if(pending_seeds_, [&](const std::string& seed) {
    return std::any_of(members_.begin(), members_.end(), [&](const auto& kv) {
      return kv.first != self_.id && kv.second.addr == seed && kv.second.state == member_state::alive;
    });
  });
  if (pending_seeds_.empty()) return;
  // Seeds may not be up yet: retry each with exponential backoff until it answers.
  for (const auto& seed : pending_seeds_) send_push_pull(seed, sync_kind::join);
  next_join_at_ = now_ + join_backoff_ticks_;
  join_backoff_ticks_ = std::min(join_backoff_ticks_ * 2, cfg_.ticks(cfg_.join_retry_max_ms));
}

void membership::reconnect_tick() {
  if (now_ < next_reconnect_at_ || leaving_ || !joined_) return;
  next_reconnect_at_ = now_ + cfg_.ticks(cfg_.reconnect_interval_ms);
  // After a partition each side holds the other as dead and no longer gossips to it. A full sync
  // with one dead member or one seed that is not a live member lets the two sides learn that the
  // other refuted, which is how the views merge again.
  std::vector<std::string> targets;
  for (const auto& [id, m] : members_)
    if (m.state == member_state::dead) targets.push_back(m.addr);
  for (const auto& seed : seeds_) {
    const bool live = std::any_of(members_.begin(), members_.end(), [&](const auto& kv) {
      return kv.second.addr == seed &&
             (kv.second.state == member_state::alive || kv.second.state == member_state::suspect);
    });
    if (!live) targets.push_back(seed);
  }
  if (targets.empty()) return;
  send_push_pull(targets[rng_.below(targets.size())], sync_kind::periodic);
}

}  // namespace chronik::gossip
