// Kafka's list-valued configs (cleanup.policy, *.throttled.replicas): comma-separated items, each
// trimmed of spaces. Shared by the Kafka config schema (kafka/handlers/topic_config_schema.h), which
// checks the items, and `__meta` (metadata/meta_state.cc), which applies IncrementalAlterConfigs'
// APPEND and SUBTRACT to the value a key has when the record applies.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chronik::config_list {

inline std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// The items of `value`; a blank value has none.
inline std::vector<std::string> split(std::string_view value) {
  std::vector<std::string> out;
  if (trim_spaces(value).empty()) return out;
  // Bounded by the value's length: each turn consumes at least the comma.
  while (true) {
    const auto comma = value.find(',');
    out.emplace_back(trim_spaces(value.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

inline std::string join(std::span<const std::string> items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ',';
    out += i;
  }
  return out;
}

}  // namespace chronik::config_list
