// Builders for `__meta` command bytes (MetaCommand in proto/meta.proto), so the controller and the
// Kafka handlers propose records without touching Protobuf. Each returns the bytes to propose;
// meta_state::apply() decides their fate once committed. Building never validates: the rules live
// in one place, the state machine, and run on every replica.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "metadata/meta_state.h"
#include "metadata/replica_assignment.h"

namespace chronik::metadata::commands {

struct broker_registration {
  node_id id;
  std::string uuid;
  std::string kafka_addr;
  std::string rpc_addr;
  std::string rack;  // empty: no rack
  std::vector<listener_endpoint> listeners;  // empty: one PLAINTEXT listener at kafka_addr
};

// A topic by name or by id (Kafka's DeleteTopics accepts either).
using topic_ref = std::variant<std::string, topic_id>;

struct topic_spec {
  std::string name;
  topic_id id;  // chosen by the proposer from real randomness; the appliers never invent it
  std::int32_t partitions = 0;
  std::int32_t replication_factor = 0;
  std::map<std::string, std::string> configs;
  // Empty: the appliers assign replicas (replica_assignment.h). Otherwise assignments[p] are the
  // replicas of partition p, and partitions / replication_factor may be left 0.
  replica_assignment assignments;
};

std::string set_cluster_id(std::string_view cluster_id);
std::string register_broker(const broker_registration& b);
// An empty uuid matches whatever uuid the broker has (an operator's forced removal).
std::string unregister_broker(node_id id, std::string_view uuid);
std::string set_broker_state(node_id id, std::string_view uuid, broker_state state);
// Maintenance mode on (drained) or off for a node id (docs/operations.md "Maintenance: drain").
enum class drain_state : std::uint8_t { undrained, drained };
std::string set_broker_drained(node_id id, drain_state state);
// Decommission of a node (docs/operations.md "Decommissioning a node"): moving starts it, none
// cancels it, done is the `__meta` leader's record that it is finished. An empty uuid names the
// broker's current data directory.
std::string set_broker_decommission(node_id id, std::string_view uuid, decommission_state state);
std::string create_topic(const topic_spec& spec);
std::string delete_topic(const topic_ref& topic);
// `isr`: the leader's in-sync replicas (docs/kafka.md "In-sync replicas"); empty reports none.
std::string set_partition_leader(const topic_id& topic, std::int32_t partition, node_id leader, term_id epoch,
                                 const std::vector<node_id>& isr = {});
// Grows `topic` to `count` partitions in all (Kafka's CreatePartitions). `assignments` empty: the
// appliers place the new partitions; otherwise assignments[i] are the replicas of the i-th new one.
// `nonce` (random, from the proposer) only makes the bytes of each proposal unique.
std::string create_partitions(const topic_ref& topic, std::int32_t count, const replica_assignment& assignments,
                              std::uint64_t nonce);
// Kafka's ElectLeaders: the leaders of `partitions` of `topic` hand leadership to each partition's
// first replica if they apply it before `expires_at_ms` (wall clock). `nonce` as above.
std::string elect_leaders(const topic_id& topic, const std::vector<std::int32_t>& partitions, std::int64_t expires_at_ms,
                          std::uint64_t nonce);
// Kafka's AlterPartitionReassignments for one partition (docs/kafka.md "Moving replicas"):
// `replicas` is the new replica set, preferred leader first; nullopt cancels the move in progress.
// `nonce` as above.
std::string alter_reassignment(const topic_id& topic, std::int32_t partition,
                               const std::optional<std::vector<node_id>>& replicas, std::uint64_t nonce);
// The partition leader's report that its group's voters are `replicas`, the target of the move in
// progress in incarnation `inc`, and that it has no other member.
std::string complete_reassignment(const topic_id& topic, std::int32_t partition, incarnation inc, log_index move_id,
                                  const std::vector<node_id>& replicas);
// The next block of producer ids for broker `id` (KIP-730). `nonce` as above: the proposer finds
// its block in the apply result of the record with exactly these bytes.
std::string allocate_producer_ids(node_id id, std::uint64_t nonce);
// IncrementalAlterConfigs' APPEND or SUBTRACT of `items` on list config `key`; `base` is the list
// edited when the topic does not set the key (its default).
struct list_edit {
  std::string key;
  bool append = true;
  std::vector<std::string> items;
  std::string base;
};

// CreateAcls: adds `bindings` (docs/security.md "Authorization: ACLs"); DeleteAcls: removes exactly
// `bindings`, the ones the broker's filters matched.
std::string create_acls(const std::vector<acl_record>& bindings);
std::string delete_acls(const std::vector<acl_record>& bindings);

// AlterUserScramCredentials for one user (metadata/meta_scram.h): credentials to set and
// mechanisms to delete. `nonce` as in create_partitions.
std::string alter_scram_credentials(std::string_view user, const std::vector<scram_record>& upsertions,
                                    const std::vector<std::int8_t>& deletions, std::uint64_t nonce);

std::string alter_topic_config(const topic_ref& topic, const std::map<std::string, std::string>& set,
                               const std::vector<std::string>& remove, const std::vector<list_edit>& edits = {});
// The cluster-wide broker defaults (MetaAlterClusterConfig), by broker key; an edit's `base` is the
// key's built-in default.
std::string alter_cluster_config(const std::map<std::string, std::string>& set, const std::vector<std::string>& remove,
                                 const std::vector<list_edit>& edits = {});

}  // namespace chronik::metadata::commands
