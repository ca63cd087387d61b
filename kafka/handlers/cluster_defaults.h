// The cluster-wide broker defaults of topic configs: Kafka's dynamic default broker configs
// (`kafka-configs --entity-type brokers --entity-default --alter --add-config log.retention.ms=...`),
// held in `__meta` (MetaAlterClusterConfig) under their broker names. Which broker keys may be set
// there, the values they accept, and the configs a topic is governed by once they are set
// (docs/kafka.md "Cluster-wide defaults").
//
// A topic's own value wins; a key it does not set takes the cluster default of its broker synonym
// (retention.ms <- log.retention.ms); a key neither sets takes Kafka's built-in default
// (topic_config_schema.h). Internal topics take no cluster default: their configs are fixed
// (retention off; the coordinators trim them).
//
// Pure: no I/O.
#pragma once

#include <expected>
#include <map>
#include <string>
#include <string_view>

#include "kafka/handlers/topic_config_schema.h"

namespace chronik::kafka {

// The topic key whose broker-side default `broker_key` is (log.retention.ms -> retention.ms), or
// nullptr: only those may be set cluster-wide.
const topic_config_key* find_cluster_default(std::string_view broker_key);

// Whether `value` may be the cluster-wide default `broker_key`: the broker synonym of a topic key,
// with a value that key accepts on a topic. The error is one line for Kafka's error_message.
std::expected<void, std::string> validate_cluster_default(std::string_view broker_key, std::string_view value);

// The configs topic `name` is governed by, under topic key names: `own` (set on the topic), and for
// every key it does not set, the value of its broker synonym in `cluster`.
std::map<std::string, std::string> topic_configs_in_effect(std::string_view name,
                                                            const std::map<std::string, std::string>& own,
                                                            const std::map<std::string, std::string>& cluster);

// The cluster default that governs topic key `k` of topic `name`, when one is set and applies.
const std::string* cluster_default_for(std::string_view name, const topic_config_key& k,
                                       const std::map<std::string, std::string>& cluster);

}  // namespace chronik::kafka
