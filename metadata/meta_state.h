// The `__meta` state machine: cluster id, brokers, topics, partitions with their replica sets,
// Raft groups and leaders (issue 4 "State machine"; docs/metadata.md).
//
// Deterministic: the state after applying a command depends only on the state before and the
// command bytes. No clock, no randomness, no I/O, no hash-ordered containers, no exceptions. A
// command that is malformed or breaks a rule is rejected with a meta_errc and leaves the state
// untouched, and since every replica runs the same checks in the same order, all replicas reject it
// with the same error. Group ids and incarnations come from the state, never from local choice.
//
// Shell contract (the `__meta` group's apply loop): call apply() for each committed normal entry
// in log order and skip() for every other committed entry (empty leader entries, configuration
// changes), so applied_index() is the Raft applied index that a snapshot is taken at. Partition
// groups are started from apply_result::created (and, after a restart or restore(), from
// groups_for()), and stopped from apply_result::removed.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/core/types.h"

namespace chronik::metadata {

using consensus::group_id;
using consensus::log_index;
using consensus::node_id;
using consensus::term_id;

// One life of a partition's Raft group: the `__meta` index of the record that created it. A replica
// holding on-disk data of an older incarnation must discard it, not join with it.
struct incarnation {
  std::uint64_t value = 0;
  auto operator<=>(const incarnation&) const = default;
};

// Kafka's topic Uuid. The all-zero id is reserved by Kafka for "no id".
struct topic_id {
  std::array<std::uint8_t, 16> bytes{};
  auto operator<=>(const topic_id&) const = default;
  bool is_zero() const;
  std::string to_bytes() const;
  // Exactly 16 bytes, else nullopt.
  static std::optional<topic_id> from_bytes(std::string_view raw);
};

// `__meta` is group 1. Ids below 1024 are kept for other system groups, so partition groups start
// at 1024 and count up; an id is never reused, even after the topic is deleted.
inline constexpr group_id meta_group_id{1};
inline constexpr group_id first_partition_group_id{1024};

// Limits are part of the replicated rules: changing one changes which commands are accepted, so
// all replicas must run the same values (docs/metadata.md "Determinism").
inline constexpr std::size_t max_brokers = 10'000;
inline constexpr std::size_t max_topics = 100'000;
inline constexpr std::int32_t max_partitions_per_topic = 10'000;
inline constexpr std::int32_t max_replication_factor = 16;
inline constexpr std::size_t max_topic_name_bytes = 249;  // Kafka's limit
inline constexpr std::size_t max_configs_per_topic = 256;
inline constexpr std::size_t max_config_key_bytes = 255;
inline constexpr std::size_t max_config_value_bytes = 4096;
inline constexpr std::size_t max_id_bytes = 64;      // cluster id, node uuid
inline constexpr std::size_t max_field_bytes = 255;  // addresses, rack
// Kafka producer ids go out in blocks of this many per MetaAllocateProducerIds record, as Kafka's
// controller hands them out (KIP-730): one `__meta` write serves a broker's next 1000 producers.
inline constexpr std::int64_t producer_id_block_size = 1000;
// SCRAM credentials (metadata/meta_scram.h): users in all, the user name's bytes, and the bounds
// of a credential, equal to kafka/sasl/scram_credential.h's. Mechanisms are Kafka's ids.
inline constexpr std::size_t max_scram_users = 100'000;
inline constexpr std::size_t max_scram_user_bytes = 255;
inline constexpr std::size_t max_scram_salt_bytes = 128;
inline constexpr std::uint32_t scram_min_iterations = 4096;
inline constexpr std::uint32_t scram_max_iterations = 16384;
inline constexpr std::int8_t scram_sha_256 = 1;
inline constexpr std::int8_t scram_sha_512 = 2;
// ACL bindings (docs/security.md "Authorization: ACLs"): in all, and per CreateAcls/DeleteAcls
// record.
inline constexpr std::size_t max_acl_bindings = 100'000;
inline constexpr std::size_t max_acls_per_command = 10'000;

enum class broker_state : std::uint8_t { alive = 1, dead = 2, draining = 3 };
std::string_view to_string(broker_state s);  // "alive", "dead", "draining"

// Where a broker is in its decommission (MetaSetBrokerDecommission, docs/operations.md
// "Decommissioning a node"): none; moving (its replicas are being moved off, it takes no new one and
// leads nothing); done (it holds no replica and is out of the `__meta` configuration).
enum class decommission_state : std::uint8_t { none = 0, moving = 1, done = 2 };
std::string_view to_string(decommission_state s);  // "none", "moving", "done"

// One advertised Kafka listener of a broker (KIP-103): its name and "host:port".
struct listener_endpoint {
  std::string name;
  std::string addr;
  bool operator==(const listener_endpoint&) const = default;
};
inline constexpr std::size_t max_listeners_per_broker = 16;

struct broker_record {
  node_id id;
  std::string uuid;
  std::string kafka_addr;
  std::string rpc_addr;
  std::string rack;
  broker_state state = broker_state::alive;
  log_index epoch;  // index of the registration that brought this uuid (Kafka's broker epoch)
  // Every advertised listener; empty: one PLAINTEXT listener at kafka_addr (older records).
  std::vector<listener_endpoint> listeners;
  // Maintenance mode (MetaSetBrokerDrained, docs/operations.md "Maintenance: drain"): the node
  // should lead nothing. Kept through re-registrations, including one with a new uuid.
  bool drained = false;
  // Kept through restarts of the same data directory; a new uuid is a new broker and starts at none.
  decommission_state decommission = decommission_state::none;
  // Whether replicas may be placed on this broker (new topics, new partitions, replica moves).
  bool takes_replicas() const { return state == broker_state::alive && decommission == decommission_state::none; }
  // Whether the node should lead nothing: drained, or being decommissioned (its leaderships move
  // away before its replicas do, so no partition loses its leader to a membership change).
  bool leads_nothing() const { return drained || decommission != decommission_state::none; }
  bool operator==(const broker_record&) const = default;
};

struct partition_record {
  std::int32_t partition = 0;
  std::vector<node_id> replicas;  // preferred leader first; during a move the target, then `removing`
  group_id group;
  incarnation inc;
  node_id leader;      // 0: none known
  term_id leader_epoch;  // the Raft term of that leader (docs/design.md "Leader epoch")
  // The in-sync replicas the leader last reported (docs/kafka.md "In-sync replicas"), in replica
  // order; empty until a leader reports them.
  std::vector<node_id> isr;
  // A replica move in progress (Kafka's reassignment, KIP-455; docs/kafka.md "Moving replicas"):
  // the replicas it goes to, empty when none, and the replicas it began from, which a cancel goes
  // back to. Both are kept as such, not derived from `replicas`: after a new target or a cancel,
  // `replicas` also lists nodes that were neither.
  std::vector<node_id> move_to;
  std::vector<node_id> move_from;
  // The index of the record that set `move_to`: the leader's completion report names it, so a late
  // report of an earlier move to the same target cannot end this one.
  log_index move_id;
  // The group's voters differ from its creation voters: a replica without durable state must learn
  // the log from the leader, because bootstrapping other voters would write entries at indexes 1..n
  // that differ from the real log's, which Raft's Log Matching Property (§5.3) cannot detect.
  bool moved = false;
  bool moving() const { return !move_to.empty(); }
  // The replicas a move in progress ends with, else the replicas.
  std::vector<node_id> target() const { return moving() ? move_to : replicas; }
  // KIP-455's lists of a move in progress: target replicas it began without, and replicas outside
  // the target. Empty when no move runs.
  std::vector<node_id> adding() const;
  std::vector<node_id> removing() const;
  bool operator==(const partition_record&) const = default;
};

// One Kafka ACL binding, Kafka's INT8 codes as they are (kafka/acl/acl_types.h gives their
// meaning; `__meta` checks only their ranges and sizes, meta_acls.cc).
struct acl_record {
  std::int8_t resource_type = 0;
  std::string resource_name;
  std::int8_t pattern_type = 0;
  std::string principal;
  std::string host;
  std::int8_t operation = 0;
  std::int8_t permission = 0;
  auto operator<=>(const acl_record&) const = default;
};

// One user's SCRAM credential for one mechanism: salt, iterations, StoredKey, ServerKey (RFC 5802).
struct scram_record {
  std::int8_t mechanism = scram_sha_512;
  std::string salt;
  std::uint32_t iterations = scram_min_iterations;
  std::string stored_key;
  std::string server_key;
  bool operator==(const scram_record&) const = default;
};

struct topic_record {
  std::string name;
  topic_id id;
  std::int32_t replication_factor = 0;
  std::map<std::string, std::string> configs;  // only the keys set explicitly
  std::vector<partition_record> partitions;    // partitions[i].partition == i
  log_index created_index;
  bool operator==(const topic_record&) const = default;
};

// The whole replicated state. Ordered containers only: iteration order is part of the output.
struct meta_data {
  log_index applied;
  std::string cluster_id;
  group_id next_group = first_partition_group_id;
  std::map<node_id, broker_record> brokers;
  std::map<std::string, topic_record, std::less<>> topics;  // by name
  std::map<topic_id, std::string> topic_names;              // index: id -> name
  // The first Kafka producer id not handed out yet: ids below it belong to some block, so none is
  // ever handed out twice. Kafka's producer id is an INT64 that must stay >= 0.
  std::int64_t next_producer_id = 0;
  // SCRAM credentials: user -> mechanism -> credential. A user is listed while it has one.
  std::map<std::string, std::map<std::int8_t, scram_record>, std::less<>> scram_users;
  std::set<acl_record> acls;  // the ACL bindings every broker authorizes from
  // Kafka's cluster-wide dynamic broker defaults, by broker key (log.retention.ms): what a topic
  // that does not set a key takes (MetaAlterClusterConfig). Bounded as one topic's configs.
  std::map<std::string, std::string> cluster_configs;
  bool operator==(const meta_data&) const = default;
};

enum class meta_errc : std::uint8_t {
  malformed_command,           // not a MetaCommand, no command set, or a field out of shape
  cluster_id_mismatch,         // a different cluster id is already set
  invalid_broker,              // bad node id, uuid or address
  broker_uuid_conflict,        // another broker id already has this uuid
  broker_uuid_mismatch,        // the command names an older uuid of this broker
  unknown_broker,
  too_many_brokers,
  invalid_topic_name,
  invalid_topic_id,
  topic_already_exists,        // same name
  topic_id_already_exists,     // same id, other name
  unknown_topic,
  too_many_topics,
  invalid_partitions,
  invalid_replication_factor,  // < 1, > max, or more than the live brokers
  invalid_replica_assignment,
  invalid_config,
  unknown_partition,
  no_reassignment,             // a cancel, but no move is in progress
  invalid_leader,              // not a replica of the partition
  stale_leader_epoch,          // older term, or another leader in the same term
  malformed_snapshot,
  producer_ids_exhausted,      // another block would take producer ids past INT64_MAX
  invalid_scram_credential,    // a user name, mechanism or credential out of shape
  unknown_scram_credential,    // a deletion of a credential the user does not have
  too_many_scram_users,        // the record would take the users past max_scram_users
  invalid_acl,                 // an ACL binding out of range or shape
  too_many_acls,               // the record would take the bindings past max_acl_bindings
  too_few_brokers,             // a decommission would leave fewer brokers than a topic's replicas
  decommission_incomplete,     // done recorded while a partition still lists the broker
  wrong_decommission_state,    // start other than from none, cancel or done other than from moving
};

std::string_view to_string(meta_errc e);

enum class command_kind : std::uint8_t {
  set_cluster_id,
  register_broker,
  unregister_broker,
  set_broker_state,
  create_topic,
  delete_topic,
  set_partition_leader,
  alter_topic_config,
  create_partitions,
  elect_leaders,
  alter_reassignment,
  complete_reassignment,
  allocate_producer_ids,
  alter_scram_credentials,
  create_acls,
  delete_acls,
  set_broker_drained,
  set_broker_decommission,
  alter_cluster_config,
};

// A partition's group as a replica needs it to create or remove that group.
struct partition_ref {
  topic_id topic;
  std::int32_t partition = 0;
  group_id group;
  incarnation inc;
  std::vector<node_id> replicas;  // every node that runs the group (partition_record::replicas)
  // The voters a replica without durable state bootstraps the group with: the creation voters, so
  // that every replica writes identical entries 1..n. Empty once the group has moved: such a
  // replica joins empty and the leader sends it the log (docs/kafka.md "Moving replicas").
  std::vector<node_id> bootstrap;
  // A move in progress: the voters the partition's leader moves the group to, and the move's id for
  // its completion report. Empty: no move.
  std::vector<node_id> target;
  log_index move_id;
  bool operator==(const partition_ref&) const = default;
};

struct apply_result {
  command_kind kind = command_kind::set_cluster_id;
  bool changed = true;                 // false: a valid command that was already in effect
  std::vector<partition_ref> created;  // create_topic, create_partitions: groups to start (where we are a replica)
  std::vector<partition_ref> removed;  // delete_topic: groups to stop and delete
  // alter_topic_config that changed something: the topic's groups, whose replicas must take the
  // new configs now (retention, max.message.bytes, timestamps), not at their next start;
  // alter_cluster_config that changed something: every topic's groups.
  std::vector<partition_ref> reconfigured;
  // elect_leaders: the partitions whose leader should transfer leadership to replicas[0] (as
  // long as the record is not past its expires_at_ms, a wall-clock bound the shell checks).
  std::vector<partition_ref> elect;
  std::int64_t elect_expires_at_ms = 0;
  // alter_reassignment, complete_reassignment: the partition's replica set changed. Where this
  // node is one of ref.replicas the shell starts the group (a no-op when running) and takes the new
  // target; where it is not, it removes the group and its data (a no-op when not running).
  std::vector<partition_ref> moved;
  // allocate_producer_ids: the block handed out, [first, first + count).
  std::int64_t producer_ids_first = 0;
  std::int64_t producer_ids_count = 0;
};

class meta_state {
 public:
  // `index` must be above applied_index(); a repeat is a shell bug and aborts.
  std::expected<apply_result, meta_errc> apply(log_index index, std::string_view command);
  // A committed entry that is not a command (Raft no-op, configuration change).
  void skip(log_index index);

  log_index applied_index() const { return d_.applied; }
  const std::string& cluster_id() const { return d_.cluster_id; }
  const std::map<node_id, broker_record>& brokers() const { return d_.brokers; }
  const broker_record* broker(node_id id) const;
  const std::map<std::string, topic_record, std::less<>>& topics() const { return d_.topics; }
  const topic_record* topic(std::string_view name) const;
  const topic_record* topic(const topic_id& id) const;
  const partition_record* partition(const topic_id& id, std::int32_t partition) const;
  // Every partition group `node` replicates, by topic name then partition: what a restarted node
  // (or one that just restored a snapshot) must be running.
  std::vector<partition_ref> groups_for(node_id node) const;
  // Whether `node`, whose data directory holds `uuid`, must start its replica of `ref` as a
  // rejoining one when it has no durable state for it (docs/raft.md "Rejoining replicas"): the
  // partition (its incarnation: partitions added later are younger than their topic) is older than
  // the registration of this uuid (or the uuid is not registered yet), so
  // an earlier life of this node id stored and acknowledged its entries and that log is gone. A
  // partition with one replica has nobody to catch up from: it starts fresh, its data lost with
  // the disk.
  bool replica_rejoins(node_id node, std::string_view uuid, const partition_ref& ref) const;
  const std::set<acl_record>& acls() const { return d_.acls; }
  const std::map<std::string, std::string>& cluster_configs() const { return d_.cluster_configs; }
  const std::map<std::string, std::map<std::int8_t, scram_record>, std::less<>>& scram_users() const {
    return d_.scram_users;
  }
  const meta_data& data() const { return d_; }

  // Canonical bytes of the whole state (a MetaSnapshot): equal states give equal bytes.
  std::string snapshot() const;
  // All or nothing: on error the state is unchanged.
  std::expected<void, meta_errc> restore(std::string_view bytes);

 private:
  meta_data d_;
};

}  // namespace chronik::metadata
