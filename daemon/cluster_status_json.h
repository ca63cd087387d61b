// The /v1/cluster body (docs/operations.md "Reading the status"), built from plain copies that the
// node gathers on the io thread once its linearizable read of `__meta` has finished or failed
// (daemon/node.cc). Pure: no I/O, no clock, so a unit test checks every field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gossip/net/gossip_node.h"
#include "kafka/handlers/broker_context.h"
#include "metadata/core/bootstrap.h"

namespace chronik::daemon {

struct broker_status {
  std::uint64_t node_id = 0;
  std::string uuid;
  std::string kafka_addr;
  std::string rpc_addr;
  std::string state;  // alive, dead or draining, as `__meta` records it
  bool drained = false;        // maintenance mode (docs/operations.md "Maintenance: drain")
  std::string decommission = "none";  // none, moving or done ("Decommissioning a node")
};

// A copy of what this node knows of its cluster, for /v1/cluster and /health.
struct cluster_status {
  std::string cluster_id;      // empty while this node is not in a cluster
  bool running = false;        // the `__meta` group is hosted here
  std::uint64_t meta_leader = 0;  // 0: unknown
  std::uint64_t term = 0;
  std::uint64_t commit = 0;
  std::uint64_t applied = 0;
  std::string role;            // this node's Raft role in `__meta`
  std::vector<std::uint64_t> voters;
  std::vector<std::uint64_t> learners;
  std::vector<broker_status> brokers;
};

// The /v1/cluster JSON: cluster_id, meta_leader, term, commit, applied, role, voters, learners,
// brokers [{node_id, uuid, kafka_addr, rpc_addr, state, drained, decommission}].
nlohmann::json cluster_status_to_json(const cluster_status& s);

// A partition without a live leader or with fewer in-sync replicas than replicas, for
// `cluster health` (daemon/cluster_health.h).
struct partition_problem {
  std::string topic;
  std::int32_t partition = 0;
  std::uint64_t leader = 0;  // 0: none
  std::vector<std::uint64_t> replicas;
  std::vector<std::uint64_t> isr;
  bool leaderless = false;        // no leader known, or the leader's broker is dead or fenced
  bool under_replicated = false;  // |isr| < |replicas|
};

// The partition's problem, or nullopt when it has a live leader and every replica in sync.
std::optional<partition_problem> partition_problem_of(const std::string& topic, const kafka::partition_info& p);

// At most this many problem partitions are listed in /v1/cluster; the counts cover all of them.
inline constexpr std::size_t max_listed_partition_problems = 100;

struct cluster_view {
  cluster_status status;          // meta_service::status()
  bool linearizable = false;      // the ReadIndex round finished; otherwise a local read
  std::string state_hash;         // meta_service::state_hash()
  metadata::formation formation;  // this node's formation state
  std::string joining;            // the cluster this node asks to join, or empty
  std::vector<gossip::member_snapshot> members;  // gossip's member list, for "nodes"
  nlohmann::json load;            // meta_service::load_status()
  // Partitions in `__meta`, and those with fewer in-sync replicas than replicas (Kafka's
  // UnderReplicatedPartitions; docs/kafka.md "In-sync replicas").
  std::uint64_t partitions = 0;
  std::uint64_t under_replicated_partitions = 0;
  std::uint64_t leaderless_partitions = 0;
  std::vector<partition_problem> partition_problems;  // the first max_listed_partition_problems
  std::vector<std::uint64_t> fenced;  // nodes whose WAL failed (docs/storage.md "Disk faults")
  // For "waiting" (daemon/formation_progress.h): this node's id, bootstrap_expect and seeds.
  std::uint64_t self_id = 0;
  std::uint32_t bootstrap_expect = 0;
  std::vector<std::string> seeds;
};

// cluster_status_to_json's fields (a dead broker that gossip shows `left` under the same uuid is
// shown `left`), then "read" ("linearizable" or "local"), "state_hash",
// "formation" (its text form), "joining" (only while joining), "nodes" (every member's formation
// state as gossip shows it), "load", "partitions", "under_replicated_partitions",
// "leaderless_partitions", "partition_problems" (each {topic, partition, leader, replicas, isr,
// leaderless, under_replicated}), "fenced", and "waiting" (what formation waits for; only while
// this node is not a member).
nlohmann::json cluster_status_json(const cluster_view& v);

}  // namespace chronik::daemon
