// Kafka API keys, which versions of them are flexible (KIP-482), and the request/response header
// version each (api, version) pair uses.
//
// Header rules (https://kafka.apache.org/protocol#protocol_messages and docs/design.md "Codec"):
// - Request header v1: api_key, api_version, correlation_id, client_id (nullable int16 string).
//   v2 (flexible request versions) appends a tagged-field section; client_id stays a classic
//   nullable string even then.
// - Response header v0: correlation_id. v1 (flexible response versions) appends tagged fields,
//   except ApiVersions, whose response header is always v0: a client that does not yet know the
//   broker's versions must be able to read the error in the response of any version.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "kafka/protocol/codec_error.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {

enum class api_key : std::int16_t {
  produce = 0,
  fetch = 1,
  list_offsets = 2,
  metadata = 3,
  offset_commit = 8,
  offset_fetch = 9,
  find_coordinator = 10,
  join_group = 11,
  heartbeat = 12,
  leave_group = 13,
  sync_group = 14,
  describe_groups = 15,
  list_groups = 16,
  sasl_handshake = 17,
  api_versions = 18,
  create_topics = 19,
  delete_topics = 20,
  delete_records = 21,
  init_producer_id = 22,
  offset_for_leader_epoch = 23,
  add_partitions_to_txn = 24,
  add_offsets_to_txn = 25,
  end_txn = 26,
  write_txn_markers = 27,
  txn_offset_commit = 28,
  describe_acls = 29,
  create_acls = 30,
  delete_acls = 31,
  describe_configs = 32,
  alter_configs = 33,
  describe_log_dirs = 35,
  sasl_authenticate = 36,
  create_partitions = 37,
  delete_groups = 42,
  elect_leaders = 43,
  incremental_alter_configs = 44,
  alter_partition_reassignments = 45,
  list_partition_reassignments = 46,
  offset_delete = 47,
  describe_user_scram_credentials = 50,
  alter_user_scram_credentials = 51,
  describe_quorum = 55,
  describe_cluster = 60,
  describe_producers = 61,
  describe_transactions = 65,
  list_transactions = 66,
};

// An inclusive range of API versions.
struct version_range {
  std::int16_t min = 0;
  std::int16_t max = -1;
  constexpr bool contains(std::int16_t v) const { return v >= min && v <= max; }
};

// "Produce", "ApiVersions", ... as in the Kafka documentation; "Unknown" for keys not listed above.
std::string_view to_string(api_key key);

// The first flexible version of `key`, or nullopt when no version of it is flexible or the key is
// unknown to this table.
std::optional<std::int16_t> first_flexible_version(api_key key);

// The framing of the request and response bodies of (key, version).
framing body_framing(api_key key, std::int16_t version);

// 2 for flexible request versions, else 1 (v0 headers, without client_id, are not used by any
// API version we decode).
std::int16_t request_header_version(api_key key, std::int16_t version);

// 1 for flexible response versions, else 0; ApiVersions always 0.
std::int16_t response_header_version(api_key key, std::int16_t version);

// The error a decoder returns for a version it does not implement.
codec_error unsupported_version_error(api_key key, std::int16_t version);

}  // namespace chronik::kafka
