#include "kafka/protocol/messages/leave_group.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::leave_group;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(leave_group_versions.contains(version), "LeaveGroup version out of range");
}

}  // namespace

std::expected<leave_group_request, codec_error> decode_leave_group_request(reader& r,
                                                                           std::int16_t version) {
  if (!leave_group_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  leave_group_request m;
  m.group_id = r.read_string(f);
  if (version <= 2) {
    m.member_id = r.read_string(f);
  } else {
    m.members = read_array<leave_group_member>(r, f, [f](reader& in) {
      leave_group_member mm;
      mm.member_id = in.read_string(f);
      mm.group_instance_id = in.read_nullable_string(f);
      in.skip_tagged_fields(f);
      return mm;
    });
  }
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_leave_group_request(const leave_group_request& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  w.write_string(m.group_id, f);
  if (version <= 2) {
    w.write_string(m.member_id, f);
  } else {
    write_array(w, f, m.members, [f](writer& out, const leave_group_member& mm) {
      out.write_string(mm.member_id, f);
      out.write_nullable_string(mm.group_instance_id, f);
      out.write_empty_tagged_fields(f);
    });
  }
  w.write_empty_tagged_fields(f);
}

std::expected<leave_group_response, codec_error> decode_leave_group_response(
    reader& r, std::int16_t version) {
  if (!leave_group_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  leave_group_response m;
  if (version >= 1) m.throttle_time_ms = r.read_int32();
  m.error = static_cast<error_code>(r.read_int16());
  if (version >= 3) {
    m.members = read_array<leave_group_member_response>(r, f, [f](reader& in) {
      leave_group_member_response mm;
      mm.member_id = in.read_string(f);
      mm.group_instance_id = in.read_nullable_string(f);
      mm.error = static_cast<error_code>(in.read_int16());
      in.skip_tagged_fields(f);
      return mm;
    });
  }
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_leave_group_response(const leave_group_response& m, std::int16_t version,
                                 writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version >= 1) w.write_int32(m.throttle_time_ms);
  w.write_int16(static_cast<std::int16_t>(m.error));
  if (version >= 3) {
    write_array(w, f, m.members, [f](writer& out, const leave_group_member_response& mm) {
      out.write_string(mm.member_id, f);
      out.write_nullable_string(mm.group_instance_id, f);
      out.write_int16(static_cast<std::int16_t>(mm.error));
      out.write_empty_tagged_fields(f);
    });
  }
  w.write_empty_tagged_fields(f);
}

}  // namespace chronik::kafka
