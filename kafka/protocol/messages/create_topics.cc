#include "kafka/protocol/messages/create_topics.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::create_topics;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(create_topics_versions.contains(version), "CreateTopics version out of range");
}

creatable_topic read_topic(reader& r, framing f) {
  creatable_topic t;
  t.name = r.read_string(f);
  t.num_partitions = r.read_int32();
  t.replication_factor = r.read_int16();
  t.assignments = read_array<creatable_replica_assignment>(r, f, [f](reader& in) {
    creatable_replica_assignment a;
    a.partition_index = in.read_int32();
    a.broker_ids = read_int32_array(in, f);
    in.skip_tagged_fields(f);
    return a;
  });
  t.configs = read_array<creatable_topic_config>(r, f, [f](reader& in) {
    creatable_topic_config c;
    c.name = in.read_string(f);
    c.value = in.read_nullable_string(f);
    in.skip_tagged_fields(f);
    return c;
  });
  r.skip_tagged_fields(f);
  return t;
}

void write_topic(writer& w, const creatable_topic& t, framing f) {
  w.write_string(t.name, f);
  w.write_int32(t.num_partitions);
  w.write_int16(t.replication_factor);
  write_array(w, f, t.assignments, [f](writer& out, const creatable_replica_assignment& a) {
    out.write_int32(a.partition_index);
    write_int32_array(out, f, a.broker_ids);
    out.write_empty_tagged_fields(f);
  });
  write_array(w, f, t.configs, [f](writer& out, const creatable_topic_config& c) {
    out.write_string(c.name, f);
    out.write_nullable_string(c.value, f);
    out.write_empty_tagged_fields(f);
  });
  w.write_empty_tagged_fields(f);
}

created_topic_result read_result(reader& r, std::int16_t version, framing f) {
  created_topic_result t;
  t.name = r.read_string(f);
  if (version >= 7) t.topic_id = r.read_uuid();
  t.error = static_cast<error_code>(r.read_int16());
  if (version >= 1) t.error_message = r.read_nullable_string(f);
  if (version >= 5) {
    t.num_partitions = r.read_int32();
    t.replication_factor = r.read_int16();
    t.configs = read_nullable_array<created_topic_config>(r, f, [f](reader& in) {
      created_topic_config c;
      c.name = in.read_string(f);
      c.value = in.read_nullable_string(f);
      c.read_only = in.read_bool();
      c.config_source = in.read_int8();
      c.is_sensitive = in.read_bool();
      in.skip_tagged_fields(f);
      return c;
    });
  }
  r.read_tagged_fields(f, [&t](std::uint32_t tag, reader& field) {
    if (tag == 0) t.topic_config_error = static_cast<error_code>(field.read_int16());
  });
  return t;
}

void write_result(writer& w, const created_topic_result& t, std::int16_t version, framing f) {
  w.write_string(t.name, f);
  if (version >= 7) w.write_uuid(t.topic_id);
  w.write_int16(static_cast<std::int16_t>(t.error));
  if (version >= 1) w.write_nullable_string(t.error_message, f);
  if (version >= 5) {
    w.write_int32(t.num_partitions);
    w.write_int16(t.replication_factor);
    write_nullable_array(w, f, t.configs, [f](writer& out, const created_topic_config& c) {
      out.write_string(c.name, f);
      out.write_nullable_string(c.value, f);
      out.write_bool(c.read_only);
      out.write_int8(c.config_source);
      out.write_bool(c.is_sensitive);
      out.write_empty_tagged_fields(f);
    });
  }
  std::vector<tagged_field> tags;
  if (f == framing::flexible && t.topic_config_error != error_code::none) {
    writer field;
    field.write_int16(static_cast<std::int16_t>(t.topic_config_error));
    tags.push_back({0, field.take()});
  }
  w.write_tagged_fields(f, tags);
}

}  // namespace

std::expected<create_topics_request, codec_error> decode_create_topics_request(
    reader& r, std::int16_t version) {
  if (!create_topics_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  create_topics_request m;
  m.topics = read_array<creatable_topic>(r, f, [f](reader& in) { return read_topic(in, f); });
  m.timeout_ms = r.read_int32();
  if (version >= 1) m.validate_only = r.read_bool();
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_create_topics_request(const create_topics_request& m, std::int16_t version,
                                  writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  write_array(w, f, m.topics,
              [f](writer& out, const creatable_topic& t) { write_topic(out, t, f); });
  w.write_int32(m.timeout_ms);
  if (version >= 1) w.write_bool(m.validate_only);
  w.write_empty_tagged_fields(f);
}

std::expected<create_topics_response, codec_error> decode_create_topics_response(
    reader& r, std::int16_t version) {
  if (!create_topics_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  create_topics_response m;
  if (version >= 2) m.throttle_time_ms = r.read_int32();
  m.topics = read_array<created_topic_result>(
      r, f, [version, f](reader& in) { return read_result(in, version, f); });
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_create_topics_response(const create_topics_response& m, std::int16_t version,
                                   writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version >= 2) w.write_int32(m.throttle_time_ms);
  write_array(w, f, m.topics, [version, f](writer& out, const created_topic_result& t) {
    write_result(out, t, version, f);
  });
  w.write_empty_tagged_fields(f);
}

}  // namespace chronik::kafka
