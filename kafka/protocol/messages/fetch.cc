#include "kafka/protocol/messages/fetch.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::fetch;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(fetch_versions.contains(version), "Fetch version out of range");
}

fetch_partition read_partition(reader& r, std::int16_t version, framing f) {
  fetch_partition p;
  p.partition = r.read_int32();
  if (version >= 9) p.current_leader_epoch = r.read_int32();
  p.fetch_offset = r.read_int64();
  if (version >= 12) p.last_fetched_epoch = r.read_int32();
  if (version >= 5) p.log_start_offset = r.read_int64();
  p.partition_max_bytes = r.read_int32();
  r.skip_tagged_fields(f);
  return p;
}

void write_partition(writer& w, const fetch_partition& p, std::int16_t version, framing f) {
  w.write_int32(p.partition);
  if (version >= 9) w.write_int32(p.current_leader_epoch);
  w.write_int64(p.fetch_offset);
  if (version >= 12) w.write_int32(p.last_fetched_epoch);
  if (version >= 5) w.write_int64(p.log_start_offset);
  w.write_int32(p.partition_max_bytes);
  w.write_empty_tagged_fields(f);
}

// The v12 tagged structures are themselves flexible: each ends with its own (empty) tag section.
template <class T, class Read>
std::optional<T> read_tagged_struct(reader& field, Read read) {
  T value;
  read(field, value);
  field.skip_tagged_fields(framing::flexible);
  return value;
}

template <class Write>
tagged_field tagged_struct(std::uint32_t tag, Write write) {
  writer w;
  write(w);
  w.write_empty_tagged_fields(framing::flexible);
  return {tag, w.take()};
}

void read_partition_tags(reader& r, framing f, fetch_partition_response& p) {
  r.read_tagged_fields(f, [&p](std::uint32_t tag, reader& field) {
    switch (tag) {
      case 0:
        p.diverging_epoch = read_tagged_struct<epoch_end_offset>(field, [](reader& in, auto& v) {
          v.epoch = in.read_int32();
          v.end_offset = in.read_int64();
        });
        break;
      case 1:
        p.current_leader = read_tagged_struct<leader_id_and_epoch>(field, [](reader& in, auto& v) {
          v.leader_id = in.read_int32();
          v.leader_epoch = in.read_int32();
        });
        break;
      case 2:
        p.snapshot = read_tagged_struct<snapshot_id>(field, [](reader& in, auto& v) {
          v.end_offset = in.read_int64();
          v.epoch = in.read_int32();
        });
        break;
      default: break;
    }
  });
}

void write_partition_tags(writer& w, framing f, const fetch_partition_response& p) {
  std::vector<tagged_field> tags;
  if (f == framing::flexible) {
    if (const auto& d = p.diverging_epoch) {
      tags.push_back(tagged_struct(0, [&d](writer& out) {
        out.write_int32(d->epoch);
        out.write_int64(d->end_offset);
      }));
    }
    if (const auto& l = p.current_leader) {
      tags.push_back(tagged_struct(1, [&l](writer& out) {
        out.write_int32(l->leader_id);
        out.write_int32(l->leader_epoch);
      }));
    }
    if (const auto& s = p.snapshot) {
      tags.push_back(tagged_struct(2, [&s](writer& out) {
        out.write_int64(s->end_offset);
        out.write_int32(s->epoch);
      }));
    }
  }
  w.write_tagged_fields(f, tags);
}

fetch_partition_response read_partition_response(reader& r, std::int16_t version, framing f) {
  fetch_partition_response p;
  p.partition_index = r.read_int32();
  p.error = static_cast<error_code>(r.read_int16());
  p.high_watermark = r.read_int64();
  p.last_stable_offset = r.read_int64();  // v4+
  if (version >= 5) p.log_start_offset = r.read_int64();
  p.aborted_transactions = read_nullable_array<aborted_transaction>(r, f, [f](reader& in) {
    aborted_transaction a;
    a.producer_id = in.read_int64();
    a.first_offset = in.read_int64();
    in.skip_tagged_fields(f);
    return a;
  });
  if (version >= 11) p.preferred_read_replica = r.read_int32();
  p.records = r.read_nullable_chain(f);
  read_partition_tags(r, f, p);
  return p;
}

void write_partition_response(writer& w, const fetch_partition_response& p, std::int16_t version,
                              framing f) {
  w.write_int32(p.partition_index);
  w.write_int16(static_cast<std::int16_t>(p.error));
  w.write_int64(p.high_watermark);
  w.write_int64(p.last_stable_offset);
  if (version >= 5) w.write_int64(p.log_start_offset);
  write_nullable_array(w, f, p.aborted_transactions,
                       [f](writer& out, const aborted_transaction& a) {
                         out.write_int64(a.producer_id);
                         out.write_int64(a.first_offset);
                         out.write_empty_tagged_fields(f);
                       });
  if (version >= 11) w.write_int32(p.preferred_read_replica);
  w.write_nullable_bytes(p.records, f);
  write_partition_tags(w, f, p);
}

}  // namespace

std::expected<fetch_request, codec_error> decode_fetch_request(reader& r, std::int16_t version) {
  if (!fetch_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  fetch_request m;
  m.replica_id = r.read_int32();
  m.max_wait_ms = r.read_int32();
  m.min_bytes = r.read_int32();
  m.max_bytes = r.read_int32();        // v3+
  m.isolation_level = r.read_int8();  // v4+
  if (version >= 7) {
    m.session_id = r.read_int32();
    m.session_epoch = r.read_int32();
  }
  m.topics = read_array<fetch_topic>(r, f, [version, f](reader& in) {
    fetch_topic t;
    t.topic = in.read_string(f);
    t.partitions = read_array<fetch_partition>(
        in, f, [version, f](reader& p) { return read_partition(p, version, f); });
    in.skip_tagged_fields(f);
    return t;
  });
  if (version >= 7) {
    m.forgotten_topics = read_array<forgotten_topic>(r, f, [f](reader& in) {
      forgotten_topic t;
      t.topic = in.read_string(f);
      t.partitions = read_int32_array(in, f);
      in.skip_tagged_fields(f);
      return t;
    });
  }
  if (version >= 11) m.rack_id = r.read_string(f);
  r.read_tagged_fields(f, [&m](std::uint32_t tag, reader& field) {
    if (tag == 0) m.cluster_id = field.read_compact_nullable_string();
  });
  return finish(r, std::move(m));
}

void encode_fetch_request(const fetch_request& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  w.write_int32(m.replica_id);
  w.write_int32(m.max_wait_ms);
  w.write_int32(m.min_bytes);
  w.write_int32(m.max_bytes);
  w.write_int8(m.isolation_level);
  if (version >= 7) {
    w.write_int32(m.session_id);
    w.write_int32(m.session_epoch);
  }
  write_array(w, f, m.topics, [version, f](writer& out, const fetch_topic& t) {
    out.write_string(t.topic, f);
    write_array(out, f, t.partitions, [version, f](writer& pw, const fetch_partition& p) {
      write_partition(pw, p, version, f);
    });
    out.write_empty_tagged_fields(f);
  });
  if (version >= 7) {
    write_array(w, f, m.forgotten_topics, [f](writer& out, const forgotten_topic& t) {
      out.write_string(t.topic, f);
      write_int32_array(out, f, t.partitions);
      out.write_empty_tagged_fields(f);
    });
  }
  if (version >= 11) w.write_string(m.rack_id, f);
  std::vector<tagged_field> tags;
  if (f == framing::flexible && m.cluster_id) {
    writer field;
    field.write_compact_nullable_string(m.cluster_id);
    tags.push_back({0, field.take()});
  }
  w.write_tagged_fields(f, tags);
}

std::expected<fetch_response, codec_error> decode_fetch_response(reader& r, std::int16_t version) {
  if (!fetch_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  fetch_response m;
  m.throttle_time_ms = r.read_int32();  // v1+
  if (version >= 7) {
    m.error = static_cast<error_code>(r.read_int16());
    m.session_id = r.read_int32();
  }
  m.topics = read_array<fetch_topic_response>(r, f, [version, f](reader& in) {
    fetch_topic_response t;
    t.topic = in.read_string(f);
    t.partitions = read_array<fetch_partition_response>(
        in, f, [version, f](reader& p) { return read_partition_response(p, version, f); });
    in.skip_tagged_fields(f);
    return t;
  });
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_fetch_response(const fetch_response& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  w.write_int32(m.throttle_time_ms);
  if (version >= 7) {
    w.write_int16(static_cast<std::int16_t>(m.error));
    w.write_int32(m.session_id);
  }
  write_array(w, f, m.topics, [version, f](writer& out, const fetch_topic_response& t) {
    out.write_string(t.topic, f);
    write_array(out, f, t.partitions,
                [version, f](writer& pw, const fetch_partition_response& p) {
                  write_partition_response(pw, p, version, f);
                });
    out.write_empty_tagged_fields(f);
  });
  w.write_empty_tagged_fields(f);
}

}  // namespace chronik::kafka
