// DescribeConfigs (key 32), versions 0-4; flexible from v4. v1 adds synonyms and the config
// source (replacing is_default), v3 the config type and documentation.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "kafka/protocol/api.h"
#include "kafka/protocol/error_code.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {

inline constexpr version_range describe_configs_versions{0, 4};

// ConfigResource.Type values on the wire.
enum class config_resource_type : std::int8_t {
  unknown = 0,
  topic = 2,
  broker = 4,
  broker_logger = 8,
};

struct describe_configs_resource {
  config_resource_type resource_type = config_resource_type::topic;
  std::string resource_name;
  std::optional<std::vector<std::string>> configuration_keys;  // null: all
  bool operator==(const describe_configs_resource&) const = default;
};

struct describe_configs_request {
  std::vector<describe_configs_resource> resources;
  bool include_synonyms = false;       // v1+
  bool include_documentation = false;  // v3+
  bool operator==(const describe_configs_request&) const = default;
};

struct describe_configs_synonym {
  std::string name;
  std::optional<std::string> value;
  std::int8_t source = 0;
  bool operator==(const describe_configs_synonym&) const = default;
};

struct describe_configs_entry {
  std::string name;
  std::optional<std::string> value;
  bool read_only = false;
  bool is_default = false;         // v0 only
  std::int8_t config_source = -1;  // v1+
  bool is_sensitive = false;
  std::vector<describe_configs_synonym> synonyms;  // v1+
  std::int8_t config_type = 0;                     // v3+
  std::optional<std::string> documentation;        // v3+
  bool operator==(const describe_configs_entry&) const = default;
};

struct describe_configs_result {
  error_code error = error_code::none;
  std::optional<std::string> error_message;
  config_resource_type resource_type = config_resource_type::topic;
  std::string resource_name;
  std::vector<describe_configs_entry> configs;
  bool operator==(const describe_configs_result&) const = default;
};

struct describe_configs_response {
  std::int32_t throttle_time_ms = 0;
  std::vector<describe_configs_result> results;
  bool operator==(const describe_configs_response&) const = default;
};

std::expected<describe_configs_request, codec_error> decode_describe_configs_request(
    reader& r, std::int16_t version);
void encode_describe_configs_request(const describe_configs_request& m, std::int16_t version,
                                     writer& w);
std::expected<describe_configs_response, codec_error> decode_describe_configs_response(
    reader& r, std::int16_t version);
void encode_describe_configs_response(const describe_configs_response& m, std::int16_t version,
                                      writer& w);

}  // namespace chronik::kafka
