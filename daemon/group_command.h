// `chronik-server group list|describe|delete|reset-offsets`: consumer group administration over
// the Kafka protocol (daemon/kafka_client.h), in the manner of Kafka's kafka-consumer-groups tool
// (docs/operations.md "Consumer groups").
//
// - list: ListGroups on every broker Metadata names (each answers for the groups it coordinates).
// - describe: DescribeGroups and OffsetFetch at the group's coordinator, ListOffsets (latest) at
//   each partition's leader; members with their decoded assignment, and per partition the committed
//   offset, the log end offset and the lag.
// - delete: DeleteGroups (KIP-229) at the coordinator; only a group without members.
// - reset-offsets: plans new committed offsets for the selected partitions and, with --execute,
//   commits them as a group without members would (OffsetCommit generation -1, empty member id,
//   which the coordinator accepts only while the group is empty). Without --execute it only prints
//   the plan, as Kafka's tool does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chronik::daemon {

struct group_command_options {
  std::string bootstrap = "127.0.0.1:9092";  // any broker's Kafka address
  bool json = false;
  std::string group;                 // describe, delete, reset-offsets
  std::vector<std::string> topics;   // reset-offsets: TOPIC or TOPIC:P,Q,...
  bool to_earliest = false;
  bool to_latest = false;
  std::optional<std::int64_t> to_offset;
  bool execute = false;
};

// Each returns the process exit code: 0 done, 1 the cluster refused or could not be reached (one
// line on stderr), 2 a bad option.
int run_group_list(const group_command_options& opts);
int run_group_describe(const group_command_options& opts);
int run_group_delete(const group_command_options& opts);
int run_group_reset_offsets(const group_command_options& opts);

}  // namespace chronik::daemon
