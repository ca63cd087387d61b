#include "kafka/protocol/messages/heartbeat.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::heartbeat;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(heartbeat_versions.contains(version), "Heartbeat version out of range");
}

}  // namespace

std::expected<heartbeat_request, codec_error> decode_heartbeat_request(reader& r,
                                                                       std::int16_t version) {
  if (!heartbeat_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  heartbeat_request m;
  m.group_id = r.read_string(f);
  m.generation_id = r.read_int32();
  m.member_id = r.read_string(f);
  if (version >= 3) m.group_instance_id = r.read_nullable_string(f);
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_heartbeat_request(const heartbeat_request& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  w.write_string(m.group_id, f);
  w.write_int32(m.generation_id);
  w.write_string(m.member_id, f);
  if (version >= 3) w.write_nullable_string(m.group_instance_id, f);
  w.write_empty_tagged_fields(f);
}

std::expected<heartbeat_response, codec_error> decode_heartbeat_response(reader& r,
                                                                         std::int16_t version) {
  if (!heartbeat_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  heartbeat_response m;
  if (version >= 1) m.throttle_time_ms = r.read_int32();
  m.error = static_cast<error_code>(r.read_int16());
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_heartbeat_response(const heartbeat_response& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version >= 1) w.write_int32(m.throttle_time_ms);
  w.write_int16(static_cast<std::int16_t>(m.error));
  w.write_empty_tagged_fields(f);
}

}  // namespace chronik::kafka
