#include "kafka/protocol/messages/offset_fetch.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::offset_fetch;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(offset_fetch_versions.contains(version), "OffsetFetch version out of range");
}

offset_fetch_topic read_topic(reader& r, framing f) {
  offset_fetch_topic t;
  t.name = r.read_string(f);
  t.partition_indexes = read_int32_array(r, f);
  r.skip_tagged_fields(f);
  return t;
}

void write_topic(writer& w, const offset_fetch_topic& t, framing f) {
  w.write_string(t.name, f);
  write_int32_array(w, f, t.partition_indexes);
  w.write_empty_tagged_fields(f);
}

offset_fetch_partition_response read_partition(reader& r, std::int16_t version, framing f) {
  offset_fetch_partition_response p;
  p.partition_index = r.read_int32();
  p.committed_offset = r.read_int64();
  if (version >= 5) p.committed_leader_epoch = r.read_int32();
  p.metadata = r.read_nullable_string(f);
  p.error = static_cast<error_code>(r.read_int16());
  r.skip_tagged_fields(f);
  return p;
}

void write_partition(writer& w, const offset_fetch_partition_response& p, std::int16_t version,
                     framing f) {
  w.write_int32(p.partition_index);
  w.write_int64(p.committed_offset);
  if (version >= 5) w.write_int32(p.committed_leader_epoch);
  w.write_nullable_string(p.metadata, f);
  w.write_int16(static_cast<std::int16_t>(p.error));
  w.write_empty_tagged_fields(f);
}

}  // namespace

std::expected<offset_fetch_request, codec_error> decode_offset_fetch_request(
    reader& r, std::int16_t version) {
  if (!offset_fetch_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  offset_fetch_request m;
  m.group_id = r.read_string(f);
  const auto read_one = [f](reader& in) { return read_topic(in, f); };
  if (version >= 2) {
    m.topics = read_nullable_array<offset_fetch_topic>(r, f, read_one);
  } else {
    m.topics = read_array<offset_fetch_topic>(r, f, read_one);
  }
  if (version >= 7) m.require_stable = r.read_bool();
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_offset_fetch_request(const offset_fetch_request& m, std::int16_t version,
                                 writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  w.write_string(m.group_id, f);
  const auto write_one = [f](writer& out, const offset_fetch_topic& t) { write_topic(out, t, f); };
  if (version >= 2) {
    write_nullable_array(w, f, m.topics, write_one);
  } else {
    write_array(w, f, m.topics.value_or(std::vector<offset_fetch_topic>{}), write_one);
  }
  if (version >= 7) w.write_bool(m.require_stable);
  w.write_empty_tagged_fields(f);
}

std::expected<offset_fetch_response, codec_error> decode_offset_fetch_response(
    reader& r, std::int16_t version) {
  if (!offset_fetch_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  offset_fetch_response m;
  if (version >= 3) m.throttle_time_ms = r.read_int32();
  m.topics = read_array<offset_fetch_topic_response>(r, f, [version, f](reader& in) {
    offset_fetch_topic_response t;
    t.name = in.read_string(f);
    t.partitions = read_array<offset_fetch_partition_response>(
        in, f, [version, f](reader& p) { return read_partition(p, version, f); });
    in.skip_tagged_fields(f);
    return t;
  });
  if (version >= 2) m.error = static_cast<error_code>(r.read_int16());
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_offset_fetch_response(const offset_fetch_response& m, std::int16_t version,
                                  writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version >= 3) w.write_int32(m.throttle_time_ms);
  write_array(w, f, m.topics, [version, f](writer& out, const offset_fetch_topic_response& t) {
    out.write_string(t.name, f);
    write_array(out, f, t.partitions,
                [version, f](writer& pw, const offset_fetch_partition_response& p) {
                  write_partition(pw, p, version, f);
                });
    out.write_empty_tagged_fields(f);
  });
  if (version >= 2) w.write_int16(static_cast<std::int16_t>(m.error));
  w.write_empty_tagged_fields(f);
}

}  // namespace chronik::kafka
