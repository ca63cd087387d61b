#include "kafka/protocol/messages/delete_topics.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::delete_topics;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(delete_topics_versions.contains(version), "DeleteTopics version out of range");
}

}  // namespace

std::expected<delete_topics_request, codec_error> decode_delete_topics_request(
    reader& r, std::int16_t version) {
  if (!delete_topics_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  delete_topics_request m;
  if (version >= 6) {
    m.topics = read_array<delete_topic_state>(r, f, [f](reader& in) {
      delete_topic_state t;
      t.name = in.read_nullable_string(f);
      t.topic_id = in.read_uuid();
      in.skip_tagged_fields(f);
      return t;
    });
  } else {
    for (auto& name : read_string_array(r, f)) m.topics.push_back({std::move(name), uuid{}});
  }
  m.timeout_ms = r.read_int32();
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_delete_topics_request(const delete_topics_request& m, std::int16_t version,
                                  writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version >= 6) {
    write_array(w, f, m.topics, [f](writer& out, const delete_topic_state& t) {
      out.write_nullable_string(t.name, f);
      out.write_uuid(t.topic_id);
      out.write_empty_tagged_fields(f);
    });
  } else {
    write_array(w, f, m.topics, [f](writer& out, const delete_topic_state& t) {
      out.write_string(t.name.value_or(std::string{}), f);
    });
  }
  w.write_int32(m.timeout_ms);
  w.write_empty_tagged_fields(f);
}

std::expected<delete_topics_response, codec_error> decode_delete_topics_response(
    reader& r, std::int16_t version) {
  if (!delete_topics_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  delete_topics_response m;
  if (version >= 1) m.throttle_time_ms = r.read_int32();
  m.responses = read_array<deletable_topic_result>(r, f, [version, f](reader& in) {
    deletable_topic_result t;
    if (version >= 6) {
      t.name = in.read_nullable_string(f);
      t.topic_id = in.read_uuid();
    } else {
      t.name = in.read_string(f);
    }
    t.error = static_cast<error_code>(in.read_int16());
    if (version >= 5) t.error_message = in.read_nullable_string(f);
    in.skip_tagged_fields(f);
    return t;
  });
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_delete_topics_response(const delete_topics_response& m, std::int16_t version,
                                   writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version >= 1) w.write_int32(m.throttle_time_ms);
  write_array(w, f, m.responses, [version, f](writer& out, const deletable_topic_result& t) {
    if (version >= 6) {
      out.write_nullable_string(t.name, f);
      out.write_uuid(t.topic_id);
    } else {
      out.write_string(t.name.value_or(std::string{}), f);
    }
    out.write_int16(static_cast<std::int16_t>(t.error));
    if (version >= 5) out.write_nullable_string(t.error_message, f);
    out.write_empty_tagged_fields(f);
  });
  w.write_empty_tagged_fields(f);
}

}  // namespace chronik::kafka
