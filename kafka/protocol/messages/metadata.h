// Metadata (key 3), versions 0-9; flexible from v9. Topic ids (v10+) are not implemented.
#pragma once

#include <cstdint>
#include <expected>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "kafka/protocol/api.h"
#include "kafka/protocol/error_code.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {

inline constexpr version_range metadata_versions{0, 9};

// "No authorized operations were computed" (Kafka's default for the v8+ bitfields).
inline constexpr std::int32_t authorized_operations_unknown =
    std::numeric_limits<std::int32_t>::min();

struct metadata_request {
  // nullopt: all topics. v0 cannot send null and means "all" by an empty array, so decoding v0
  // turns an empty array into nullopt and encoding v0 writes nullopt as an empty array.
  std::optional<std::vector<std::string>> topics;
  bool allow_auto_topic_creation = true;               // v4+
  bool include_cluster_authorized_operations = false;  // v8-v10
  bool include_topic_authorized_operations = false;    // v8+
  bool operator==(const metadata_request&) const = default;
};

struct metadata_broker {
  std::int32_t node_id = 0;
  std::string host;
  std::int32_t port = 0;
  std::optional<std::string> rack;  // v1+
  bool operator==(const metadata_broker&) const = default;
};

struct metadata_partition {
  error_code error = error_code::none;
  std::int32_t partition_index = 0;
  std::int32_t leader_id = -1;
  std::int32_t leader_epoch = -1;  // v7+
  std::vector<std::int32_t> replica_nodes;
  std::vector<std::int32_t> isr_nodes;
  std::vector<std::int32_t> offline_replicas;  // v5+
  bool operator==(const metadata_partition&) const = default;
};

struct metadata_topic {
  error_code error = error_code::none;
  std::string name;
  bool is_internal = false;  // v1+
  std::vector<metadata_partition> partitions;
  std::int32_t topic_authorized_operations = authorized_operations_unknown;  // v8+
  bool operator==(const metadata_topic&) const = default;
};

struct metadata_response {
  std::int32_t throttle_time_ms = 0;  // v3+
  std::vector<metadata_broker> brokers;
  std::optional<std::string> cluster_id;  // v2+
  std::int32_t controller_id = -1;        // v1+
  std::vector<metadata_topic> topics;
  std::int32_t cluster_authorized_operations = authorized_operations_unknown;  // v8+
  bool operator==(const metadata_response&) const = default;
};

std::expected<metadata_request, codec_error> decode_metadata_request(reader& r,
                                                                     std::int16_t version);
void encode_metadata_request(const metadata_request& m, std::int16_t version, writer& w);
std::expected<metadata_response, codec_error> decode_metadata_response(reader& r,
                                                                       std::int16_t version);
void encode_metadata_response(const metadata_response& m, std::int16_t version, writer& w);

}  // namespace chronik::kafka
