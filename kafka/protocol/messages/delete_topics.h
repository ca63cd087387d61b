// DeleteTopics (key 20), versions 0-6; flexible from v4. v5 adds error messages; v6 names topics
// by name or id (topics array of {nullable name, uuid}) instead of a plain name array.
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

inline constexpr version_range delete_topics_versions{0, 6};

struct delete_topic_state {
  // Always set in v0-v5 (encoding a null name there writes ""); v6 may name a topic by id alone.
  std::optional<std::string> name;
  uuid topic_id{};  // v6+
  bool operator==(const delete_topic_state&) const = default;
};

struct delete_topics_request {
  std::vector<delete_topic_state> topics;  // v0-v5: TopicNames; v6+: Topics
  std::int32_t timeout_ms = 60000;
  bool operator==(const delete_topics_request&) const = default;
};

struct deletable_topic_result {
  std::optional<std::string> name;  // nullable from v6
  uuid topic_id{};                  // v6+
  error_code error = error_code::none;
  std::optional<std::string> error_message;  // v5+
  bool operator==(const deletable_topic_result&) const = default;
};

struct delete_topics_response {
  std::int32_t throttle_time_ms = 0;  // v1+
  std::vector<deletable_topic_result> responses;
  bool operator==(const delete_topics_response&) const = default;
};

std::expected<delete_topics_request, codec_error> decode_delete_topics_request(
    reader& r, std::int16_t version);
void encode_delete_topics_request(const delete_topics_request& m, std::int16_t version, writer& w);
std::expected<delete_topics_response, codec_error> decode_delete_topics_response(
    reader& r, std::int16_t version);
void encode_delete_topics_response(const delete_topics_response& m, std::int16_t version,
                                   writer& w);

}  // namespace chronik::kafka
