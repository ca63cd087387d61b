// ListOffsets (key 2), versions 0-7; flexible from v6. v0 has the old multi-offset form, v1 the
// single timestamp/offset pair, v2 the isolation level, v4 leader epochs; v5 and v7 change only
// semantics (OFFSET_NOT_AVAILABLE; timestamp -3 for the max timestamp).
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "kafka/protocol/api.h"
#include "kafka/protocol/error_code.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {

inline constexpr version_range list_offsets_versions{0, 7};

// Special request timestamps.
inline constexpr std::int64_t list_offsets_latest = -1;
inline constexpr std::int64_t list_offsets_earliest = -2;
inline constexpr std::int64_t list_offsets_max_timestamp = -3;  // v7+

struct list_offsets_partition {
  std::int32_t partition_index = 0;
  std::int32_t current_leader_epoch = -1;  // v4+
  std::int64_t timestamp = list_offsets_latest;
  std::int32_t max_num_offsets = 1;  // v0 only
  bool operator==(const list_offsets_partition&) const = default;
};

struct list_offsets_topic {
  std::string name;
  std::vector<list_offsets_partition> partitions;
  bool operator==(const list_offsets_topic&) const = default;
};

struct list_offsets_request {
  std::int32_t replica_id = -1;
  std::int8_t isolation_level = 0;  // v2+
  std::vector<list_offsets_topic> topics;
  bool operator==(const list_offsets_request&) const = default;
};

struct list_offsets_partition_response {
  std::int32_t partition_index = 0;
  error_code error = error_code::none;
  std::vector<std::int64_t> old_style_offsets;  // v0 only
  std::int64_t timestamp = -1;                  // v1+
  std::int64_t offset = -1;                     // v1+
  std::int32_t leader_epoch = -1;               // v4+
  bool operator==(const list_offsets_partition_response&) const = default;
};

struct list_offsets_topic_response {
  std::string name;
  std::vector<list_offsets_partition_response> partitions;
  bool operator==(const list_offsets_topic_response&) const = default;
};

struct list_offsets_response {
  std::int32_t throttle_time_ms = 0;  // v2+
  std::vector<list_offsets_topic_response> topics;
  bool operator==(const list_offsets_response&) const = default;
};

std::expected<list_offsets_request, codec_error> decode_list_offsets_request(reader& r,
                                                                             std::int16_t version);
void encode_list_offsets_request(const list_offsets_request& m, std::int16_t version, writer& w);
std::expected<list_offsets_response, codec_error> decode_list_offsets_response(
    reader& r, std::int16_t version);
void encode_list_offsets_response(const list_offsets_response& m, std::int16_t version,
                                  writer& w);

}  // namespace chronik::kafka
