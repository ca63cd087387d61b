// What the multi-Raft host counts for the node's /metrics (docs/operations.md "Metrics and
// readiness"): commit latency and elections, over every group it hosts. Its shell (raft_host)
// feeds it on the Asio thread and reads the clock itself; this class only does the bookkeeping, so
// it needs no lock and a unit test drives it with made-up times.
//
// Commit latency: from a proposal made on this node (it led the group then) to the apply of its
// index here, the point where acks=all is answered (docs/design.md "acks"). An index whose entry
// was overwritten by another leader (Raft paper §5.3) is timed until the replacing entry applies.
//
// Elections: a candidate persists its new term with a vote for itself before it asks for votes
// (Raft paper §5.2, Figure 2), so each hard state written with a higher term and this node's vote
// is one election this node started; any higher term is a term change seen here.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <utility>

#include "base/latency_histogram.h"
#include "consensus/core/types.h"
#include "consensus/storage/wal.h"

namespace chronik::consensus {

class group_metrics {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  // Proposals timed per group at once; beyond it a new one is not timed (memory stays bounded
  // while a group cannot commit).
  static constexpr std::size_t max_timed_per_group = 4096;

  explicit group_metrics(node_id self) : self_(self) {}

  void proposed(group_id g, log_index index, time_point now);
  // The group applied everything up to `last`.
  void applied(group_id g, log_index last, time_point now);
  // A write about to go to the disk.
  void persisting(const group_write& w);
  void forget(group_id g) { groups_.erase(g.value); }

  const latency_snapshot& commit_latency() const { return commit_latency_.snapshot(); }
  std::uint64_t elections_started() const { return elections_started_; }
  std::uint64_t term_changes() const { return term_changes_; }

 private:
  struct per_group {
    std::deque<std::pair<log_index, time_point>> timed;  // ascending index
    term_id term;                                        // the last one written; 0 before any
  };

  node_id self_;
  std::unordered_map<std::uint64_t, per_group> groups_;
  latency_histogram commit_latency_;
  std::uint64_t elections_started_ = 0;
  std::uint64_t term_changes_ = 0;
};

}  // namespace chronik::consensus
