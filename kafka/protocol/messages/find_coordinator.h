// FindCoordinator (key 10), versions 0-4; flexible from v3. v1 adds the key type (0 group,
// 1 transaction) and, in the response, throttle time and an error message; v4 (KIP-699) batches:
// the request carries a list of keys and the response one coordinator entry per key.
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

inline constexpr version_range find_coordinator_versions{0, 4};

inline constexpr std::int8_t coordinator_key_group = 0;
inline constexpr std::int8_t coordinator_key_transaction = 1;

struct find_coordinator_request {
  std::string key;                                 // v0-3
  std::int8_t key_type = coordinator_key_group;    // v1+
  std::vector<std::string> coordinator_keys;       // v4+
  bool operator==(const find_coordinator_request&) const = default;
};

struct coordinator_entry {
  std::string key;
  std::int32_t node_id = 0;
  std::string host;
  std::int32_t port = 0;
  error_code error = error_code::none;
  std::optional<std::string> error_message;
  bool operator==(const coordinator_entry&) const = default;
};

struct find_coordinator_response {
  std::int32_t throttle_time_ms = 0;          // v1+
  error_code error = error_code::none;        // v0-3
  std::optional<std::string> error_message;   // v1-3
  std::int32_t node_id = 0;                   // v0-3
  std::string host;                           // v0-3
  std::int32_t port = 0;                      // v0-3
  std::vector<coordinator_entry> coordinators;  // v4+
  bool operator==(const find_coordinator_response&) const = default;
};

std::expected<find_coordinator_request, codec_error> decode_find_coordinator_request(
    reader& r, std::int16_t version);
void encode_find_coordinator_request(const find_coordinator_request& m, std::int16_t version,
                                     writer& w);
std::expected<find_coordinator_response, codec_error> decode_find_coordinator_response(
    reader& r, std::int16_t version);
void encode_find_coordinator_response(const find_coordinator_response& m, std::int16_t version,
                                      writer& w);

}  // namespace chronik::kafka
