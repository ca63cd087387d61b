#include "kafka/protocol/messages/list_offsets.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::list_offsets;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(list_offsets_versions.contains(version), "ListOffsets version out of range");
}

list_offsets_partition read_partition(reader& r, std::int16_t version, framing f) {
  list_offsets_partition p;
  p.partition_index = r.read_int32();
  if (version >= 4) p.current_leader_epoch = r.read_int32();
  p.timestamp = r.read_int64();
  if (version == 0) p.max_num_offsets = r.read_int32();
  r.skip_tagged_fields(f);
  return p;
}

void write_partition(writer& w, const list_offsets_partition& p, std::int16_t version, framing f) {
  w.write_int32(p.partition_index);
  if (version >= 4) w.write_int32(p.current_leader_epoch);
  w.write_int64(p.timestamp);
  if (version == 0) w.write_int32(p.max_num_offsets);
  w.write_empty_tagged_fields(f);
}

list_offsets_partition_response read_partition_response(reader& r, std::int16_t version,
                                                        framing f) {
  list_offsets_partition_response p;
  p.partition_index = r.read_int32();
  p.error = static_cast<error_code>(r.read_int16());
  if (version == 0) {
    p.old_style_offsets =
        read_array<std::int64_t>(r, f, [](reader& in) { return in.read_int64(); });
  } else {
    p.timestamp = r.read_int64();
    p.offset = r.read_int64();
  }
  if (version >= 4) p.leader_epoch = r.read_int32();
  r.skip_tagged_fields(f);
  return p;
}

void write_partition_response(writer& w, const list_offsets_partition_response& p,
                              std::int16_t version, framing f) {
  w.write_int32(p.partition_index);
  w.write_int16(static_cast<std::int16_t>(p.error));
  if (version == 0) {
    write_array(w, f, p.old_style_offsets, [](writer& out, std::int64_t v) { out.write_int64(v); });
  } else {
    w.write_int64(p.timestamp);
    w.write_int64(p.offset);
  }
  if (version >= 4) w.write_int32(p.leader_epoch);
  w.write_empty_tagged_fields(f);
}

}  // namespace

std::expected<list_offsets_request, codec_error> decode_list_offsets_request(reader& r,
                                                                             std::int16_t version) {
  if (!list_offsets_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  list_offsets_request m;
  m.replica_id = r.read_int32();
  if (version >= 2) m.isolation_level = r.read_int8();
  m.topics = read_array<list_offsets_topic>(r, f, [version, f](reader& in) {
    list_offsets_topic t;
    t.name = in.read_string(f);
    t.partitions = read_array<list_offsets_partition>(
        in, f, [version, f](reader& p) { return read_partition(p, version, f); });
    in.skip_tagged_fields(f);
    return t;
  });
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_list_offsets_request(const list_offsets_request& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  w.write_int32(m.replica_id);
  if (version >= 2) w.write_int8(m.isolation_level);
  write_array(w, f, m.topics, [version, f](writer& out, const list_offsets_topic& t) {
    out.write_string(t.name, f);
    write_array(out, f, t.partitions, [version, f](writer& pw, const list_offsets_partition& p) {
      write_partition(pw, p, version, f);
    });
    out.write_empty_tagged_fields(f);
  });
  w.write_empty_tagged_fields(f);
}

std::expected<list_offsets_response, codec_error> decode_list_offsets_response(
    reader& r, std::int16_t version) {
  if (!list_offsets_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  list_offsets_response m;
  if (version >= 2) m.throttle_time_ms = r.read_int32();
  m.topics = read_array<list_offsets_topic_response>(r, f, [version, f](reader& in) {
    list_offsets_topic_response t;
    t.name = in.read_string(f);
    t.partitions = read_array<list_offsets_partition_response>(
        in, f, [version, f](reader& p) { return read_partition_response(p, version, f); });
    in.skip_tagged_fields(f);
    return t;
  });
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_list_offsets_response(const list_offsets_response& m, std::int16_t version,
                                  writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version >= 2) w.write_int32(m.throttle_time_ms);
  write_array(w, f, m.topics, [version, f](writer& out, const list_offsets_topic_response& t) {
    out.write_string(t.name, f);
    write_array(out, f, t.partitions,
                [version, f](writer& pw, const list_offsets_partition_response& p) {
                  write_partition_response(pw, p, version, f);
                });
    out.write_empty_tagged_fields(f);
  });
  w.write_empty_tagged_fields(f);
}

}  // namespace chronik::kafka
