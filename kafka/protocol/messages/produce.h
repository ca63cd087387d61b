// Produce (key 0), versions 3-9; flexible from v9. v3 is the first version carrying magic-v2
// record batches; records stay an opaque (nullable) blob here, see record_batch.h.
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

inline constexpr version_range produce_versions{3, 9};

struct produce_partition {
  std::int32_t index = 0;
  std::optional<std::string> records;
  bool operator==(const produce_partition&) const = default;
};

struct produce_topic {
  std::string name;
  std::vector<produce_partition> partitions;
  bool operator==(const produce_topic&) const = default;
};

struct produce_request {
  std::optional<std::string> transactional_id;
  std::int16_t acks = -1;  // 0 none, 1 leader, -1 all in-sync replicas
  std::int32_t timeout_ms = 0;
  std::vector<produce_topic> topics;
  bool operator==(const produce_request&) const = default;
};

struct produce_record_error {
  std::int32_t batch_index = 0;
  std::optional<std::string> batch_index_error_message;
  bool operator==(const produce_record_error&) const = default;
};

struct produce_partition_response {
  std::int32_t index = 0;
  error_code error = error_code::none;
  std::int64_t base_offset = -1;
  std::int64_t log_append_time_ms = -1;  // v2+
  std::int64_t log_start_offset = -1;    // v5+
  std::vector<produce_record_error> record_errors;  // v8+
  std::optional<std::string> error_message;         // v8+
  bool operator==(const produce_partition_response&) const = default;
};

struct produce_topic_response {
  std::string name;
  std::vector<produce_partition_response> partitions;
  bool operator==(const produce_topic_response&) const = default;
};

struct produce_response {
  std::vector<produce_topic_response> topics;
  std::int32_t throttle_time_ms = 0;  // v1+
  bool operator==(const produce_response&) const = default;
};

std::expected<produce_request, codec_error> decode_produce_request(reader& r,
                                                                   std::int16_t version);
void encode_produce_request(const produce_request& m, std::int16_t version, writer& w);
std::expected<produce_response, codec_error> decode_produce_response(reader& r,
                                                                     std::int16_t version);
void encode_produce_response(const produce_response& m, std::int16_t version, writer& w);

}  // namespace chronik::kafka
