#include "kafka/protocol/messages/offset_commit.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::offset_commit;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(offset_commit_versions.contains(version), "OffsetCommit version out of range");
}

offset_commit_partition read_partition(reader& r, std::int16_t version, framing f) {
  offset_commit_partition p;
  p.partition_index = r.read_int32();
  p.committed_offset = r.read_int64();
  if (version >= 6) p.committed_leader_epoch = r.read_int32();
  if (version == 1) p.commit_timestamp = r.read_int64();
  p.committed_metadata = r.read_nullable_string(f);
  r.skip_tagged_fields(f);
  return p;
}

void write_partition(writer& w, const offset_commit_partition& p, std::int16_t version,
                     framing f) {
  w.write_int32(p.partition_index);
  w.write_int64(p.committed_offset);
  if (version >= 6) w.write_int32(p.committed_leader_epoch);
  if (version == 1) w.write_int64(p.commit_timestamp);
  w.write_nullable_string(p.committed_metadata, f);
  w.write_empty_tagged_fields(f);
}

}  // namespace

std::expected<offset_commit_request, codec_error> decode_offset_commit_request(
    reader& r, std::int16_t version) {
  if (!offset_commit_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  offset_commit_request m;
  m.group_id = r.read_string(f);
  if (version >= 1) {
    m.generation_id = r.read_int32();
    m.member_id = r.read_string(f);
  }
  if (version >= 7) m.group_instance_id = r.read_nullable_string(f);
  if (version >= 2 && version <= 4) m.retention_time_ms = r.read_int64();
  m.topics = read_array<offset_commit_topic>(r, f, [version, f](reader& in) {
    offset_commit_topic t;
    t.name = in.read_string(f);
    t.partitions = read_array<offset_commit_partition>(
        in, f, [version, f](reader& p) { return read_partition(p, version, f); });
    in.skip_tagged_fields(f);
    return t;
  });
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_offset_commit_request(const offset_commit_request& m, std::int16_t version,
                                  writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  w.write_string(m.group_id, f);
  if (version >= 1) {
    w.write_int32(m.generation_id);
    w.write_string(m.member_id, f);
  }
  if (version >= 7) w.write_nullable_string(m.group_instance_id, f);
  if (version >= 2 && version <= 4) w.write_int64(m.retention_time_ms);
  write_array(w, f, m.topics, [version, f](writer& out, const offset_commit_topic& t) {
    out.write_string(t.name, f);
    write_array(out, f, t.partitions, [version, f](writer& pw, const offset_commit_partition& p) {
      write_partition(pw, p, version, f);
    });
    out.write_empty_tagged_fields(f);
  });
  w.write_empty_tagged_fields(f);
}

std::expected<offset_commit_response, codec_error> decode_offset_commit_response(
    reader& r, std::int16_t version) {
  if (!offset_commit_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  offset_commit_response m;
  if (version >= 3) m.throttle_time_ms = r.read_int32();
  m.topics = read_array<offset_commit_topic_response>(r, f, [f](reader& in) {
    offset_commit_topic_response t;
    t.name = in.read_string(f);
    t.partitions = read_array<offset_commit_partition_response>(in, f, [f](reader& p) {
      offset_commit_partition_response pr;
      pr.partition_index = p.read_int32();
      pr.error = static_cast<error_code>(p.read_int16());
      p.skip_tagged_fields(f);
      return pr;
    });
    in.skip_tagged_fields(f);
    return t;
  });
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_offset_commit_response(const offset_commit_response& m, std::int16_t version,
                                   writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version >= 3) w.write_int32(m.throttle_time_ms);
  write_array(w, f, m.topics, [f](writer& out, const offset_commit_topic_response& t) {
    out.write_string(t.name, f);
    write_array(out, f, t.partitions,
                [f](writer& pw, const offset_commit_partition_response& p) {
                  pw.write_int32(p.partition_index);
                  pw.write_int16(static_cast<std::int16_t>(p.error));
                  pw.write_empty_tagged_fields(f);
                });
    out.write_empty_tagged_fields(f);
  });
  w.write_empty_tagged_fields(f);
}

}  // namespace chronik::kafka
