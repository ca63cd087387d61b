// Adding partitions to an existing topic (Kafka's CreatePartitions, KIP-195), as a pure function of
// the replicated state, so that the `__meta` appliers (meta_state.cc) and a broker answering a
// validate-only request (daemon/kafka_service.cc) decide by the very same rules.
//
// Kafka's rules (its controller's createPartitions):
// - the new count must exceed the current one: partitions are never removed, and asking for the
//   count the topic already has is refused too, which is what makes a repeated record harmless;
// - at most max_partitions_per_topic in all;
// - a manual assignment names exactly the new partitions, each with the topic's replication factor
//   of distinct registered brokers (in any state, as CreateTopic's manual assignment);
// - without one, the new partitions are placed exactly as CreateTopic places a topic's: Kafka's
//   round-robin (replica_assignment.h) over the brokers alive when the record applies, seeded by
//   the group-id counter (docs/metadata.md "Determinism rules", rule 2).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>

#include "metadata/meta_state.h"
#include "metadata/replica_assignment.h"

namespace chronik::metadata {

// Kafka's automatic placement of `partitions` new partitions of `replication_factor` replicas over
// the brokers alive in `d`, seeded by d.next_group. CreateTopic and CreatePartitions both place
// through it. Errors: invalid_partitions, invalid_replication_factor (more than the live brokers).
std::expected<replica_assignment, meta_errc> place_on_live_brokers(const meta_data& d, std::int32_t partitions,
                                                                   std::int32_t replication_factor);

// The replicas of the partitions that growing `t` to `count` would add, in index order (the first
// is partition t.partitions.size()). `manual` absent: placed automatically; present: checked.
// Errors: invalid_partitions (count not above the current one, or above the limit),
// invalid_replica_assignment (wrong number of rows, a row of the wrong size, an unknown or repeated
// broker), invalid_replication_factor (fewer live brokers than the topic's replication factor).
std::expected<replica_assignment, meta_errc> plan_partition_growth(const meta_data& d, const topic_record& t,
                                                                   std::int32_t count,
                                                                   const std::optional<replica_assignment>& manual);

}  // namespace chronik::metadata
