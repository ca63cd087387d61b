// The one node id type of the cluster (docs/design.md "Identity"): configured by the operator,
// unique within a cluster, the same number in gossip, in Raft configurations, in `__meta` and, as
// the broker id, in Kafka. 0 is never a node: it means "none" (no leader, no vote).
//
// 32 bits because that is what the operator may configure and what gossip carries; Raft's on-disk
// and wire forms keep a 64-bit field, and Kafka's broker id is an int32, so each of those edges
// converts with the checked helpers below rather than a bare cast.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>

#include "base/strong_id.h"

namespace chronik {

using node_id = strong_id<struct node_id_tag, std::uint32_t>;

inline constexpr node_id no_node{};

// From a wider stored or received number: nullopt when it does not fit, so a corrupt or hostile
// value is refused at the edge instead of being truncated into some other node's id.
constexpr std::optional<node_id> node_id_from_u64(std::uint64_t raw) {
  if (raw > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return node_id{static_cast<std::uint32_t>(raw)};
}

// Kafka's broker id (an INT32 in every API that carries one): nullopt for ids above INT32_MAX,
// which Kafka cannot name. Used only at the Kafka edge (kafka/handlers).
constexpr std::optional<std::int32_t> kafka_broker_id(node_id id) {
  if (id.value() > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max())) return std::nullopt;
  return static_cast<std::int32_t>(id.value());
}
// A negative broker id (-1, "no leader" or "any broker") is no node.
constexpr node_id node_id_from_kafka(std::int32_t broker) {
  return broker < 0 ? no_node : node_id{static_cast<std::uint32_t>(broker)};
}

}  // namespace chronik
