// Fetch (key 1), versions 4-12; flexible from v12. v7 adds fetch sessions (KIP-227), v9 the
// current leader epoch, v11 the rack id, v12 the last fetched epoch and tagged fields (cluster id
// in the request; diverging epoch, current leader and snapshot id in the response). Topic ids (v13+)
// are not implemented. Records stay an opaque (nullable) blob, encoded without a copy.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "kafka/protocol/api.h"
#include "kafka/protocol/byte_chain.h"
#include "kafka/protocol/error_code.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {

inline constexpr version_range fetch_versions{4, 12};

struct fetch_partition {
  std::int32_t partition = 0;
  std::int32_t current_leader_epoch = -1;  // v9+
  std::int64_t fetch_offset = 0;
  std::int32_t last_fetched_epoch = -1;  // v12+
  std::int64_t log_start_offset = -1;    // v5+ (followers only)
  std::int32_t partition_max_bytes = 0;
  bool operator==(const fetch_partition&) const = default;
};

struct fetch_topic {
  std::string topic;
  std::vector<fetch_partition> partitions;
  bool operator==(const fetch_topic&) const = default;
};

struct forgotten_topic {
  std::string topic;
  std::vector<std::int32_t> partitions;
  bool operator==(const forgotten_topic&) const = default;
};

struct fetch_request {
  std::optional<std::string> cluster_id;  // v12+, tag 0, written when set
  std::int32_t replica_id = -1;           // -1 for consumers
  std::int32_t max_wait_ms = 0;
  std::int32_t min_bytes = 0;
  std::int32_t max_bytes = 0x7fffffff;
  std::int8_t isolation_level = 0;  // 0 read uncommitted, 1 read committed
  std::int32_t session_id = 0;      // v7+
  std::int32_t session_epoch = -1;  // v7+
  std::vector<fetch_topic> topics;
  std::vector<forgotten_topic> forgotten_topics;  // v7+
  std::string rack_id;                            // v11+
  bool operator==(const fetch_request&) const = default;
};

struct epoch_end_offset {
  std::int32_t epoch = -1;
  std::int64_t end_offset = -1;
  bool operator==(const epoch_end_offset&) const = default;
};

struct leader_id_and_epoch {
  std::int32_t leader_id = -1;
  std::int32_t leader_epoch = -1;
  bool operator==(const leader_id_and_epoch&) const = default;
};

struct snapshot_id {
  std::int64_t end_offset = -1;
  std::int32_t epoch = -1;
  bool operator==(const snapshot_id&) const = default;
};

struct aborted_transaction {
  std::int64_t producer_id = 0;
  std::int64_t first_offset = 0;
  bool operator==(const aborted_transaction&) const = default;
};

struct fetch_partition_response {
  std::int32_t partition_index = 0;
  error_code error = error_code::none;
  std::int64_t high_watermark = -1;
  std::int64_t last_stable_offset = -1;  // v4+
  std::int64_t log_start_offset = -1;    // v5+
  // v12+ tagged fields, written when set.
  std::optional<epoch_end_offset> diverging_epoch;    // tag 0
  std::optional<leader_id_and_epoch> current_leader;  // tag 1
  std::optional<snapshot_id> snapshot;                // tag 2
  std::optional<std::vector<aborted_transaction>> aborted_transactions;  // v4+
  std::int32_t preferred_read_replica = -1;                              // v11+
  // Whole record batches; the broker links them from shared memory (byte_chain.h), a decoded
  // response holds them in one piece.
  std::optional<byte_chain> records;
  bool operator==(const fetch_partition_response&) const = default;
};

struct fetch_topic_response {
  std::string topic;
  std::vector<fetch_partition_response> partitions;
  bool operator==(const fetch_topic_response&) const = default;
};

struct fetch_response {
  std::int32_t throttle_time_ms = 0;
  error_code error = error_code::none;  // v7+
  std::int32_t session_id = 0;          // v7+
  std::vector<fetch_topic_response> topics;
  bool operator==(const fetch_response&) const = default;
};

std::expected<fetch_request, codec_error> decode_fetch_request(reader& r, std::int16_t version);
void encode_fetch_request(const fetch_request& m, std::int16_t version, writer& w);
std::expected<fetch_response, codec_error> decode_fetch_response(reader& r, std::int16_t version);
void encode_fetch_response(const fetch_response& m, std::int16_t version, writer& w);

}  // namespace chronik::kafka
