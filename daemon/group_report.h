// The pure parts of `chronik-server group ...` (daemon/group_command.h): decoding a consumer's
// assignment, joining assignments, committed offsets and log end offsets into per-partition rows
// with their lag, planning an offset reset, and printing all of it as tables or JSON. No I/O:
// group_command.cc gathers the answers over the Kafka protocol and hands them here.
//
// The rows follow Kafka's kafka-consumer-groups tool (ConsumerGroupCommand): one per partition the
// group has a committed offset for or a member is assigned, lag = log end offset - committed
// offset when both are known.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace chronik::daemon {

using topic_partition = std::pair<std::string, std::int32_t>;

// Kafka's ConsumerProtocolAssignment (clients/src/main/resources/common/message/), what the
// group leader hands each member in SyncGroup when the protocol type is "consumer": an int16
// version, then in the classic encoding at every version 0-3
//   assigned_partitions [topic string | partitions [int32]] | user_data bytes? (nullable)
// As in Kafka's ConsumerProtocol, a higher version is read as the highest known one (versions may
// only append fields) and bytes after the known fields are ignored. Empty bytes (a member that has
// not been assigned yet) are an empty assignment.
struct consumer_assignment {
  std::int16_t version = 0;
  std::vector<std::pair<std::string, std::vector<std::int32_t>>> partitions;
  std::optional<std::string> user_data;
  bool operator==(const consumer_assignment&) const = default;
};
std::expected<consumer_assignment, std::string> decode_consumer_assignment(std::string_view bytes);
// The encoding decode_consumer_assignment reads (tests).
std::string encode_consumer_assignment(const consumer_assignment& a);

struct group_listing {
  std::string group_id;
  std::string state;  // empty when the broker's ListGroups version does not carry it (< v4)
  std::string protocol_type;
  bool operator==(const group_listing&) const = default;
};

struct group_member {
  std::string member_id;
  std::optional<std::string> instance_id;  // static membership (KIP-345)
  std::string client_id;
  std::string host;
  std::vector<topic_partition> assignment;  // decoded, sorted
  std::string assignment_error;             // why the assignment did not decode, if it did not
};

struct partition_row {
  std::string topic;
  std::int32_t partition = 0;
  std::optional<std::int64_t> committed;  // nullopt: nothing committed
  std::optional<std::int64_t> log_end;    // nullopt: unknown (no leader, error)
  std::optional<std::int64_t> lag;
  std::string member_id;  // the member assigned the partition, if any
  std::string host;
  std::string client_id;
};

struct group_description {
  std::string group_id;
  std::string state;
  std::string protocol_type;
  std::string protocol;  // the assignor, when Stable
  std::vector<group_member> members;
  std::vector<partition_row> partitions;  // sorted by topic, partition
};

// Lag as Kafka's tool computes it: log end - committed, when both are known.
std::optional<std::int64_t> consumer_lag(std::optional<std::int64_t> committed, std::optional<std::int64_t> log_end);

// One row per partition that has a committed offset or an assigned member, sorted.
std::vector<partition_row> join_partitions(const std::vector<group_member>& members,
                                           const std::map<topic_partition, std::int64_t>& committed,
                                           const std::map<topic_partition, std::int64_t>& log_end);

// The topics a description needs log end offsets for: those committed or assigned.
std::vector<std::string> topics_of(const std::vector<group_member>& members,
                                   const std::map<topic_partition, std::int64_t>& committed);

// --- reset-offsets ------------------------------------------------------------------------------

enum class reset_target : unsigned char { earliest, latest, offset };

struct reset_spec {
  reset_target target = reset_target::earliest;
  std::int64_t offset = 0;  // reset_target::offset only
};

// "TOPIC" (every partition) or "TOPIC:P,Q,..." as Kafka's --topic takes it.
struct topic_selector {
  std::string topic;
  std::vector<std::int32_t> partitions;  // empty: all
  bool operator==(const topic_selector&) const = default;
};
std::expected<topic_selector, std::string> parse_topic_selector(std::string_view text);

struct partition_bounds {
  std::int64_t earliest = 0;
  std::int64_t latest = 0;
};

// The bounds of the partitions `selectors` name, from the earliest and latest offsets of every
// partition of their topics. A selected partition missing from either map is an error naming it.
std::expected<std::map<topic_partition, partition_bounds>, std::string> select_partitions(
    const std::vector<topic_selector>& selectors, const std::map<topic_partition, std::int64_t>& earliest,
    const std::map<topic_partition, std::int64_t>& latest);

struct reset_row {
  std::string topic;
  std::int32_t partition = 0;
  std::optional<std::int64_t> current;
  std::int64_t target = 0;
};

// The new offset of every partition in `bounds` (sorted). --to-offset is clamped into
// [earliest, latest], as Kafka's tool does: an offset outside the log would only make the consumer
// fall back to its auto.offset.reset.
std::vector<reset_row> plan_reset(const reset_spec& spec, const std::map<topic_partition, partition_bounds>& bounds,
                                  const std::map<topic_partition, std::int64_t>& committed);

// --- output -------------------------------------------------------------------------------------

std::string format_group_list(const std::vector<group_listing>& groups);
nlohmann::json group_list_json(const std::vector<group_listing>& groups);

std::string format_group_description(const group_description& d);
nlohmann::json group_description_json(const group_description& d);

std::string format_reset_plan(const std::string& group, const std::vector<reset_row>& rows);
nlohmann::json reset_plan_json(const std::string& group, const std::vector<reset_row>& rows, bool executed);

// Left-aligned columns two spaces apart; every row has the header's column count.
std::string render_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace chronik::daemon
