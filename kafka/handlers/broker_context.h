// What the Kafka handlers need of the node (docs/design.md "Kafka data path"): the cluster as
// `__meta` and the Raft groups show it, and the actions that change it. kafka/handlers speak only
// through this interface; the daemon implements it on the io thread (daemon/kafka_service.h), and
// tests can implement it without a cluster. Outcomes are plain enums: Kafka error codes are chosen
// only in kafka/handlers (docs/design.md "Errors").
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/node_id.h"
#include "kafka/acl/acl_authorizer.h"
#include "kafka/groups/group_coordinator.h"
#include "kafka/handlers/scram_users.h"
#include "kafka/handlers/topic_config_schema.h"
#include "kafka/protocol/batch_validation.h"
#include "kafka/sasl/sasl_session.h"
#include "kafka/txn/txn_coordinator.h"

namespace chronik::kafka {

class partition_manager;  // kafka/partition/partition_manager.h

// One advertised listener of a broker: its name ("PLAINTEXT", "SSL", "INTERNAL") and endpoint.
struct broker_endpoint {
  std::string listener;
  std::string host;
  std::int32_t port = 0;
  bool operator==(const broker_endpoint&) const = default;
};

// Nodes are chronik::node_id here, as everywhere in the node; the handlers turn them into Kafka's
// INT32 broker ids with kafka_id() when they write a response (docs/design.md "Identity").
struct broker_info {
  chronik::node_id id;
  std::string host;  // the inter-broker listener's endpoint
  std::int32_t port = 0;
  std::optional<std::string> rack;
  // Every advertised listener (KIP-103); empty: one PLAINTEXT listener at host:port. Handlers
  // answer the endpoint of the request's listener (kafka/handlers/listener_endpoints.h).
  std::vector<broker_endpoint> endpoints;
};

struct partition_info {
  std::int32_t partition = 0;
  chronik::node_id leader;         // no_node: none known
  std::int32_t leader_epoch = -1;  // the leader's Raft term (docs/design.md "Leader epoch")
  std::vector<chronik::node_id> replicas;
  std::vector<chronik::node_id> isr;        // replicas whose broker is alive
  std::vector<chronik::node_id> offline;    // replicas whose broker is dead
};

struct topic_info {
  std::string name;
  std::array<std::uint8_t, 16> id{};
  std::vector<partition_info> partitions;
  std::map<std::string, std::string> configs;  // set explicitly on the topic
};

struct topic_request {
  std::string name;
  std::int32_t partitions = -1;          // -1: the broker default
  std::int16_t replication_factor = -1;  // -1: the broker default
  std::vector<std::vector<chronik::node_id>> assignments;  // manual: assignments[p] = replicas of p
  std::map<std::string, std::string> configs;
  // The broker's own topic (`__consumer_offsets`, daemon/kafka_groups.cc). A client's request
  // never sets it, and internal names are refused without it.
  bool internal = false;
};

// Topics the brokers keep for themselves, which clients may read about but not create, delete,
// grow, reconfigure, produce to or trim (docs/kafka.md "Durable groups"; docs/transactions.md
// "The `__transaction_state` topic").
inline bool is_internal_topic(std::string_view name) {
  return name == offsets_topic_name || name == transaction_state_topic_name;
}

enum class topic_outcome : std::uint8_t {
  done,
  already_exists,
  unknown_topic,
  invalid_name,
  invalid_partitions,
  invalid_replication_factor,
  invalid_assignment,
  invalid_config,
  not_controller,  // this node cannot propose to `__meta` now
  timed_out,       // proposed, but not applied within the request's timeout
};

struct topic_result {
  std::string name;
  topic_outcome outcome = topic_outcome::done;
  std::string message;  // for the log and Kafka's error_message
};

// One topic of a CreatePartitions request (KIP-195).
struct partitions_request {
  std::string name;
  std::int32_t count = 0;  // the new total partition count
  // Absent: the controller places the new partitions; else rows[i] are the replicas of the i-th new
  // one (an empty list names none, which is refused for any growth).
  std::optional<std::vector<std::vector<chronik::node_id>>> assignments;
};

// One partition of an ElectLeaders request whose leadership should move to its preferred replica
// (the first of its replicas, KIP-183), which the handler found alive, in sync and not leading.
struct election_request {
  std::string topic;
  std::int32_t partition = 0;
  chronik::node_id preferred;
};

enum class election_outcome : std::uint8_t {
  elected,          // the preferred replica leads now
  not_needed,       // it already led
  unavailable,      // it is not in sync (or not a replica any more) at the leader
  unknown,          // the topic or partition is gone
  not_controller,   // this node cannot propose to `__meta` now
  timed_out,        // not leading within the request's timeout
  drained,          // its node is in maintenance mode and takes no leadership (docs/operations.md)
};

// One partition of an AlterPartitionReassignments request (KIP-455): its new replica set, or
// nullopt to cancel the move in progress. The handler checked the shape (no duplicates, ids Kafka
// can name); `__meta` checks the rest when it applies the record (docs/kafka.md "Moving replicas").
struct reassignment_request {
  std::string topic;
  std::int32_t partition = 0;
  std::optional<std::vector<chronik::node_id>> replicas;
};

enum class reassignment_outcome : std::uint8_t {
  accepted,         // `__meta` recorded the target; the partition's leader now moves the replicas
  unknown,          // no such topic or partition
  invalid_replicas, // empty, duplicated, unregistered or too many brokers
  no_reassignment,  // a cancel, but no move is in progress
  not_controller,   // this node cannot propose to `__meta` now
  timed_out,        // proposed, but not applied within the request's timeout
};

struct reassignment_result {
  reassignment_outcome outcome = reassignment_outcome::accepted;
  std::string message;  // for Kafka's error_message
};

// Why no producer id was handed out (InitProducerId; docs/kafka.md "Producer ids").
// kafka/handlers/producer_id_errors.h turns it into Kafka's error code.
enum class producer_id_outcome : std::uint8_t {
  not_available,  // this node cannot get a block from `__meta` now (no leader, not registered)
  busy,           // too many InitProducerId requests already wait for the next block
  timed_out,      // the next block was not applied here within the timeout
  exhausted,      // `__meta` has handed out every INT64 producer id
};

// A partition whose replicas are moving (ListPartitionReassignments): `replicas` holds every
// replica taking part, the target first; `adding` and `removing` as KIP-455 defines them.
struct reassignment_info {
  std::string topic;
  std::int32_t partition = 0;
  std::vector<chronik::node_id> replicas;
  std::vector<chronik::node_id> adding;
  std::vector<chronik::node_id> removing;
};

// One replica of the `__meta` Raft group as DescribeQuorum reports it (KIP-595, KIP-836, KIP-853).
struct quorum_replica {
  chronik::node_id id;
  std::array<std::uint8_t, 16> directory_id{};  // the node's data-directory uuid; zero when unknown
  std::int64_t log_end_offset = -1;     // the leader's match index for it (its own last index); -1 unknown
  std::int64_t last_fetch_ms = -1;      // wall clock; -1 unknown
  std::int64_t last_caught_up_ms = -1;  // wall clock; -1 unknown
};

// The client id chronik nodes put in the Kafka requests they send each other (transaction markers,
// a forwarded DescribeQuorum): a DescribeQuorum carrying it is answered from the node's own view and
// never forwarded again, so two nodes that each take the other for the `__meta` leader cannot
// forward in a circle.
inline constexpr std::string_view inter_broker_client_id = "chronik-broker";

// The `__meta` group as this node sees it: KRaft's metadata quorum (docs/kafka.md "The metadata
// quorum"). The replicas' progress is known only where the leader runs.
struct quorum_info {
  chronik::node_id leader;           // no_node: none known
  std::int32_t leader_epoch = -1;    // the Raft term
  std::int64_t high_watermark = -1;  // the commit index
  bool leader_here = false;
  std::vector<quorum_replica> voters;
  std::vector<quorum_replica> observers;  // learners
};

// This node's data directory for DescribeLogDirs (KIP-113, KIP-827): one log dir holds every
// partition replica here.
struct log_dir_info {
  struct replica {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t size_bytes = 0;  // the record batches the replica's log holds (its index's count)
  };
  std::string path;
  bool failed = false;            // the WAL failed here (docs/storage.md "Disk faults")
  std::int64_t total_bytes = -1;  // of the file system holding it (statvfs); -1 unknown
  std::int64_t usable_bytes = -1;
  std::vector<replica> replicas;
};

// How a CreateAcls or DeleteAcls change to `__meta` ended.
enum class acl_outcome : std::uint8_t {
  done,
  invalid,         // `__meta` refused the record (a binding out of shape, too many bindings)
  not_controller,  // this node cannot propose to `__meta` now
  timed_out,       // proposed, but not applied within the timeout
};

struct broker_defaults {
  std::int32_t partitions = 1;           // Kafka's num.partitions
  std::int16_t replication_factor = 3;   // capped at the live brokers when topics are auto-created
  bool auto_create_topics = true;        // Metadata creates unknown topics it is asked about
  // Topics one Metadata request may auto-create; the others it names are answered as if
  // auto-creation were off, and the client's retry creates them (docs/kafka.md "Metadata").
  std::int32_t auto_create_max_per_request = 16;
};

// An APPEND or SUBTRACT of IncrementalAlterConfigs (KIP-339) on a list config. `__meta` applies
// it to the value the key has when its record applies, so two concurrent edits of one list both
// take effect instead of the later overwriting the earlier.
struct config_list_edit {
  std::string key;
  bool append = true;  // false: subtract
  std::vector<std::string> items;
  std::string base;    // the key's default: the list edited when the topic does not set the key
};

// One topic's config change (AlterConfigs, IncrementalAlterConfigs), already checked against
// topic_config_schema.h: keys to set, keys to return to their defaults, and list edits. A key of
// `edits` is also in `set`, with the value the edits give on this node's view, which is what the
// schema checked; `__meta` recomputes it from the edits when it applies the change.
struct topic_config_change {
  std::string topic;
  std::map<std::string, std::string> set;
  std::vector<std::string> remove;
  std::vector<config_list_edit> edits;
};

// A setting of this broker under Kafka's name, as DescribeConfigs reports it (resource type 4).
struct broker_config {
  std::string name;
  std::string value;
  config_type type = config_type::string;
  bool operator_set = false;  // set in the node's config file or command line, else a default
};

// The Kafka edge of a node id: the INT32 broker id, or Kafka's -1 for no node and for an id
// Kafka cannot name (the config refuses those, and `__meta` registers none).
inline std::int32_t kafka_id(chronik::node_id id) {
  return id == chronik::no_node ? -1 : kafka_broker_id(id).value_or(-1);
}

class broker_context {
 public:
  virtual ~broker_context() = default;

  virtual chronik::node_id node_id() const = 0;
  virtual std::optional<std::string> cluster_id() const = 0;
  virtual chronik::node_id controller_id() const = 0;  // the `__meta` leader, no_node when unknown
  virtual std::vector<broker_info> brokers() const = 0;  // registered and alive
  virtual std::vector<topic_info> topics() const = 0;
  virtual std::optional<topic_info> topic(std::string_view name) const = 0;
  // Whether this node knows a topic of that name, without describing it. Default: topic().
  virtual bool has_topic(std::string_view name) const { return topic(name).has_value(); }
  // The name of the topic with this id (KIP-516), or nullopt when none has it. Fetch v13+ asks it
  // for every topic of every request. Default: a scan of topics(); the daemon looks the id up in
  // `__meta`'s index.
  virtual std::optional<std::string> topic_name(const std::array<std::uint8_t, 16>& id) const {
    for (auto& t : topics())
      if (t.id == id) return std::move(t.name);
    return std::nullopt;
  }
  virtual broker_defaults defaults() const = 0;
  // How many of `wanted` topics Metadata may auto-create now: the node-wide per-second cap
  // (kafka/handlers/creation_rate_limit.h). Each call takes what it is granted. Default: all.
  virtual std::size_t auto_create_allowance(std::size_t wanted) { return wanted; }
  // Calls `done` on the io thread once this broker's view of brokers and topics includes every
  // change committed anywhere before the call (a `__meta` ReadIndex, Raft dissertation §6.4), so
  // that a topic created through one broker is listed by the next Metadata answer of any other.
  // Without a leader it answers with the local view after a bounded wait. Default: at once.
  virtual void catch_up(std::function<void()> done) { done(); }
  // Whether a catch_up() has reached the `__meta` leader's commit index since this broker
  // started. Until then its view is the one it had when it stopped: a restarted broker would name
  // itself leader of partitions that moved on, and list an ISR that has since shrunk. Kafka's
  // brokers likewise serve only once they have replayed the metadata log to its high watermark
  // (KIP-631). Default: yes.
  virtual bool caught_up_since_start() const { return true; }

  // The authorizer every handler asks (kafka/handlers/authorization.h), holding the ACL bindings
  // committed in `__meta`. Default: one with no bindings and the default no-ACL rule (requests
  // from listeners that do not authenticate are allowed, authenticated ones denied).
  virtual const acl::authorizer& authorizer() const {
    static const acl::authorizer none;
    return none;
  }
  // The name of this broker's inter-broker listener (`inter_broker_listener_name`), on which the
  // other brokers send their WriteTxnMarkers (kafka/handlers/authorization.h). Default: the
  // default listener's name.
  virtual std::string_view inter_broker_listener() const { return "PLAINTEXT"; }
  using acls_done = std::function<void(acl_outcome, std::string message)>;
  // CreateAcls / DeleteAcls: one `__meta` record adding, or removing exactly, `bindings` (already
  // checked with acl::validate), answered once applied here, refused or timed out; the authorizer
  // holds the new set from then on. Default: refused, for contexts that cannot change `__meta`.
  virtual void create_acls(std::vector<acl::binding> /*bindings*/, std::chrono::milliseconds /*timeout*/,
                           acls_done done) {
    done(acl_outcome::not_controller, "ACLs cannot change here");
  }
  virtual void delete_acls(std::vector<acl::binding> /*bindings*/, std::chrono::milliseconds /*timeout*/,
                           acls_done done) {
    done(acl_outcome::not_controller, "ACLs cannot change here");
  }

  using topics_done = std::function<void(std::vector<topic_result>)>;
  // Proposes the topics to `__meta` and answers once each is applied here (or refused, or the
  // timeout passed). `validate_only` checks without proposing.
  virtual void create_topics(std::vector<topic_request> topics, bool validate_only, std::chrono::milliseconds timeout,
                             topics_done done) = 0;
  virtual void delete_topics(std::vector<std::string> names, std::chrono::milliseconds timeout, topics_done done) = 0;

  // Proposes each change to `__meta` (one command per topic) and answers once each is applied
  // here, refused or timed out; the partition replicas take the new configs as they apply it
  // (docs/kafka.md "Configs"). Default: refused, for contexts that cannot change `__meta`.
  virtual void alter_topic_configs(std::vector<topic_config_change> changes, std::chrono::milliseconds /*timeout*/,
                                   topics_done done) {
    std::vector<topic_result> out;
    for (const auto& c : changes) out.push_back({c.topic, topic_outcome::not_controller, "topic configs cannot change here"});
    done(std::move(out));
  }

  // The cluster-wide broker defaults committed in `__meta` (kafka/handlers/cluster_defaults.h), by
  // broker key. Default: none.
  virtual std::map<std::string, std::string> cluster_configs() const { return {}; }
  // Proposes a change of the cluster-wide broker defaults (already checked with
  // cluster_defaults.h; `topic` unused) and answers once applied here, refused or timed out; every
  // partition replica takes the configs then in effect. Default: refused, as alter_topic_configs.
  virtual void alter_cluster_configs(topic_config_change change, std::chrono::milliseconds /*timeout*/,
                                     std::function<void(topic_result)> done) {
    static_cast<void>(change);
    done({"", topic_outcome::not_controller, "broker configs cannot change here"});
  }

  // This broker's settings for DescribeConfigs. Default: what the other calls tell (broker.id, the
  // listener, the topic defaults) and each topic config's broker-side default under its synonym.
  virtual std::vector<broker_config> broker_configs() const {
    const broker_defaults d = defaults();
    const std::string id = std::to_string(kafka_id(node_id()));
    std::vector<broker_config> out{
        {"broker.id", id, config_type::int32, true},
        {"node.id", id, config_type::int32, true},
        {"num.partitions", std::to_string(d.partitions), config_type::int32, false},
        {"default.replication.factor", std::to_string(d.replication_factor), config_type::int32, false},
        {"auto.create.topics.enable", d.auto_create_topics ? "true" : "false", config_type::boolean, false},
    };
    for (const auto& b : brokers()) {
      if (b.id != node_id()) continue;
      const std::string listener = "PLAINTEXT://" + b.host + ":" + std::to_string(b.port);
      out.push_back({"listeners", listener, config_type::list, true});
      out.push_back({"advertised.listeners", listener, config_type::list, true});
      if (b.rack) out.push_back({"broker.rack", *b.rack, config_type::string, true});
    }
    for (const auto& k : topic_config_keys()) {
      if (!k.broker_synonym.empty()) out.push_back({std::string(k.broker_synonym), std::string(k.default_value), k.type, false});
    }
    return out;
  }

  using validated_fn = std::function<void(std::string records, std::expected<accepted_records, batch_rejection>)>;
  // Validates one partition's produced blob (batch_validation.h) and calls `done` on the io thread
  // with the blob (timestamps stamped when the rules ask) and the outcome, in the order of the
  // calls. The node runs it on a worker thread: a batch that is expensive to look inside (a
  // decompression bomb, millions of tiny records) then never stalls the thread that ticks gossip
  // and Raft (docs/kafka.md "Produce validation"). `done` runs while this context lives, or never.
  // Default: at once, on the calling thread.
  virtual void validate(std::string records, batch_rules rules, validated_fn done) {
    auto r = validate_produced_records(records, rules);
    done(std::move(records), std::move(r));
  }

  // This node's partition replicas: Produce, Fetch and ListOffsets reach partitions only through
  // it (docs/kafka.md "Partitions"). Lives as long as the context.
  virtual partition_manager& partitions() = 0;

  // Grows topics (CreatePartitions): one `__meta` command per topic, answered once it is applied
  // here, refused or timed out; `validate_only` decides from this node's state by the same rules
  // without proposing. The new partitions are new Raft groups (docs/kafka.md "Adding partitions").
  // Default: refused, for contexts that cannot change `__meta`.
  virtual void create_partitions(std::vector<partitions_request> topics, bool /*validate_only*/,
                                 std::chrono::milliseconds /*timeout*/, topics_done done) {
    std::vector<topic_result> out;
    for (const auto& t : topics) out.push_back({t.name, topic_outcome::not_controller, "partitions cannot be added here"});
    done(std::move(out));
  }

  using elections_done = std::function<void(std::vector<election_outcome>)>;
  // Preferred-leader election as a Raft leadership transfer (Raft dissertation §3.10; docs/kafka.md
  // "Preferred leaders"): from any broker, the request reaches each partition's leader through
  // `__meta`, the leader transfers, and `done` gets one outcome per request, in order, once
  // `__meta` shows the preferred replica leading or the timeout passed. Default: refused, for
  // contexts that cannot change `__meta`.
  virtual void elect_preferred_leaders(std::vector<election_request> wanted, std::chrono::milliseconds /*timeout*/,
                                       elections_done done) {
    done(std::vector<election_outcome>(wanted.size(), election_outcome::not_controller));
  }

  using reassignments_done = std::function<void(std::vector<reassignment_result>)>;
  // Replica moves (AlterPartitionReassignments): one `__meta` record per partition, answered in
  // request order once applied here (the move itself then runs on the partition's leader as
  // learner-first Raft membership changes, docs/kafka.md "Moving replicas"), refused or timed out.
  // Default: refused, for contexts that cannot change `__meta`.
  virtual void alter_reassignments(std::vector<reassignment_request> wanted, std::chrono::milliseconds /*timeout*/,
                                   reassignments_done done) {
    done(std::vector<reassignment_result>(wanted.size(), {reassignment_outcome::not_controller, "cannot move replicas here"}));
  }
  // Every move in progress in this node's `__meta` state, by topic then partition. Callers that
  // need it current catch_up() first.
  virtual std::vector<reassignment_info> reassignments() const { return {}; }

  using producer_id_done = std::function<void(std::expected<std::int64_t, producer_id_outcome>)>;
  // A producer id never handed out before anywhere in the cluster (Kafka's InitProducerId without
  // a transactional id): taken from this node's block, which `__meta` allocates 1000 at a time
  // (KIP-730; docs/kafka.md "Producer ids"). `done` runs on the io thread, at once when the block
  // has an id, else once the next block applied or `timeout` passed. Default: refused, for
  // contexts that cannot change `__meta`.
  virtual void allocate_producer_id(std::chrono::milliseconds /*timeout*/, producer_id_done done) {
    done(std::unexpected(producer_id_outcome::not_available));
  }

  // This node's log directory and its partition replicas (DescribeLogDirs), or nullopt when it
  // has none to describe. Default: none.
  virtual std::optional<log_dir_info> log_dir() { return std::nullopt; }

  // The `__meta` Raft group for DescribeQuorum, or nullopt when this node runs none (yet).
  // Default: none.
  virtual std::optional<quorum_info> metadata_quorum() const { return std::nullopt; }
  // The same as the `__meta` leader sees it, for DescribeQuorum: Kafka's brokers forward the
  // request to the active controller, which alone knows every voter's progress. `done` runs on
  // the io thread, now or later. Default: this node's own view.
  virtual void leader_metadata_quorum(std::function<void(std::optional<quorum_info>)> done) { done(metadata_quorum()); }

  // This node's consumer group coordinator (docs/kafka.md "Consumer groups"), or nullptr when the
  // node runs none: the group APIs then answer COORDINATOR_NOT_AVAILABLE. The owner drives its
  // tick(now_ms) on the thread the handlers run on.
  virtual group_coordinator* groups() { return nullptr; }
  // Confirms, before committed offsets are read from this node's coordinator, that it still leads
  // the group's `__consumer_offsets` partition (Raft's ReadIndex, partition_replica::
  // confirm_leadership): a coordinator cut off from the others and not yet aware of it must not
  // answer offsets older than ones a newer coordinator acknowledged. `done(false)`: it does not,
  // and the read answers NOT_COORDINATOR. Default: confirmed, for contexts without Raft.
  virtual void confirm_group_coordinator(std::string_view /*group*/, std::function<void(bool)> done) { done(true); }
  // The broker that coordinates `group`: the leader of its `__consumer_offsets` partition
  // (docs/kafka.md "Durable groups"); nullopt when there is none yet (the daemon then creates the
  // topic, and FindCoordinator answers COORDINATOR_NOT_AVAILABLE, which clients retry). Default:
  // this node when its coordinator serves the group, for contexts without `__meta`.
  virtual std::optional<broker_info> coordinator_for(std::string_view group) {
    group_coordinator* g = groups();
    if (g == nullptr || g->serves(group) != group_errc::none) return std::nullopt;
    for (auto& b : brokers()) {
      if (b.id == node_id()) return std::move(b);
    }
    return std::nullopt;
  }

  // This node's transaction coordinator (docs/transactions.md "The coordinator core"), or nullptr
  // when the node runs none: the transaction APIs then answer COORDINATOR_NOT_AVAILABLE. As for
  // groups(), the writes a call makes are appended right after the handler returns, and the owner
  // drives its tick(now_ms) on the thread the handlers run on. Default: none.
  virtual txn_coordinator* transactions() { return nullptr; }
  // The broker that coordinates `transactional_id`: the leader of its `__transaction_state`
  // partition (docs/transactions.md "Finding the coordinator"); nullopt when there is none yet
  // (the daemon then creates the topic, and FindCoordinator answers COORDINATOR_NOT_AVAILABLE,
  // which clients retry). Default: none, for contexts without transactions.
  virtual std::optional<broker_info> transaction_coordinator_for(std::string_view /*transactional_id*/) {
    return std::nullopt;
  }
  // As confirm_group_coordinator, before an answer the transaction coordinator gave from memory
  // (no write of its own behind it) is sent: this node still leads the id's `__transaction_state`
  // partition, in the term its core loaded it in. `done(false)` answers NOT_COORDINATOR. Default:
  // not confirmed, for contexts without transactions.
  virtual void confirm_transaction_coordinator(std::string_view /*transactional_id*/, std::function<void(bool)> done) {
    done(false);
  }

  // SASL (docs/security.md "Client authentication: SASL"): the mechanisms a SASL listener offers,
  // and a user's stored SCRAM credential, which PLAIN checks passwords against as well. Default:
  // every mechanism, and no users (nobody authenticates).
  virtual std::vector<sasl::sasl_mechanism> sasl_mechanisms() const {
    return {sasl::sasl_mechanism::plain, sasl::sasl_mechanism::scram_sha_256, sasl::sasl_mechanism::scram_sha_512};
  }
  virtual std::optional<sasl::scram_credential> scram_credential(std::string_view /*user*/,
                                                                 sasl::scram_mechanism /*m*/) const {
    return std::nullopt;
  }
  // Every user with a SCRAM credential, by name (DescribeUserScramCredentials). Callers that need
  // it current catch_up() first. Default: none.
  virtual std::vector<scram_user_info> scram_users() const { return {}; }
  using scram_done = std::function<void(std::vector<scram_result>)>;
  // AlterUserScramCredentials: one `__meta` record per user, answered in request order once each
  // is applied here, refused or timed out. Default: refused, for contexts without `__meta`.
  virtual void alter_scram_credentials(std::vector<scram_alteration> users, std::chrono::milliseconds /*timeout*/,
                                       scram_done done) {
    done(std::vector<scram_result>(users.size(), {scram_outcome::not_controller, "credentials cannot change here"}));
  }
};

}  // namespace chronik::kafka
