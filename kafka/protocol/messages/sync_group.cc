#include "kafka/protocol/messages/sync_group.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::sync_group;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(sync_group_versions.contains(version), "SyncGroup version out of range");
}

}  // namespace

std::expected<sync_group_request, codec_error> decode_sync_group_request(reader& r,
                                                                         std::int16_t version) {
  if (!sync_group_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  sync_group_request m;
  m.group_id = r.read_string(f);
  m.generation_id = r.read_int32();
  m.member_id = r.read_string(f);
  if (version >= 3) m.group_instance_id = r.read_nullable_string(f);
  if (version >= 5) {
    m.protocol_type = r.read_nullable_string(f);
    m.protocol_name = r.read_nullable_string(f);
  }
  m.assignments = read_array<sync_group_assignment>(r, f, [f](reader& in) {
    sync_group_assignment a;
    a.member_id = in.read_string(f);
    a.assignment = in.read_bytes(f);
    in.skip_tagged_fields(f);
    return a;
  });
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_sync_group_request(const sync_group_request& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  w.write_string(m.group_id, f);
  w.write_int32(m.generation_id);
  w.write_string(m.member_id, f);
  if (version >= 3) w.write_nullable_string(m.group_instance_id, f);
  if (version >= 5) {
    w.write_nullable_string(m.protocol_type, f);
    w.write_nullable_string(m.protocol_name, f);
  }
  write_array(w, f, m.assignments, [f](writer& out, const sync_group_assignment& a) {
    out.write_string(a.member_id, f);
    out.write_bytes(a.assignment, f);
    out.write_empty_tagged_fields(f);
  });
  w.write_empty_tagged_fields(f);
}

std::expected<sync_group_response, codec_error> decode_sync_group_response(reader& r,
                                                                           std::int16_t version) {
  if (!sync_group_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  sync_group_response m;
  if (version >= 1) m.throttle_time_ms = r.read_int32();
  m.error = static_cast<error_code>(r.read_int16());
  if (version >= 5) {
    m.protocol_type = r.read_nullable_string(f);
    m.protocol_name = r.read_nullable_string(f);
  }
  m.assignment = r.read_bytes(f);
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_sync_group_response(const sync_group_response& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version >= 1) w.write_int32(m.throttle_time_ms);
  w.write_int16(static_cast<std::int16_t>(m.error));
  if (version >= 5) {
    w.write_nullable_string(m.protocol_type, f);
    w.write_nullable_string(m.protocol_name, f);
  }
  w.write_bytes(m.assignment, f);
  w.write_empty_tagged_fields(f);
}

}  // namespace chronik::kafka
