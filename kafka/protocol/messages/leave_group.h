// LeaveGroup (key 13), versions 0-4; flexible from v4. v1 adds throttle time; v3 (KIP-345)
// replaces the single member id with a batch of member identities, answered one by one.
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

inline constexpr version_range leave_group_versions{0, 4};

struct leave_group_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  bool operator==(const leave_group_member&) const = default;
};

struct leave_group_request {
  std::string group_id;
  std::string member_id;                    // v0-2
  std::vector<leave_group_member> members;  // v3+
  bool operator==(const leave_group_request&) const = default;
};

struct leave_group_member_response {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  error_code error = error_code::none;
  bool operator==(const leave_group_member_response&) const = default;
};

struct leave_group_response {
  std::int32_t throttle_time_ms = 0;  // v1+
  error_code error = error_code::none;
  std::vector<leave_group_member_response> members;  // v3+
  bool operator==(const leave_group_response&) const = default;
};

std::expected<leave_group_request, codec_error> decode_leave_group_request(reader& r,
                                                                           std::int16_t version);
void encode_leave_group_request(const leave_group_request& m, std::int16_t version, writer& w);
std::expected<leave_group_response, codec_error> decode_leave_group_response(
    reader& r, std::int16_t version);
void encode_leave_group_response(const leave_group_response& m, std::int16_t version,
                                 writer& w);

}  // namespace chronik::kafka
