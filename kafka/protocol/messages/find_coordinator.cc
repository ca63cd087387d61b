#include "kafka/protocol/messages/find_coordinator.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::find_coordinator;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(find_coordinator_versions.contains(version), "FindCoordinator version out of range");
}

coordinator_entry read_entry(reader& r, framing f) {
  coordinator_entry e;
  e.key = r.read_string(f);
  e.node_id = r.read_int32();
  e.host = r.read_string(f);
  e.port = r.read_int32();
  e.error = static_cast<error_code>(r.read_int16());
  e.error_message = r.read_nullable_string(f);
  r.skip_tagged_fields(f);
  return e;
}

void write_entry(writer& w, const coordinator_entry& e, framing f) {
  w.write_string(e.key, f);
  w.write_int32(e.node_id);
  w.write_string(e.host, f);
  w.write_int32(e.port);
  w.write_int16(static_cast<std::int16_t>(e.error));
  w.write_nullable_string(e.error_message, f);
  w.write_empty_tagged_fields(f);
}

}  // namespace

std::expected<find_coordinator_request, codec_error> decode_find_coordinator_request(
    reader& r, std::int16_t version) {
  if (!find_coordinator_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  find_coordinator_request m;
  if (version <= 3) m.key = r.read_string(f);
  if (version >= 1) m.key_type = r.read_int8();
  if (version >= 4) m.coordinator_keys = read_string_array(r, f);
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_find_coordinator_request(const find_coordinator_request& m, std::int16_t version,
                                     writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version <= 3) w.write_string(m.key, f);
  if (version >= 1) w.write_int8(m.key_type);
  if (version >= 4) write_string_array(w, f, m.coordinator_keys);
  w.write_empty_tagged_fields(f);
}

std::expected<find_coordinator_response, codec_error> decode_find_coordinator_response(
    reader& r, std::int16_t version) {
  if (!find_coordinator_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  find_coordinator_response m;
  if (version >= 1) m.throttle_time_ms = r.read_int32();
  if (version <= 3) {
    m.error = static_cast<error_code>(r.read_int16());
    if (version >= 1) m.error_message = r.read_nullable_string(f);
    m.node_id = r.read_int32();
    m.host = r.read_string(f);
    m.port = r.read_int32();
  } else {
    m.coordinators =
        read_array<coordinator_entry>(r, f, [f](reader& in) { return read_entry(in, f); });
  }
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_find_coordinator_response(const find_coordinator_response& m, std::int16_t version,
                                      writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version >= 1) w.write_int32(m.throttle_time_ms);
  if (version <= 3) {
    w.write_int16(static_cast<std::int16_t>(m.error));
    if (version >= 1) w.write_nullable_string(m.error_message, f);
    w.write_int32(m.node_id);
    w.write_string(m.host, f);
    w.write_int32(m.port);
  } else {
    write_array(w, f, m.coordinators,
                [f](writer& out, const coordinator_entry& e) { write_entry(out, e, f); });
  }
  w.write_empty_tagged_fields(f);
}

}  // namespace chronik::kafka
