// Heartbeat (key 12), versions 0-4; flexible from v4. v1 adds throttle time, v3
// group.instance.id (KIP-345).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>

#include "kafka/protocol/api.h"
#include "kafka/protocol/error_code.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {

inline constexpr version_range heartbeat_versions{0, 4};

struct heartbeat_request {
  std::string group_id;
  std::int32_t generation_id = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+
  bool operator==(const heartbeat_request&) const = default;
};

struct heartbeat_response {
  std::int32_t throttle_time_ms = 0;  // v1+
  error_code error = error_code::none;
  bool operator==(const heartbeat_response&) const = default;
};

std::expected<heartbeat_request, codec_error> decode_heartbeat_request(reader& r,
                                                                       std::int16_t version);
void encode_heartbeat_request(const heartbeat_request& m, std::int16_t version, writer& w);
std::expected<heartbeat_response, codec_error> decode_heartbeat_response(reader& r,
                                                                         std::int16_t version);
void encode_heartbeat_response(const heartbeat_response& m, std::int16_t version, writer& w);

}  // namespace chronik::kafka
