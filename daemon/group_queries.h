// The Kafka requests behind `chronik-server group ...` (daemon/group_command.h), each one step
// with one-line errors: ListGroups on every broker, DescribeGroups and OffsetFetch at the
// coordinator, ListOffsets at partition leaders, OffsetCommit and DeleteGroups at the coordinator.
// The coordinator steps retry coordinator errors through kafka_client::at_coordinator.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/group_report.h"
#include "daemon/kafka_client.h"

namespace chronik::daemon {

// Every group of the cluster, sorted by id (a group is listed once even if two brokers answer for
// it while it moves).
std::expected<std::vector<group_listing>, std::string> list_groups(kafka_client& client);

// State, protocol and members (assignments decoded when the protocol type is "consumer").
struct group_state_view {
  std::string state;
  std::string protocol_type;
  std::string protocol;
  std::vector<group_member> members;
};
std::expected<group_state_view, std::string> describe_group(kafka_client& client, const std::string& group);

// The group's committed offsets: of `topics`, or of every topic when nullopt.
std::expected<std::map<topic_partition, std::int64_t>, std::string> fetch_committed(
    kafka_client& client, const std::string& group, const std::optional<std::vector<std::string>>& topics);

// Kafka's ListOffsets timestamps.
inline constexpr std::int64_t latest_timestamp = -1;
inline constexpr std::int64_t earliest_timestamp = -2;

// The offset at `timestamp` of every partition of `topics`, each asked of its leader. Partitions
// that could not be answered (no leader, an error) are listed in `failures` and missing from
// `offsets`; an unknown topic is a failure too.
struct offsets_answer {
  std::map<topic_partition, std::int64_t> offsets;
  std::vector<std::string> failures;
};
std::expected<offsets_answer, std::string> list_partition_offsets(kafka_client& client,
                                                                  const std::vector<std::string>& topics,
                                                                  std::int64_t timestamp);

// Commits `offsets` for `group` as a group without members (generation -1, empty member id).
// A refusal because the group has members is returned as a line saying so.
std::expected<void, std::string> commit_as_empty_group(kafka_client& client, const std::string& group,
                                                       const std::map<topic_partition, std::int64_t>& offsets);

// DeleteGroups for one group; a group with members or an unknown group are clear errors.
std::expected<void, std::string> delete_group(kafka_client& client, const std::string& group);

}  // namespace chronik::daemon
