// JoinGroup (key 11), versions 0-7; flexible from v6. v1 adds the rebalance timeout, v2 the
// throttle time, v4 the two-step join with MEMBER_ID_REQUIRED (KIP-394), v5 group.instance.id
// (KIP-345), v7 the protocol type in the response and a nullable protocol name (KIP-559).
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

inline constexpr version_range join_group_versions{0, 7};

struct join_group_protocol {
  std::string name;
  std::string metadata;  // bytes, opaque to the coordinator
  bool operator==(const join_group_protocol&) const = default;
};

struct join_group_request {
  std::string group_id;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = -1;          // v1+; -1: use the session timeout
  std::string member_id;
  std::optional<std::string> group_instance_id;    // v5+
  std::string protocol_type;
  std::vector<join_group_protocol> protocols;
  bool operator==(const join_group_request&) const = default;
};

struct join_group_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v5+
  std::string metadata;                          // bytes
  bool operator==(const join_group_member&) const = default;
};

struct join_group_response {
  std::int32_t throttle_time_ms = 0;            // v2+
  error_code error = error_code::none;
  std::int32_t generation_id = -1;
  std::optional<std::string> protocol_type;     // v7+
  // Not nullable before v7: an absent name is written there as "".
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<join_group_member> members;
  bool operator==(const join_group_response&) const = default;
};

std::expected<join_group_request, codec_error> decode_join_group_request(reader& r,
                                                                         std::int16_t version);
void encode_join_group_request(const join_group_request& m, std::int16_t version, writer& w);
std::expected<join_group_response, codec_error> decode_join_group_response(reader& r,
                                                                           std::int16_t version);
void encode_join_group_response(const join_group_response& m, std::int16_t version, writer& w);

}  // namespace chronik::kafka
