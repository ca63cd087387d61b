// Replica moves (Kafka's partition reassignment, KIP-455) as `__meta` records them: the rules of
// MetaAlterReassignment and MetaCompleteReassignment over one partition record (docs/kafka.md
// "Moving replicas"). Pure and deterministic, like every `__meta` rule (meta_state.h).
//
// The record only holds the target. The partition's Raft leader moves the group there itself, one
// single-server membership change at a time, learners first (Raft dissertation §4.1 and §4.2.1),
// and reports the end; the replicas leaving delete their copy only then, when the group no longer
// counts them. While a move runs, `replicas` lists the target first and the leaving replicas after
// it, so every node that may hold a voter's copy keeps running its replica (Kafka does the same). A
// node may be moved back to a partition it left: its Raft host revives the group it deleted
// (raft_host::revive_group) and the replica rejoins like a new one.
#pragma once

#include <expected>
#include <vector>

#include "metadata/meta_state.h"

namespace chronik::metadata {

// Makes `target` the partition's new replica set: starts a move, replaces the target of the move in
// progress, or only reorders the replicas when `target` holds exactly the current ones. Every
// broker the partition does not already have must be registered, alive and not being
// decommissioned (broker_record::takes_replicas); else
// invalid_replica_assignment. Returns whether the record changed; on error it is untouched.
// `index` is the record's, the new move's id.
std::expected<bool, meta_errc> begin_move(const meta_data& d, partition_record& p, const std::vector<node_id>& target,
                                          log_index index);

// KIP-455's cancel: the move in progress turns back to the replicas it began with (its origin),
// still a move until the leader reports its group back there: the replicas it was adding become the
// ones leaving, and the ones it already removed come back. no_reassignment when no move is in
// progress.
std::expected<bool, meta_errc> cancel_move(const meta_data& d, partition_record& p, log_index index);

// The leader's report that the group's voters are exactly `target` and it has no other member.
// Ends the move when it is the one in progress for this incarnation: the replicas become `target`,
// and the leaving ones delete their copy. A stale report (another incarnation, move or target, no
// move) changes nothing and returns false.
bool finish_move(const meta_data& d, partition_record& p, incarnation inc, log_index move_id,
                 const std::vector<node_id>& target);

}  // namespace chronik::metadata
