// partition_replica's side of in-sync replicas and move reconciliation, run by the partition
// manager's passes over the replicas this node leads (docs/kafka.md "In-sync replicas" and
// "Partitions"): what the leader observes of its followers (isr_tracker), what a leadership report
// carries, and whether its voters still need reconciling with the partition's replicas.
#include <algorithm>

#include "kafka/partition/partition_replica.h"

namespace chronik::kafka {

namespace {
std::int64_t steady_ms(partition_replica::clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
}  // namespace

std::optional<consensus::raft_status> partition_replica::status_if_leading() const {
  // Most replicas follow: the brief answer settles that without copying the configuration.
  const auto b = host_.brief(ref_.group);
  if (!b || b->state != consensus::role::leader) return std::nullopt;
  auto st = host_.status(ref_.group);
  if (!st || st->state != consensus::role::leader) return std::nullopt;
  return std::move(*st);
}

void partition_replica::track_isr(clock::time_point now, const std::set<node_id>& down, bool asleep) {
  // Run twice a second for the replicas this node leads (partition_manager::led). A leader found
  // quiesced last time and asleep since is still that leader, quiesced at the same index with the
  // same voters: the last observation is repeated without a look at the core (idle cost at 10,000
  // partitions, docs/performance.md "Scale").
  if (asleep && isr_quiet_at_ && isr_term_ != term_id{}) {
    for (node_id r : isr_voters_)
      if (down.contains(r)) isr_.fence(steady_ms(now), r);
    isr_.observe_again(steady_ms(now));
    return;
  }
  // Otherwise the brief answer and the configuration by reference settle the rest before the
  // status copies the match map.
  const auto b = host_.brief(ref_.group);
  const consensus::conf_state* conf = host_.conf(ref_.group);
  if (!b || b->state != consensus::role::leader || conf == nullptr) {
    isr_term_ = {};
    isr_quiet_at_.reset();
    return;
  }
  if (b->term != isr_term_) {
    isr_term_ = b->term;
    isr_quiet_at_.reset();
    isr_.start(steady_ms(now), conf->voters);
  }
  for (node_id r : conf->voters)
    if (r != b->id && down.contains(r)) isr_.fence(steady_ms(now), r);
  // Always the leader's own match indexes, as last copied. A leader quiesces only when every
  // match equals its last index, and nothing changes either while it stays quiet (docs/raft.md
  // "Quiescence"): quiet at the last observation and now, at the same last index, its match map
  // is the one observed then, and the copy is skipped (idle cost at 10,000 partitions,
  // docs/performance.md "Scale"). Crediting every follower of a quiesced leader without any
  // observed map (tried in 20af6a7) made node_drain's restarted follower drop out of the ISR
  // again after it had been reported back in.
  if (b->quiesced && isr_quiet_at_ == b->last_index) {
    isr_.observe_again(steady_ms(now));
    return;
  }
  const auto st = host_.status(ref_.group);
  if (!st) return;
  isr_.observe(steady_ms(now), st->last_index, st->match);
  if (b->quiesced && st->last_index == b->last_index) {
    isr_quiet_at_ = b->last_index;
    isr_voters_.clear();
    for (node_id r : conf->voters)
      if (r != b->id) isr_voters_.push_back(r);
  } else {
    isr_quiet_at_.reset();
  }
}

std::vector<node_id> partition_replica::in_sync_replicas(clock::time_point now) const {
  const auto b = host_.brief(ref_.group);
  const consensus::conf_state* conf = host_.conf(ref_.group);
  if (!b || b->state != consensus::role::leader || b->term != isr_term_ || conf == nullptr) return {};
  return isr_.in_sync(steady_ms(now), conf->voters, b->id);
}

std::optional<partition_replica::leadership> partition_replica::ready_leadership(clock::time_point now) const {
  const auto b = host_.brief(ref_.group);
  if (!b || b->leader != b->id || !leader_ready(*b)) return std::nullopt;
  leadership out{b->term, {}};
  const consensus::conf_state* conf = host_.conf(ref_.group);
  if (conf != nullptr && b->term == isr_term_) out.isr = isr_.in_sync(steady_ms(now), conf->voters, b->id);
  return out;
}

bool partition_replica::needs_reconciling(bool asleep) {
  // Asleep since the last look, which found the configuration matching, with the same replicas
  // (set_ref forgets it): the configuration is still the one looked at, so it still matches.
  if (asleep && reconciled_) return false;
  reconciled_ = false;
  // plan_move_step with the group's own replicas as target finds nothing to do when the
  // configuration is exactly those voters and no learner: the usual case, told without a status.
  const auto b = host_.brief(ref_.group);
  const consensus::conf_state* conf = host_.conf(ref_.group);
  if (!b || b->state != consensus::role::leader || conf == nullptr) return false;
  if (!conf->learners.empty() || conf->voters.size() != ref_.replicas.size()) return true;
  reconciled_ = std::ranges::all_of(conf->voters, [&](node_id v) { return std::ranges::find(ref_.replicas, v) != ref_.replicas.end(); });
  return !reconciled_;
}

}  // namespace chronik::kafka
