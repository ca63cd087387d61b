// Replica assignment for a new topic: which brokers replicate each partition.
//
// A pure function, so every `__meta` replica that computes it from the same committed state gets
// the same answer (docs/metadata.md "Determinism"). It follows Kafka's AdminUtils scheme:
// - the first replica of partition p (its preferred leader) walks the brokers round-robin from a
//   per-topic start index, so leadership spreads across topics as well as partitions;
// - followers sit at a shift from the first replica, and the shift grows after every full round of
//   brokers, so the followers of one broker's partitions do not all land on the same other broker;
// - when brokers have racks, the broker list alternates racks and a follower is skipped while its
//   rack already holds a replica and some rack holds none, so every partition spans
//   min(rf, racks) racks and losing one rack loses at most ceil(rf / racks) replicas.
// Brokers with an empty rack count as one more (unnamed) rack.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "consensus/core/types.h"

namespace chronik::metadata {

struct assignment_broker {
  consensus::node_id id;
  std::string rack;  // empty: no rack
};

struct assignment_request {
  std::int32_t partitions = 0;
  std::int32_t replication_factor = 0;
  // Where this topic's round-robin starts. Callers derive it from replicated state (never from
  // local randomness): the state machine passes its group-id counter.
  std::uint64_t start_seed = 0;
};

enum class assignment_errc : std::uint8_t {
  invalid_partitions,          // partitions < 1
  invalid_replication_factor,  // rf < 1, or more than there are brokers
};

// replicas[p] lists partition p's replicas, preferred leader first; all distinct.
using replica_assignment = std::vector<std::vector<consensus::node_id>>;

// `brokers` are the eligible (live) brokers in any order; duplicates by id are a caller bug.
std::expected<replica_assignment, assignment_errc> assign_replicas(std::vector<assignment_broker> brokers,
                                                                   const assignment_request& request);

}  // namespace chronik::metadata
