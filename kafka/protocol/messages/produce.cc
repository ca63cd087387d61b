#include "kafka/protocol/messages/produce.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::produce;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(produce_versions.contains(version), "Produce version out of range");
}

produce_topic read_topic(reader& r, framing f) {
  produce_topic t;
  t.name = r.read_string(f);
  t.partitions = read_array<produce_partition>(r, f, [f](reader& in) {
    produce_partition p;
    p.index = in.read_int32();
    p.records = in.read_nullable_bytes(f);
    in.skip_tagged_fields(f);
    return p;
  });
  r.skip_tagged_fields(f);
  return t;
}

void write_topic(writer& w, const produce_topic& t, framing f) {
  w.write_string(t.name, f);
  write_array(w, f, t.partitions, [f](writer& out, const produce_partition& p) {
    out.write_int32(p.index);
    out.write_nullable_bytes(p.records, f);
    out.write_empty_tagged_fields(f);
  });
  w.write_empty_tagged_fields(f);
}

produce_partition_response read_partition(reader& r, std::int16_t version, framing f) {
  produce_partition_response p;
  p.index = r.read_int32();
  p.error = static_cast<error_code>(r.read_int16());
  p.base_offset = r.read_int64();
  p.log_append_time_ms = r.read_int64();  // v2+, and we start at v3
  if (version >= 5) p.log_start_offset = r.read_int64();
  if (version >= 8) {
    p.record_errors = read_array<produce_record_error>(r, f, [f](reader& in) {
      produce_record_error e;
      e.batch_index = in.read_int32();
      e.batch_index_error_message = in.read_nullable_string(f);
      in.skip_tagged_fields(f);
      return e;
    });
    p.error_message = r.read_nullable_string(f);
  }
  r.skip_tagged_fields(f);
  return p;
}

void write_partition(writer& w, const produce_partition_response& p, std::int16_t version,
                     framing f) {
  w.write_int32(p.index);
  w.write_int16(static_cast<std::int16_t>(p.error));
  w.write_int64(p.base_offset);
  w.write_int64(p.log_append_time_ms);
  if (version >= 5) w.write_int64(p.log_start_offset);
  if (version >= 8) {
    write_array(w, f, p.record_errors, [f](writer& out, const produce_record_error& e) {
      out.write_int32(e.batch_index);
      out.write_nullable_string(e.batch_index_error_message, f);
      out.write_empty_tagged_fields(f);
    });
    w.write_nullable_string(p.error_message, f);
  }
  w.write_empty_tagged_fields(f);
}

}  // namespace

std::expected<produce_request, codec_error> decode_produce_request(reader& r,
                                                                   std::int16_t version) {
  if (!produce_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  produce_request m;
  m.transactional_id = r.read_nullable_string(f);  // v3+
  m.acks = r.read_int16();
  m.timeout_ms = r.read_int32();
  m.topics = read_array<produce_topic>(r, f, [f](reader& in) { return read_topic(in, f); });
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_produce_request(const produce_request& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  w.write_nullable_string(m.transactional_id, f);
  w.write_int16(m.acks);
  w.write_int32(m.timeout_ms);
  write_array(w, f, m.topics, [f](writer& out, const produce_topic& t) { write_topic(out, t, f); });
  w.write_empty_tagged_fields(f);
}

std::expected<produce_response, codec_error> decode_produce_response(reader& r,
                                                                     std::int16_t version) {
  if (!produce_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  produce_response m;
  m.topics = read_array<produce_topic_response>(r, f, [version, f](reader& in) {
    produce_topic_response t;
    t.name = in.read_string(f);
    t.partitions = read_array<produce_partition_response>(
        in, f, [version, f](reader& p) { return read_partition(p, version, f); });
    in.skip_tagged_fields(f);
    return t;
  });
  m.throttle_time_ms = r.read_int32();  // v1+
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_produce_response(const produce_response& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  write_array(w, f, m.topics, [version, f](writer& out, const produce_topic_response& t) {
    out.write_string(t.name, f);
    write_array(out, f, t.partitions,
                [version, f](writer& pw, const produce_partition_response& p) {
                  write_partition(pw, p, version, f);
                });
    out.write_empty_tagged_fields(f);
  });
  w.write_int32(m.throttle_time_ms);
  w.write_empty_tagged_fields(f);
}

}  // namespace chronik::kafka
