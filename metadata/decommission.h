// Decommission's decisions (docs/operations.md "Decommissioning a node"), pure: no clock, no I/O.
//
// An operator takes a node out of the cluster for good with `chronik-server node decommission N`,
// which commits MetaSetBrokerDecommission(moving). From then on the `__meta` leader's controller
// (meta_controller.h) runs these rules every time it runs:
//  - every partition that lists the node gets a replica move (the same record as Kafka's
//    AlterPartitionReassignments, replica_moves.h) to its replicas without the node plus one broker
//    that takes replicas; the partition's own leader carries the move out one single-server
//    membership change at a time, the new replica first as a learner (Raft dissertation §4.1,
//    §4.2.1), so the group keeps its quorum and takes writes throughout;
//  - at most `max_moves` partitions move at once, so catching up new replicas does not starve the
//    writes the cluster serves meanwhile;
//  - the node leads nothing while this runs (broker_record::leads_nothing): its leaderships leave by
//    Raft leadership transfer before its replicas do, so no move removes a partition's leader;
//  - once no partition lists the node, the controller records it done, and then takes it out of
//    the `__meta` configuration (meta_controller.h step 5); the node applies its own done record
//    while still a member, and from then on reports itself decommissioned (not ready).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "metadata/meta_state.h"

namespace chronik::metadata {

// Whether broker `id` (registered) may go from its decommission state to `to`:
//  - moving (start) from none, refused with too_few_brokers when the brokers left that take replicas
//    could not hold the widest partition (the moves would have nowhere to go, and the decommission
//    would never end), or no broker would be left at all;
//  - none (cancel) and done only from moving (wrong_decommission_state); done only once no partition
//    lists the broker as a replica or in a move (decommission_incomplete).
// The state machine applies this rule; the admin API checks it first to refuse with a reason.
std::expected<void, meta_errc> check_decommission(const meta_data& d, node_id id, decommission_state to);

struct decommission_move {
  topic_id topic;
  std::string topic_name;  // for the log
  std::int32_t partition = 0;
  node_id leaving;                // the decommissioned broker this move takes the replica off
  node_id taking;                 // the broker that takes it
  std::vector<node_id> target;  // the new replica set, preferred leader first
};

// The moves to start now. A partition that lists a broker being decommissioned and has no move in
// progress goes to its replicas without that broker (in their order, so the next replica becomes
// the preferred leader) plus the broker that takes it: one that takes replicas
// (broker_record::takes_replicas) and is not already a replica, preferring the leaving broker's
// rack when it names one, then the broker listed by the fewest partitions, then the lower id.
// Partitions already moving count against `max_moves`; a partition no broker can take is skipped
// (progress reports it as stuck).
std::vector<decommission_move> plan_decommission_moves(const meta_data& d, std::size_t max_moves);

// Brokers being decommissioned (moving) whose data has left: no partition lists them as a replica
// or in a move's target or origin. The controller records them done.
std::vector<node_id> emptied_decommissions(const meta_data& d);

// How far the decommission of one node has come, as `node decommission` reports it.
struct decommission_progress {
  decommission_state state = decommission_state::none;
  std::size_t partitions_left = 0;  // partitions that still list the node
  std::size_t moving = 0;           // of those, with a move in progress
  std::size_t stuck = 0;            // of those, with no move and no broker that could take the replica
  std::size_t leaderships = 0;      // partitions whose recorded leader it still is
};

decommission_progress progress_of(const meta_data& d, node_id node);

}  // namespace chronik::metadata
