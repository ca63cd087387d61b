// The Kafka requests behind `chronik-server topic ...` (daemon/topic_command.h), each one step
// with a one-line error: Metadata for listings and replicas, CreateTopics, DeleteTopics,
// CreatePartitions (KIP-195), IncrementalAlterConfigs (KIP-339) and DescribeConfigs. Any broker
// takes the topic requests (docs/kafka.md "Topics"), so every one goes to the bootstrap broker.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "daemon/kafka_client.h"
#include "daemon/topic_report.h"

namespace chronik::daemon {

// Every topic of the cluster, sorted by name.
std::expected<std::vector<topic_summary>, std::string> list_topics(kafka_client& client);

// The topic's id, replicas and leaders (no offsets, no configs). An unknown topic is an error
// that says so.
std::expected<topic_description, std::string> describe_topic_layout(kafka_client& client, const std::string& topic);

// Every config of the topic with its value and source, sorted by name.
std::expected<std::vector<topic_config_entry>, std::string> describe_topic_configs(kafka_client& client,
                                                                                  const std::string& topic);

std::expected<void, std::string> create_topic(kafka_client& client, const std::string& topic, std::int32_t partitions,
                                              std::int16_t replication_factor, const config_pairs& configs);

std::expected<void, std::string> delete_topic(kafka_client& client, const std::string& topic);

// Grows the topic to `count` partitions in all; the controller places the new ones.
std::expected<void, std::string> grow_partitions(kafka_client& client, const std::string& topic, std::int32_t count);

// Sets `set` and removes `remove` (back to the broker default) in one IncrementalAlterConfigs.
std::expected<void, std::string> alter_topic_configs(kafka_client& client, const std::string& topic,
                                                     const config_pairs& set, const std::vector<std::string>& remove);

}  // namespace chronik::daemon
