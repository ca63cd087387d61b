#include "kafka/protocol/messages/api_versions.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::api_versions;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(api_versions_versions.contains(version), "ApiVersions version out of range");
}

template <class Feature>
std::vector<Feature> read_features(reader& r) {
  constexpr framing f = framing::flexible;
  return read_array<Feature>(r, f, [](reader& in) {
    Feature feature;
    feature.name = in.read_string(f);
    if constexpr (requires { feature.min_version; }) {
      feature.min_version = in.read_int16();
      feature.max_version = in.read_int16();
    } else {
      feature.max_version_level = in.read_int16();
      feature.min_version_level = in.read_int16();
    }
    in.skip_tagged_fields(f);
    return feature;
  });
}

template <class Feature>
std::string write_features(const std::vector<Feature>& features) {
  constexpr framing f = framing::flexible;
  writer w;
  write_array(w, f, features, [](writer& out, const Feature& feature) {
    out.write_string(feature.name, f);
    if constexpr (requires { feature.min_version; }) {
      out.write_int16(feature.min_version);
      out.write_int16(feature.max_version);
    } else {
      out.write_int16(feature.max_version_level);
      out.write_int16(feature.min_version_level);
    }
    out.write_empty_tagged_fields(f);
  });
  return w.take();
}

}  // namespace

std::expected<api_versions_request, codec_error> decode_api_versions_request(reader& r,
                                                                             std::int16_t version) {
  if (!api_versions_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  api_versions_request m;
  if (version >= 3) {
    m.client_software_name = r.read_string(f);
    m.client_software_version = r.read_string(f);
  }
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_api_versions_request(const api_versions_request& m, std::int16_t version, writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  if (version >= 3) {
    w.write_string(m.client_software_name, f);
    w.write_string(m.client_software_version, f);
  }
  w.write_empty_tagged_fields(f);
}

std::expected<api_versions_response, codec_error> decode_api_versions_response(
    reader& r, std::int16_t version) {
  if (!api_versions_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  api_versions_response m;
  m.error = static_cast<error_code>(r.read_int16());
  m.api_keys = read_array<api_version_entry>(r, f, [f](reader& in) {
    api_version_entry e;
    e.key = static_cast<api_key>(in.read_int16());
    e.min_version = in.read_int16();
    e.max_version = in.read_int16();
    in.skip_tagged_fields(f);
    return e;
  });
  if (version >= 1) m.throttle_time_ms = r.read_int32();
  r.read_tagged_fields(f, [&m](std::uint32_t tag, reader& field) {
    switch (tag) {
      case 0: m.supported_features = read_features<supported_feature>(field); break;
      case 1: m.finalized_features_epoch = field.read_int64(); break;
      case 2: m.finalized_features = read_features<finalized_feature>(field); break;
      case 3: m.zk_migration_ready = field.read_bool(); break;
      default: break;
    }
  });
  return finish(r, std::move(m));
}

void encode_api_versions_response(const api_versions_response& m, std::int16_t version,
                                  writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  w.write_int16(static_cast<std::int16_t>(m.error));
  write_array(w, f, m.api_keys, [f](writer& out, const api_version_entry& e) {
    out.write_int16(static_cast<std::int16_t>(e.key));
    out.write_int16(e.min_version);
    out.write_int16(e.max_version);
    out.write_empty_tagged_fields(f);
  });
  if (version >= 1) w.write_int32(m.throttle_time_ms);
  std::vector<tagged_field> tags;
  if (f == framing::flexible) {
    if (!m.supported_features.empty()) tags.push_back({0, write_features(m.supported_features)});
    if (m.finalized_features_epoch != -1) {
      writer field;
      field.write_int64(m.finalized_features_epoch);
      tags.push_back({1, field.take()});
    }
    if (!m.finalized_features.empty()) tags.push_back({2, write_features(m.finalized_features)});
    if (m.zk_migration_ready) tags.push_back({3, std::string(1, '\x01')});
  }
  w.write_tagged_fields(f, tags);
}

}  // namespace chronik::kafka
