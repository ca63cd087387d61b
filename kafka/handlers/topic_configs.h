// The topic configs chronik knows, with their defaults: what DescribeConfigs reports for a topic
// and what the partition replicas read (retention). Values set on a topic override them.
#pragma once

#include <array>
#include <string_view>

namespace chronik::kafka {

struct topic_config_default {
  std::string_view name;
  std::string_view value;
};

// Kafka's defaults for the configs clients read; retention is enforced by the partition replicas.
inline constexpr std::array<topic_config_default, 8> topic_config_defaults{{
    {"cleanup.policy", "delete"},
    {"compression.type", "producer"},
    {"max.message.bytes", "1048588"},
    {"message.timestamp.type", "CreateTime"},
    {"min.insync.replicas", "1"},
    {"retention.bytes", "-1"},
    {"retention.ms", "604800000"},
    {"segment.bytes", "1073741824"},
}};

}  // namespace chronik::kafka
