// OffsetFetch (key 9), versions 0-7; flexible from v6. v2 allows a null topic list ("every
// committed offset of the group") and adds a top-level error, v3 throttle time, v5 the committed
// leader epoch, v7 require_stable (KIP-447). v8's multi-group batch is not implemented.
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

inline constexpr version_range offset_fetch_versions{0, 7};

struct offset_fetch_topic {
  std::string name;
  std::vector<std::int32_t> partition_indexes;
  bool operator==(const offset_fetch_topic&) const = default;
};

struct offset_fetch_request {
  std::string group_id;
  // nullopt: every topic (v2+). v0-1 cannot say null: it is written as an empty list there.
  std::optional<std::vector<offset_fetch_topic>> topics;
  bool require_stable = false;  // v7+
  bool operator==(const offset_fetch_request&) const = default;
};

struct offset_fetch_partition_response {
  std::int32_t partition_index = 0;
  std::int64_t committed_offset = -1;        // -1: nothing committed
  std::int32_t committed_leader_epoch = -1;  // v5+
  std::optional<std::string> metadata;
  error_code error = error_code::none;
  bool operator==(const offset_fetch_partition_response&) const = default;
};

struct offset_fetch_topic_response {
  std::string name;
  std::vector<offset_fetch_partition_response> partitions;
  bool operator==(const offset_fetch_topic_response&) const = default;
};

struct offset_fetch_response {
  std::int32_t throttle_time_ms = 0;  // v3+
  std::vector<offset_fetch_topic_response> topics;
  error_code error = error_code::none;  // v2+
  bool operator==(const offset_fetch_response&) const = default;
};

std::expected<offset_fetch_request, codec_error> decode_offset_fetch_request(
    reader& r, std::int16_t version);
void encode_offset_fetch_request(const offset_fetch_request& m, std::int16_t version,
                                 writer& w);
std::expected<offset_fetch_response, codec_error> decode_offset_fetch_response(
    reader& r, std::int16_t version);
void encode_offset_fetch_response(const offset_fetch_response& m, std::int16_t version,
                                  writer& w);

}  // namespace chronik::kafka
