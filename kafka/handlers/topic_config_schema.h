// Every topic config chronik knows (Kafka's LogConfig keys), with Kafka's type, default and valid
// values, and what chronik does with it. CreateTopics, AlterConfigs and IncrementalAlterConfigs
// check values here before anything is proposed to `__meta`; DescribeConfigs reports the defaults
// and types from here; the partition replicas read the enforced keys (partition_config::from_topic).
//
// Pure: no I/O. The `__meta` state machine does not call it: the rules of what a topic may hold
// belong to the Kafka front end, and a replicated record must apply the same way in every release
// (docs/kafka.md "Configs").
#pragma once

#include "base/config_list.h"
#include <cstdint>
#include <expected>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chronik::kafka {

// Kafka's ConfigType, as DescribeConfigs v3+ reports it (KIP-569); the values are the wire's.
enum class config_type : std::int8_t {
  unknown = 0,
  boolean = 1,
  string = 2,
  int32 = 3,  // Kafka's INT
  int16 = 4,  // Kafka's SHORT
  int64 = 5,  // Kafka's LONG
  float64 = 6,  // Kafka's DOUBLE
  list = 7,
  class_name = 8,
  password = 9,
};

// What chronik does with a key's value.
enum class config_support : std::uint8_t {
  // Read by the partition replicas and acted on, live: a change reaches every replica.
  enforced,
  // Any value Kafka accepts is stored and reported, but governs nothing in chronik: the partition's
  // Raft log is its storage (no segments, indexes or flush schedule), or the key only tunes a
  // feature that is off (tiered storage). Refusing them would break tools that set them.
  no_effect,
  // Only Kafka's default is accepted: another value selects behaviour chronik does not have
  // (broker-side recompression, unclean election, tiered storage).
  default_only,
};

struct topic_config_key {
  std::string_view name;
  config_type type = config_type::string;
  std::string_view default_value;
  // int32/int64: the inclusive range Kafka's validator allows; float64: the same, as numbers.
  std::int64_t min = INT64_MIN;
  std::int64_t max = INT64_MAX;
  // string: the only values allowed; list: the values each item may take. Empty: anything.
  std::span<const std::string_view> allowed;
  config_support support = config_support::no_effect;
  std::string_view broker_synonym;  // the broker's default for it (log.retention.ms), or empty
  std::string_view doc;             // one line for DescribeConfigs' documentation (v3+)
};

// Every known key, sorted by name.
std::span<const topic_config_key> topic_config_keys();
const topic_config_key* find_topic_config(std::string_view name);

// Whether `value` may be set for `name`: a known key, a value of its type inside its range or
// allowed set, and one chronik supports. The error is one line for Kafka's error_message.
std::expected<void, std::string> validate_topic_config(std::string_view name, std::string_view value);
// The first refusal among `configs`, if any.
std::expected<void, std::string> validate_topic_configs(const std::map<std::string, std::string>& configs);


}  // namespace chronik::kafka
