// Named values of Kafka message fields. The descriptions in schemas/kafka/*.api declare a field's
// wire type (int8, int64, ...) and the generator writes structs, not constants or enumerations
// (docs/kafka-schemas.md), so the values that handlers and tests spell by name live here, as
// constants of exactly the field's type: a struct member compares with and is set from them
// without casts. Each value is a fact of the public Kafka protocol.
#pragma once

#include <cstdint>

namespace chronik::kafka {

// ListOffsets (schemas/kafka/list_offsets.api): special values of a partition's `timestamp`.
inline constexpr std::int64_t list_offsets_latest = -1;         // the high watermark
inline constexpr std::int64_t list_offsets_earliest = -2;       // the log start offset
inline constexpr std::int64_t list_offsets_max_timestamp = -3;  // v7+ (KIP-734)
inline constexpr std::int64_t list_offsets_earliest_local = -4;  // v8+ (KIP-405): the local log start

// DescribeConfigs v1+ and CreateTopics v5+ (schemas/kafka/describe_configs.api, create_topics.api):
// `config_source`, Kafka's DescribeConfigsResponse.ConfigSource (KIP-226).
namespace config_source {
inline constexpr std::int8_t unknown = 0;
inline constexpr std::int8_t dynamic_topic = 1;
inline constexpr std::int8_t dynamic_broker = 2;
inline constexpr std::int8_t dynamic_default_broker = 3;
inline constexpr std::int8_t static_broker = 4;
inline constexpr std::int8_t default_config = 5;
}  // namespace config_source

// FindCoordinator (schemas/kafka/find_coordinator.api): `key_type`, v1+ (KIP-98).
inline constexpr std::int8_t coordinator_key_group = 0;
inline constexpr std::int8_t coordinator_key_transaction = 1;

// DescribeConfigs (schemas/kafka/describe_configs.api): `resource_type`, Kafka's
// ConfigResource.Type. A namespace of int8 constants rather than an enum, because the generated
// member is a plain std::int8_t: `config_resource_type::topic` reads the same either way.
namespace config_resource_type {
inline constexpr std::int8_t unknown = 0;
inline constexpr std::int8_t topic = 2;
inline constexpr std::int8_t broker = 4;
inline constexpr std::int8_t broker_logger = 8;
}  // namespace config_resource_type

// IncrementalAlterConfigs (schemas/kafka/incremental_alter_configs.api): `config_operation`,
// Kafka's AlterConfigOp.OpType (KIP-339). APPEND and SUBTRACT apply to list configs only.
namespace config_operation {
inline constexpr std::int8_t set = 0;
inline constexpr std::int8_t remove = 1;  // Kafka's DELETE
inline constexpr std::int8_t append = 2;
inline constexpr std::int8_t subtract = 3;
}  // namespace config_operation

}  // namespace chronik::kafka
