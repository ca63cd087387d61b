// In-sync replicas as Kafka defines them (replica.lag.time.max.ms, KIP-16 and Kafka's
// ReplicaManager): a follower is in sync while, within the last `lag_max_ms`, it held everything the
// leader's log held at some moment. A follower that is merely alive but behind, or empty after its
// data directory was wiped, drops out once it has not caught up for that long.
//
// A follower whose broker `__meta` shows down (dead, or left by a graceful stop) is fenced, as Kafka
// removes a fenced or shut-down broker from every ISR at once: it is out of sync while down, and
// once back it must hold the leader's log as of a moment after it was last seen down. Without this
// a restarted replica counted in sync for the whole window on the strength of what it held before
// it stopped, so an operator waiting for a whole ISR stopped the next node while it was still
// catching up, and acks=all writes waited for it (docs/performance.md "Rolling restart with drain").
//
// Pure: the partition leader feeds it what its Raft core knows (its last index and each follower's
// match index, Raft paper §5.3) with the time, and asks for the in-sync set. Bounded: one sample per
// observation, and samples older than the window are dropped.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "base/node_id.h"
#include "consensus/core/types.h"

namespace chronik::kafka {

class isr_tracker {
 public:
  explicit isr_tracker(std::int64_t lag_max_ms) : lag_max_ms_(lag_max_ms) {}

  // This node became leader at now_ms: it has not heard from its followers yet, so each counts as
  // caught up at that moment and is judged from there (a newly elected Kafka leader likewise starts
  // from the ISR it was given).
  void start(std::int64_t now_ms, const std::vector<node_id>& replicas);
  // The leader's log ends at `leader_last`; match[r] is how far follower r's log is known to agree.
  void observe(std::int64_t now_ms, consensus::log_index leader_last, const std::map<node_id, consensus::log_index>& match);
  // The leader's log and every match index are as at the last observe(): the same observation
  // again at now_ms, without the caller copying its match map (a quiesced leader, whose Raft core
  // changes neither while quiet, docs/raft.md "Quiescence").
  void observe_again(std::int64_t now_ms);
  // `__meta` shows replica r's broker down at now_ms (call at every observation while it does).
  void fence(std::int64_t now_ms, node_id r);
  // The replicas in sync at now_ms, in `replicas` order; `self` (the leader) always is.
  std::vector<node_id> in_sync(std::int64_t now_ms, const std::vector<node_id>& replicas, node_id self) const;

 private:
  struct sample {
    std::int64_t at_ms;
    consensus::log_index last;
  };
  std::int64_t lag_max_ms_;
  void credit(const std::map<node_id, consensus::log_index>& match);

  std::deque<sample> samples_;  // ascending in time and index
  std::map<node_id, consensus::log_index> last_match_;  // the last observation's, for observe_again
  std::map<node_id, std::int64_t> caught_up_ms_;
  std::map<node_id, std::int64_t> fenced_ms_;  // when each fenced replica was last seen down
};

}  // namespace chronik::kafka
