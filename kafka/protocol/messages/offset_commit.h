// OffsetCommit (key 8), versions 0-8; flexible from v8. v1 adds the generation, member id and a
// per-partition commit timestamp (v1 only), v2-4 a retention time, v3 throttle time, v6 the
// committed leader epoch, v7 group.instance.id (KIP-345).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "kafka/protocol/api.h"
#include "kafka/protocol/error_code.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {

inline constexpr version_range offset_commit_versions{0, 8};

struct offset_commit_partition {
  std::int32_t partition_index = 0;
  std::int64_t committed_offset = 0;
  std::int32_t committed_leader_epoch = -1;  // v6+
  std::int64_t commit_timestamp = -1;        // v1 only
  std::optional<std::string> committed_metadata;
  bool operator==(const offset_commit_partition&) const = default;
};

struct offset_commit_topic {
  std::string name;
  std::vector<offset_commit_partition> partitions;
  bool operator==(const offset_commit_topic&) const = default;
};

struct offset_commit_request {
  std::string group_id;
  std::int32_t generation_id = -1;               // v1+; -1: not a group member (simple commit)
  std::string member_id;                         // v1+
  std::optional<std::string> group_instance_id;  // v7+
  std::int64_t retention_time_ms = -1;           // v2-4
  std::vector<offset_commit_topic> topics;
  bool operator==(const offset_commit_request&) const = default;
};

struct offset_commit_partition_response {
  std::int32_t partition_index = 0;
  error_code error = error_code::none;
  bool operator==(const offset_commit_partition_response&) const = default;
};

struct offset_commit_topic_response {
  std::string name;
  std::vector<offset_commit_partition_response> partitions;
  bool operator==(const offset_commit_topic_response&) const = default;
};

struct offset_commit_response {
  std::int32_t throttle_time_ms = 0;  // v3+
  std::vector<offset_commit_topic_response> topics;
  bool operator==(const offset_commit_response&) const = default;
};

std::expected<offset_commit_request, codec_error> decode_offset_commit_request(
    reader& r, std::int16_t version);
void encode_offset_commit_request(const offset_commit_request& m, std::int16_t version,
                                  writer& w);
std::expected<offset_commit_response, codec_error> decode_offset_commit_response(
    reader& r, std::int16_t version);
void encode_offset_commit_response(const offset_commit_response& m, std::int16_t version,
                                   writer& w);

}  // namespace chronik::kafka
