// ApiVersions (key 18), versions 0-3; flexible from v3. The response always travels with response
// header v0 (api.h), but its v3 body is flexible.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "kafka/protocol/api.h"
#include "kafka/protocol/error_code.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {

inline constexpr version_range api_versions_versions{0, 3};

struct api_versions_request {
  std::string client_software_name;     // v3+
  std::string client_software_version;  // v3+
  bool operator==(const api_versions_request&) const = default;
};

struct api_version_entry {
  api_key key = api_key::produce;
  std::int16_t min_version = 0;
  std::int16_t max_version = 0;
  bool operator==(const api_version_entry&) const = default;
};

struct supported_feature {
  std::string name;
  std::int16_t min_version = 0;
  std::int16_t max_version = 0;
  bool operator==(const supported_feature&) const = default;
};

struct finalized_feature {
  std::string name;
  std::int16_t max_version_level = 0;
  std::int16_t min_version_level = 0;
  bool operator==(const finalized_feature&) const = default;
};

struct api_versions_response {
  error_code error = error_code::none;
  std::vector<api_version_entry> api_keys;
  std::int32_t throttle_time_ms = 0;  // v1+
  // v3+ tagged fields; written only when they differ from their defaults.
  std::vector<supported_feature> supported_features;  // tag 0
  std::int64_t finalized_features_epoch = -1;          // tag 1
  std::vector<finalized_feature> finalized_features;  // tag 2
  bool zk_migration_ready = false;                    // tag 3
  bool operator==(const api_versions_response&) const = default;
};

std::expected<api_versions_request, codec_error> decode_api_versions_request(reader& r,
                                                                             std::int16_t version);
void encode_api_versions_request(const api_versions_request& m, std::int16_t version, writer& w);
std::expected<api_versions_response, codec_error> decode_api_versions_response(
    reader& r, std::int16_t version);
void encode_api_versions_response(const api_versions_response& m, std::int16_t version,
                                  writer& w);

}  // namespace chronik::kafka
