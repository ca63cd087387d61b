// SyncGroup (key 14), versions 0-5; flexible from v4. v1 adds throttle time, v3
// group.instance.id (KIP-345), v5 the protocol type and name in both directions (KIP-559).
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

inline constexpr version_range sync_group_versions{0, 5};

struct sync_group_assignment {
  std::string member_id;
  std::string assignment;  // bytes, opaque to the coordinator
  bool operator==(const sync_group_assignment&) const = default;
};

struct sync_group_request {
  std::string group_id;
  std::int32_t generation_id = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+
  std::optional<std::string> protocol_type;      // v5+
  std::optional<std::string> protocol_name;      // v5+
  std::vector<sync_group_assignment> assignments;  // only the leader's is non-empty
  bool operator==(const sync_group_request&) const = default;
};

struct sync_group_response {
  std::int32_t throttle_time_ms = 0;          // v1+
  error_code error = error_code::none;
  std::optional<std::string> protocol_type;   // v5+
  std::optional<std::string> protocol_name;   // v5+
  std::string assignment;                     // bytes
  bool operator==(const sync_group_response&) const = default;
};

std::expected<sync_group_request, codec_error> decode_sync_group_request(reader& r,
                                                                         std::int16_t version);
void encode_sync_group_request(const sync_group_request& m, std::int16_t version, writer& w);
std::expected<sync_group_response, codec_error> decode_sync_group_response(reader& r,
                                                                           std::int16_t version);
void encode_sync_group_response(const sync_group_response& m, std::int16_t version, writer& w);

}  // namespace chronik::kafka
