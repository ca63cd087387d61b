#include "kafka/protocol/messages/join_group.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::join_group;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(join_group_versions.contains(version), "JoinGroup version out of range");
}

join_group_member read_member(reader& r, std::int16_t version, framing f) {
  join_group_member m;
  m.member_id = r.read_string(f);
  if (version >= 5) m.group_instance_id = r.read_nullable_string(f);
  m.metadata = r.read_bytes(f);
  r.skip_tagged_fields(f);
  return m;
}

void write_member(writer& w, const join_group_member& m, std::int16_t version, framing f) {
  w.write_string(m.member_id, f);
  if (version >= 5) w.write_nullable_string(m.group_instance_id, f);
  w.write_bytes(m.metadata, f);
  w.write_empty_tagged_fields(f);
}

}  // namespace

std::expected<join_group_request, codec_error> decode_join_group_request(reader& r,
                                                                         std::int16_t version) {
  if (!join_group_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  join_group_request m;
  m.group_id = r.read_string(f);
  m.session_timeout_ms = r.read_int32();
  if (version >= 1) m.rebalance_timeout_ms = r.read_int32();
  m.member_id = r.read_string(f);
  if (version >= 5) m.group_instance_id = r.read_nullable_string(f);
  m.protocol_type = r.read_string(f);
  m.protocols = read_array<join_group_protocol>(r, f, [f](reader& in) {
    join_group_protocol p;
    p.name = in.read_string(f);
    p.metadata = in.read_bytes(f);
    in.skip_tagged_fields(f);
    return p;
  });
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_join_group_request(const join_group_request& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  w.write_string(m.group_id, f);
  w.write_int32(m.session_timeout_ms);
  if (version >= 1) w.write_int32(m.rebalance_timeout_ms);
  w.write_string(m.member_id, f);
  if (version >= 5) w.write_nullable_string(m.group_instance_id, f);
  w.write_string(m.protocol_type, f);
  write_array(w, f, m.protocols, [f](writer& out, const join_group_protocol& p) {
    out.write_string(p.name, f);
    out.write_bytes(p.metadata, f);
    out.write_empty_tagged_fields(f);
  });
  w.write_empty_tagged_fields(f);
}

std::expected<join_group_response, codec_error> decode_join_group_response(reader& r,
                                                                           std::int16_t version) {
  if (!join_group_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  join_group_response m;
  if (version >= 2) m.throttle_time_ms = r.read_int32();
  m.error = static_cast<error_code>(r.read_int16());
  m.generation_id = r.read_int32();
  if (version >= 7) {
    m.protocol_type = r.read_nullable_string(f);
    m.protocol_name = r.read_nullable_string(f);
  } else {
    m.protocol_name = r.read_string(f);
  }
  m.leader = r.read_string(f);
  m.member_id = r.read_string(f);
  m.members = read_array<join_group_member>(
      r, f, [version, f](reader& in) { return read_member(in, version, f); });
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_join_group_response(const join_group_response& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version >= 2) w.write_int32(m.throttle_time_ms);
  w.write_int16(static_cast<std::int16_t>(m.error));
  w.write_int32(m.generation_id);
  if (version >= 7) {
    w.write_nullable_string(m.protocol_type, f);
    w.write_nullable_string(m.protocol_name, f);
  } else {
    w.write_string(m.protocol_name.value_or(""), f);
  }
  w.write_string(m.leader, f);
  w.write_string(m.member_id, f);
  write_array(w, f, m.members, [version, f](writer& out, const join_group_member& mm) {
    write_member(out, mm, version, f);
  });
  w.write_empty_tagged_fields(f);
}

}  // namespace chronik::kafka
