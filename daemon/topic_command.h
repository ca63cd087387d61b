// `chronik-server topic create|list|describe|alter|delete`: topic administration over the Kafka
// protocol (daemon/kafka_client.h), like `group` (docs/operations.md "Topics"). Any broker takes
// topic requests, so everything goes to --bootstrap; offsets are asked of each partition's leader.
//
// - create NAME --partitions N --replication-factor R [--config K=V ...]: CreateTopics.
// - list: Metadata of every topic: name, partition count, replication factor, internal or not.
// - describe NAME: per partition the leader, replicas, in-sync replicas, offline replicas and the
//   log start and end offsets (ListOffsets earliest and latest at the leader), then every config
//   with its value and source (DescribeConfigs).
// - alter NAME [--partitions N] [--config K=V ...] [--delete-config K ...]: CreatePartitions to N
//   in all (KIP-195), then IncrementalAlterConfigs SET / DELETE (KIP-339).
// - delete NAME: DeleteTopics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chronik::daemon {

struct topic_command_options {
  std::string bootstrap = "127.0.0.1:9092";  // any broker's Kafka address
  bool json = false;
  std::string topic;                          // every subcommand but list
  std::optional<std::int32_t> partitions;     // create (required), alter
  std::optional<std::int32_t> replication_factor;  // create (required)
  std::vector<std::string> configs;           // create, alter: K=V
  std::vector<std::string> delete_configs;    // alter: K
};

// Each returns the process exit code: 0 done, 1 the cluster refused or could not be reached (one
// line on stderr), 2 a bad option.
int run_topic_create(const topic_command_options& opts);
int run_topic_list(const topic_command_options& opts);
int run_topic_describe(const topic_command_options& opts);
int run_topic_alter(const topic_command_options& opts);
int run_topic_delete(const topic_command_options& opts);

}  // namespace chronik::daemon
