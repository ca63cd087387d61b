#include "kafka/protocol/messages/describe_configs.h"

#include "base/assert.h"

namespace chronik::kafka {

namespace {

constexpr api_key key = api_key::describe_configs;

void check_version(std::int16_t version) {
  CHRONIK_ASSERT(describe_configs_versions.contains(version),
                 "DescribeConfigs version out of range");
}

describe_configs_entry read_entry(reader& r, std::int16_t version, framing f) {
  describe_configs_entry e;
  e.name = r.read_string(f);
  e.value = r.read_nullable_string(f);
  e.read_only = r.read_bool();
  if (version == 0) {
    e.is_default = r.read_bool();
  } else {
    e.config_source = r.read_int8();
  }
  e.is_sensitive = r.read_bool();
  if (version >= 1) {
    e.synonyms = read_array<describe_configs_synonym>(r, f, [f](reader& in) {
      describe_configs_synonym s;
      s.name = in.read_string(f);
      s.value = in.read_nullable_string(f);
      s.source = in.read_int8();
      in.skip_tagged_fields(f);
      return s;
    });
  }
  if (version >= 3) {
    e.config_type = r.read_int8();
    e.documentation = r.read_nullable_string(f);
  }
  r.skip_tagged_fields(f);
  return e;
}

void write_entry(writer& w, const describe_configs_entry& e, std::int16_t version, framing f) {
  w.write_string(e.name, f);
  w.write_nullable_string(e.value, f);
  w.write_bool(e.read_only);
  if (version == 0) {
    w.write_bool(e.is_default);
  } else {
    w.write_int8(e.config_source);
  }
  w.write_bool(e.is_sensitive);
  if (version >= 1) {
    write_array(w, f, e.synonyms, [f](writer& out, const describe_configs_synonym& s) {
      out.write_string(s.name, f);
      out.write_nullable_string(s.value, f);
      out.write_int8(s.source);
      out.write_empty_tagged_fields(f);
    });
  }
  if (version >= 3) {
    w.write_int8(e.config_type);
    w.write_nullable_string(e.documentation, f);
  }
  w.write_empty_tagged_fields(f);
}

}  // namespace

std::expected<describe_configs_request, codec_error> decode_describe_configs_request(
    reader& r, std::int16_t version) {
  if (!describe_configs_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  describe_configs_request m;
  m.resources = read_array<describe_configs_resource>(r, f, [f](reader& in) {
    describe_configs_resource res;
    res.resource_type = static_cast<config_resource_type>(in.read_int8());
    res.resource_name = in.read_string(f);
    res.configuration_keys =
        read_nullable_array<std::string>(in, f, [f](reader& s) { return s.read_string(f); });
    in.skip_tagged_fields(f);
    return res;
  });
  if (version >= 1) m.include_synonyms = r.read_bool();
  if (version >= 3) m.include_documentation = r.read_bool();
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_describe_configs_request(const describe_configs_request& m, std::int16_t version,
                                     writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  write_array(w, f, m.resources, [f](writer& out, const describe_configs_resource& res) {
    out.write_int8(static_cast<std::int8_t>(res.resource_type));
    out.write_string(res.resource_name, f);
    write_nullable_array(out, f, res.configuration_keys,
                         [f](writer& s, const std::string& k) { s.write_string(k, f); });
    out.write_empty_tagged_fields(f);
  });
  if (version >= 1) w.write_bool(m.include_synonyms);
  if (version >= 3) w.write_bool(m.include_documentation);
  w.write_empty_tagged_fields(f);
}

std::expected<describe_configs_response, codec_error> decode_describe_configs_response(
    reader& r, std::int16_t version) {
  if (!describe_configs_versions.contains(version)) {
    return std::unexpected(unsupported_version_error(key, version));
  }
  const framing f = body_framing(key, version);
  describe_configs_response m;
  m.throttle_time_ms = r.read_int32();
  m.results = read_array<describe_configs_result>(r, f, [version, f](reader& in) {
    describe_configs_result res;
    res.error = static_cast<error_code>(in.read_int16());
    res.error_message = in.read_nullable_string(f);
    res.resource_type = static_cast<config_resource_type>(in.read_int8());
    res.resource_name = in.read_string(f);
    res.configs = read_array<describe_configs_entry>(
        in, f, [version, f](reader& e) { return read_entry(e, version, f); });
    in.skip_tagged_fields(f);
    return res;
  });
  r.skip_tagged_fields(f);
  return finish(r, std::move(m));
}

void encode_describe_configs_response(const describe_configs_response& m, std::int16_t version,
                                      writer& w) {
  check_version(version);
  const framing f = body_framing(key, version);
  w.write_int32(m.throttle_time_ms);
  write_array(w, f, m.results, [version, f](writer& out, const describe_configs_result& res) {
    out.write_int16(static_cast<std::int16_t>(res.error));
    out.write_nullable_string(res.error_message, f);
    out.write_int8(static_cast<std::int8_t>(res.resource_type));
    out.write_string(res.resource_name, f);
    write_array(out, f, res.configs, [version, f](writer& ew, const describe_configs_entry& e) {
      write_entry(ew, e, version, f);
    });
    out.write_empty_tagged_fields(f);
  });
  w.write_empty_tagged_fields(f);
}

}  // namespace chronik::kafka
