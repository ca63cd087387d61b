// CreateTopics (key 19), versions 0-7; flexible from v5. v5 adds the created topic's settings and
// configs to the response, v6 only new error semantics, v7 the topic id.
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

inline constexpr version_range create_topics_versions{0, 7};

struct creatable_replica_assignment {
  std::int32_t partition_index = 0;
  std::vector<std::int32_t> broker_ids;
  bool operator==(const creatable_replica_assignment&) const = default;
};

struct creatable_topic_config {
  std::string name;
  std::optional<std::string> value;
  bool operator==(const creatable_topic_config&) const = default;
};

struct creatable_topic {
  std::string name;
  std::int32_t num_partitions = -1;      // -1: from assignments or the broker default
  std::int16_t replication_factor = -1;  // -1: from assignments or the broker default
  std::vector<creatable_replica_assignment> assignments;
  std::vector<creatable_topic_config> configs;
  bool operator==(const creatable_topic&) const = default;
};

struct create_topics_request {
  std::vector<creatable_topic> topics;
  std::int32_t timeout_ms = 60000;
  bool validate_only = false;  // v1+
  bool operator==(const create_topics_request&) const = default;
};

struct created_topic_config {
  std::string name;
  std::optional<std::string> value;
  bool read_only = false;
  std::int8_t config_source = -1;
  bool is_sensitive = false;
  bool operator==(const created_topic_config&) const = default;
};

struct created_topic_result {
  std::string name;
  uuid topic_id{};  // v7+
  error_code error = error_code::none;
  std::optional<std::string> error_message;  // v1+
  error_code topic_config_error = error_code::none;  // v5+, tag 0, written when not none
  std::int32_t num_partitions = -1;                   // v5+
  std::int16_t replication_factor = -1;               // v5+
  std::optional<std::vector<created_topic_config>> configs;  // v5+
  bool operator==(const created_topic_result&) const = default;
};

struct create_topics_response {
  std::int32_t throttle_time_ms = 0;  // v2+
  std::vector<created_topic_result> topics;
  bool operator==(const create_topics_response&) const = default;
};

std::expected<create_topics_request, codec_error> decode_create_topics_request(
    reader& r, std::int16_t version);
void encode_create_topics_request(const create_topics_request& m, std::int16_t version, writer& w);
std::expected<create_topics_response, codec_error> decode_create_topics_response(
    reader& r, std::int16_t version);
void encode_create_topics_response(const create_topics_response& m, std::int16_t version,
                                   writer& w);

}  // namespace chronik::kafka
