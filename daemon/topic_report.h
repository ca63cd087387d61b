// The pure parts of `chronik-server topic ...` (daemon/topic_command.h): parsing `--config k=v`,
// and printing topic listings and descriptions as tables or JSON. No I/O: topic_queries.cc asks
// the cluster over the Kafka protocol and hands the answers here.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace chronik::daemon {

// "--config k=v" pairs in order. A name is non-empty and without '='; the value may be empty and
// may contain '='. A name given twice is refused (which one was meant?).
using config_pairs = std::vector<std::pair<std::string, std::string>>;
std::expected<config_pairs, std::string> parse_config_assignments(const std::vector<std::string>& args);

struct topic_summary {
  std::string name;
  std::int32_t partitions = 0;
  std::int32_t replication_factor = 0;  // the most replicas any partition has
  bool internal = false;
};

struct partition_detail {
  std::int32_t partition = 0;
  std::int32_t leader = -1;  // -1: none
  std::vector<std::int32_t> replicas;
  std::vector<std::int32_t> isr;
  std::vector<std::int32_t> offline;
  std::optional<std::int64_t> log_start;  // ListOffsets earliest; nullopt: unknown
  std::optional<std::int64_t> log_end;    // ListOffsets latest (the high watermark)
};

struct topic_config_entry {
  std::string name;
  std::optional<std::string> value;  // null: sensitive or unset
  std::string source;                // "topic", "broker", "default", ... (config_source_name)
  bool read_only = false;
};

struct topic_description {
  std::string name;
  std::string topic_id;  // hex, empty when the broker does not say
  bool internal = false;
  std::vector<partition_detail> partitions;  // sorted by partition
  std::vector<topic_config_entry> configs;   // sorted by name
};

// Kafka's DescribeConfigs config_source as a word ("topic" for a value set on the topic).
std::string config_source_name(std::int8_t source);

std::string format_topic_list(const std::vector<topic_summary>& topics);
nlohmann::json topic_list_json(const std::vector<topic_summary>& topics);

std::string format_topic_description(const topic_description& d);
nlohmann::json topic_description_json(const topic_description& d);

// "1,2,3", or "-" for none.
std::string format_ids(const std::vector<std::int32_t>& ids);

}  // namespace chronik::daemon
