#include "kafka/protocol/messages/metadata.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::metadata;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(metadata_versions.contains(version), "Metadata version out of range");
}

metadata_broker read_broker(reader& r, std::int16_t version, framing f) {
  metadata_broker b;
  b.node_id = r.read_int32();
  b.host = r.read_string(f);
  b.port = r.read_int32();
  if (version >= 1) b.rack = r.read_nullable_string(f);
  r.skip_tagged_fields(f);
  return b;
}

void write_broker(writer& w, const metadata_broker& b, std::int16_t version, framing f) {
  w.write_int32(b.node_id);
  w.write_string(b.host, f);
  w.write_int32(b.port);
  if (version >= 1) w.write_nullable_string(b.rack, f);
  w.write_empty_tagged_fields(f);
}

metadata_partition read_partition(reader& r, std::int16_t version, framing f) {
  metadata_partition p;
  p.error = static_cast<error_code>(r.read_int16());
  p.partition_index = r.read_int32();
  p.leader_id = r.read_int32();
  if (version >= 7) p.leader_epoch = r.read_int32();
  p.replica_nodes = read_int32_array(r, f);
  p.isr_nodes = read_int32_array(r, f);
  if (version >= 5) p.offline_replicas = read_int32_array(r, f);
  r.skip_tagged_fields(f);
  return p;
}

void write_partition(writer& w, const metadata_partition& p, std::int16_t version, framing f) {
  w.write_int16(static_cast<std::int16_t>(p.error));
  w.write_int32(p.partition_index);
  w.write_int32(p.leader_id);
  if (version >= 7) w.write_int32(p.leader_epoch);
  write_int32_array(w, f, p.replica_nodes);
  write_int32_array(w, f, p.isr_nodes);
  if (version >= 5) write_int32_array(w, f, p.offline_replicas);
  w.write_empty_tagged_fields(f);
}

metadata_topic read_topic(reader& r, std::int16_t version, framing f) {
  metadata_topic t;
  t.error = static_cast<error_code>(r.read_int16());
  t.name = r.read_string(f);
  if (version >= 1) t.is_internal = r.read_bool();
  t.partitions = read_array<metadata_partition>(
      r, f, [version, f](reader& in) { return read_partition(in, version, f); });
  if (version >= 8) t.topic_authorized_operations = r.read_int32();
  r.skip_tagged_fields(f);
  return t;
}

void write_topic(writer& w, const metadata_topic& t, std::int16_t version, framing f) {
  w.write_int16(static_cast<std::int16_t>(t.error));
  w.write_string(t.name, f);
  if (version >= 1) w.write_bool(t.is_internal);
  write_array(w, f, t.partitions, [version, f](writer& out, const metadata_partition& p) {
    write_partition(out, p, version, f);
  });
  if (version >= 8) w.write_int32(t.topic_authorized_operations);
  w.write_empty_tagged_fields(f);
}

}  // namespace

std::expected<metadata_request, codec_error> decode_metadata_request(reader& r,
                                                                     std::int16_t version) {
  if (!metadata_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  metadata_request m;
  // v0's array is not nullable: read_count() rejects a null there.
  if (version == 0) {
    m.topics = read_string_array(r, f);
    if (m.topics->empty()) m.topics.reset();
  } else {
    m.topics = read_nullable_array<std::string>(r, f, [f](reader& in) {
      std::string name = in.read_string(f);
      in.skip_tagged_fields(f);
      return name;
    });
  }
  if (version >= 4) m.allow_auto_topic_creation = r.read_bool();
  if (version >= 8) {
    m.include_cluster_authorized_operations = r.read_bool();
    m.include_topic_authorized_operations = r.read_bool();
  }
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_metadata_request(const metadata_request& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version == 0) {
    write_string_array(w, f, m.topics.value_or(std::vector<std::string>{}));
  } else {
    // Each topic is a structure (MetadataRequestTopic), so flexible versions end it with tags.
    write_nullable_array(w, f, m.topics, [f](writer& out, const std::string& name) {
      out.write_string(name, f);
      out.write_empty_tagged_fields(f);
    });
  }
  if (version >= 4) w.write_bool(m.allow_auto_topic_creation);
  if (version >= 8) {
    w.write_bool(m.include_cluster_authorized_operations);
    w.write_bool(m.include_topic_authorized_operations);
  }
  w.write_empty_tagged_fields(f);
}

std::expected<metadata_response, codec_error> decode_metadata_response(reader& r,
                                                                       std::int16_t version) {
  if (!metadata_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  metadata_response m;
  if (version >= 3) m.throttle_time_ms = r.read_int32();
  m.brokers = read_array<metadata_broker>(
      r, f, [version, f](reader& in) { return read_broker(in, version, f); });
  if (version >= 2) m.cluster_id = r.read_nullable_string(f);
  if (version >= 1) m.controller_id = r.read_int32();
  m.topics = read_array<metadata_topic>(
      r, f, [version, f](reader& in) { return read_topic(in, version, f); });
  if (version >= 8) m.cluster_authorized_operations = r.read_int32();
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_metadata_response(const metadata_response& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version >= 3) w.write_int32(m.throttle_time_ms);
  write_array(w, f, m.brokers, [version, f](writer& out, const metadata_broker& b) {
    write_broker(out, b, version, f);
  });
  if (version >= 2) w.write_nullable_string(m.cluster_id, f);
  if (version >= 1) w.write_int32(m.controller_id);
  write_array(w, f, m.topics, [version, f](writer& out, const metadata_topic& t) {
    write_topic(out, t, version, f);
  });
  if (version >= 8) w.write_int32(m.cluster_authorized_operations);
  w.write_empty_tagged_fields(f);
}

}  // namespace chronik::kafka
