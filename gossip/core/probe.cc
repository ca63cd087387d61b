// Failure detection: randomized round-robin probing with direct ping, indirect ping-req through k
// members, nacks, and Lifeguard local health (SWIM §3.1 and §4.3; Lifeguard §4.1 and §4.3).
#include <algorithm>

#include "gossip/core/membership.h"

namespace chronik::gossip {
namespace {
constexpr std::size_t max_relays = 1024;  // bound on indirect probes run for others at once
bool probeable(member_state s) { return s == member_state::alive || s == member_state::suspect; }
}  // namespace

// SWIM §4.3: visit members in a shuffled round-robin order so that every member is probed within a
// bounded number of periods, rather than picking uniformly at random.
std::optional<node_id> membership::next_probe_target() {
  for (int pass = 0; pass < 2; ++pass) {
    while (probe_index_ < probe_order_.size()) {
      const node_id id = probe_order_[probe_index_++];
      auto it = members_.find(id);
      if (id != self_.id && it != members_.end() && probeable(it->second.state)) return id;
    }
    probe_order_.clear();
    for (const auto& [id, m] : members_)
      if (id != self_.id && probeable(m.state)) probe_order_.push_back(id);
    rng_.shuffle(probe_order_);
    probe_index_ = 0;
  }
  return std::nullopt;
}

void membership::probe_tick() {
  if (leaving_) return;
  if (probe_) {
    if (!probe_->indirect_sent && now_ >= probe_->indirect_at) send_indirect_probes();
    if (now_ >= probe_->deadline) finish_probe();
  }
  if (!probe_ && now_ >= next_probe_at_) start_probe();
}

// SWIM §3.1 ping-req: k other members probe the target for us, so that a bad link between us and
// the target alone does not make us suspect it.
void membership::send_indirect_probes() {
  probe_->indirect_sent = true;
  auto target = members_.find(probe_->target);
  if (target == members_.end()) return;
  for (node_id via : random_members(cfg_.indirect_checks, probe_->target, false)) {
    send(members_.at(via).addr, {indirect_ping_msg{probe_->seq, probe_->target, target->second.addr, true}});
    ++probe_->expected_nacks;
  }
}

void membership::start_probe() {
  const tick_count interval = awareness_.scale(cfg_.ticks(cfg_.probe_interval_ms));
  next_probe_at_ = now_ + interval;
  auto target = next_probe_target();
  if (!target) return;
  const member& mem = members_.at(*target);
  probe_state p;
  p.seq = next_seq();
  p.target = *target;
  p.started_at = now_;
  p.indirect_at = now_ + awareness_.scale(cfg_.ticks(cfg_.probe_timeout_ms));
  p.deadline = now_ + interval;
  probe_ = p;
  ++stats_.probes_started;
  std::vector<message> msgs{ping_msg{p.seq, p.target}};
  // Lifeguard §4.2 "buddy system": tell a suspect directly, so it can refute before the timeout.
  if (mem.state == member_state::suspect) msgs.push_back(suspect_msg{mem.id, mem.inc, self_.id});
  send(mem.addr, std::move(msgs));
}

void membership::finish_probe() {
  const probe_state p = *probe_;
  probe_.reset();
  ++stats_.probes_failed;
  // Lifeguard §4.3: missing nacks mean our own links or CPU are the problem; with nobody to ask,
  // any failed probe counts against us.
  int delta = p.refused ? 0 : 1;  // a bounce is an answer from the target's host: our link works
  if (p.expected_nacks > 0) delta = static_cast<int>(p.expected_nacks - std::min(p.nacks, p.expected_nacks));
  awareness_.apply(delta);
  if (p.refused) ++stats_.probes_refused;
  auto it = members_.find(p.target);
  if (it == members_.end() || !probeable(it->second.state)) return;
  // An already suspected target gets our accusation as an independent confirmation, which is what
  // shrinks the suspicion timeout toward its minimum (Lifeguard §4.2).
  log(log_level::debug, "probe of node " + std::to_string(p.target.value()) + " failed; suspecting it");
  on_suspect(suspect_msg{p.target, it->second.inc, self_.id});
}

void membership::on_ping(const envelope& env, const ping_msg& m) {
  // A ping meant for a previous owner of our address is not ours to answer.
  if (m.target != self_.id) return;
  send(env.from_addr, {ack_msg{m.seq}});
}

void membership::on_indirect_ping(const envelope& env, const indirect_ping_msg& m) {
  if (relays_.size() >= max_relays) return;
  const std::uint32_t seq = next_seq();
  // The nack must reach the requester before its probe deadline (probe_interval after its ping,
  // probe_timeout after our ping-req arrived at the earliest), so we give up a little earlier than
  // a full probe_timeout.
  const tick_count wait = std::max<tick_count>(1, cfg_.ticks(cfg_.probe_timeout_ms) * 4 / 5);
  relays_.emplace(seq, relay_state{env.from_addr, m.target_addr, m.seq, m.want_nack, now_ + wait});
  send(m.target_addr, {ping_msg{seq, m.target}});
}

void membership::on_ack(const ack_msg& m) {
  if (probe_ && probe_->seq == m.seq) {
    probe_.reset();
    awareness_.apply(-1);
    return;
  }
  auto relay = relays_.find(m.seq);
  if (relay == relays_.end()) return;
  send(relay->second.requester_addr, {ack_msg{relay->second.requester_seq}});
  relays_.erase(relay);
}

void membership::on_nack(const nack_msg& m) {
  if (!probe_ || probe_->seq != m.seq) return;
  ++probe_->nacks;
  if (probe_->refused && probe_->nacks >= probe_->expected_nacks) finish_probe();
}

// A port unreachable is certain where a missing ack is not: the target's host says nothing listens
// there. It does not prove that the target is gone for everyone (a firewall REJECT rule on one
// link bounces the same way), so it does not make us suspect at once. It makes us stop waiting:
// the ping-reqs go out now rather than after probe_timeout, a relay whose ping bounced nacks at once
// rather than after its timeout, and the probe fails as soon as every path has reported failure
// instead of at its deadline. If any relay reaches the target, its ack arrives as usual and the
// probe succeeds, exactly as SWIM §3.1 decides it. Against a crashed process on a live host this
// starts the suspicion one probe interval earlier, which memberlist, ignoring ICMP, cannot do.
void membership::refused(const std::string& addr) {
  if (probe_ && !probe_->refused) {
    auto target = members_.find(probe_->target);
    if (target != members_.end() && target->second.addr == addr) {
      probe_->refused = true;
      if (!probe_->indirect_sent) send_indirect_probes();
      if (probe_->nacks >= probe_->expected_nacks) finish_probe();
    }
  }
  for (auto it = relays_.begin(); it != relays_.end();) {
    if (it->second.target_addr != addr) {
      ++it;
      continue;
    }
    if (it->second.want_nack) send(it->second.requester_addr, {nack_msg{it->second.requester_seq}});
    it = relays_.erase(it);
  }
}

void membership::relay_tick() {
  for (auto it = relays_.begin(); it != relays_.end();) {
    if (it->second.deadline > now_) {
      ++it;
      continue;
    }
    if (it->second.want_nack) send(it->second.requester_addr, {nack_msg{it->second.requester_seq}});
    it = relays_.erase(it);
  }
}

}  // namespace chronik::gossip
