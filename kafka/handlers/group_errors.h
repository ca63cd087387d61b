// What the group handlers (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
// OffsetCommit, OffsetFetch) share: the Kafka error code for each group_errc of the coordinator
// core (error codes are chosen only in kafka/handlers), and the check that this node coordinates
// the group.
#pragma once

#include <algorithm>
#include <cstdint>
#include <expected>
#include <optional>
#include <string_view>

#include "kafka/groups/group_coordinator.h"
#include "kafka/handlers/broker_context.h"
#include "kafka/protocol/error_code.h"

namespace chronik::kafka {

// Whether `topic` (as ctx.topic() found it, or nullopt) has `partition`: the offset handlers
// (OffsetCommit, TxnOffsetCommit, OffsetDelete) answer UNKNOWN_TOPIC_OR_PARTITION for one it lacks.
inline bool partition_exists(const std::optional<topic_info>& topic, std::int32_t partition) {
  return topic && std::ranges::any_of(topic->partitions,
                                      [&](const partition_info& p) { return p.partition == partition; });
}

constexpr error_code to_error_code(group_errc e) {
  switch (e) {
    case group_errc::none: return error_code::none;
    case group_errc::invalid_group_id: return error_code::invalid_group_id;
    case group_errc::invalid_session_timeout: return error_code::invalid_session_timeout;
    case group_errc::inconsistent_protocol: return error_code::inconsistent_group_protocol;
    case group_errc::unknown_member: return error_code::unknown_member_id;
    case group_errc::illegal_generation: return error_code::illegal_generation;
    case group_errc::rebalance_in_progress: return error_code::rebalance_in_progress;
    case group_errc::member_id_required: return error_code::member_id_required;
    case group_errc::group_full: return error_code::group_max_size_reached;
    case group_errc::coordinator_not_available: return error_code::coordinator_not_available;
    case group_errc::not_coordinator: return error_code::not_coordinator;
    case group_errc::metadata_too_large: return error_code::offset_metadata_too_large;
    // Kafka has no bound on committed offsets, hence no code for it; clients log this one.
    case group_errc::too_many_offsets: return error_code::unknown_server_error;
    case group_errc::load_in_progress: return error_code::coordinator_load_in_progress;
    case group_errc::non_empty_group: return error_code::non_empty_group;
    case group_errc::group_id_not_found: return error_code::group_id_not_found;
    case group_errc::group_subscribed_to_topic: return error_code::group_subscribed_to_topic;
    case group_errc::fenced_instance_id: return error_code::fenced_instance_id;
    case group_errc::invalid_producer_epoch: return error_code::invalid_producer_epoch;
  }
  return error_code::unknown_server_error;
}

// The coordinator of `group` when it is this node, else what to answer: NOT_COORDINATOR when this
// node does not lead the group's `__consumer_offsets` partition (clients then ask FindCoordinator
// again), COORDINATOR_LOAD_IN_PROGRESS while it is loading it (clients retry here), and
// COORDINATOR_NOT_AVAILABLE when this node runs no coordinator. The coordinator core decides, from
// the partitions it was told it leads, rather than `__meta`'s record of leaders, which lags.
inline std::expected<group_coordinator*, error_code> coordinator_here(broker_context& ctx,
                                                                      std::string_view group) {
  group_coordinator* groups = ctx.groups();
  if (groups == nullptr) return std::unexpected(error_code::coordinator_not_available);
  if (const group_errc e = groups->serves(group); e != group_errc::none) return std::unexpected(to_error_code(e));
  return groups;
}

}  // namespace chronik::kafka
