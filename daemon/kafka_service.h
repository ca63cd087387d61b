// The Kafka front end of chronik-server (docs/design.md "Kafka data path"; docs/kafka.md): the
// listener on bind:kafka_port (kafka/server), the dispatcher and its handlers (kafka/handlers), and
// this node's implementation of kafka::broker_context over `__meta` (daemon/meta_service.h). The
// partition groups run on the node's Raft host (daemon/node_raft.h), lent by reference.
//
// Topic changes are `__meta` commands proposed from any node (a follower forwards them to the
// leader); a request waits until the very bytes it proposed are applied here, and answers with the
// outcome the state machine gave, which is the same on every replica.
//
// It has no timer: the node's one tick loop (daemon/node.h) calls tick(now), and the service runs
// its partition groups' tick once per Raft tick period and checks request deadlines every 100 ms.
//
// Threading: everything runs on the io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
#include <spdlog/logger.h>

#include "daemon/broker_call_worker.h"
#include "daemon/config.h"
#include "daemon/group_store.h"
#include "daemon/leader_elections.h"
#include "daemon/meta_service.h"
#include "daemon/node_clock.h"
#include "daemon/node_raft.h"
#include "daemon/producer_ids.h"
#include "daemon/txn_marker_client.h"
#include "daemon/txn_marker_router.h"
#include "daemon/txn_store.h"
#include "kafka/handlers/broker_context.h"
#include "kafka/handlers/creation_rate_limit.h"
#include "kafka/handlers/dispatcher.h"
#include "kafka/groups/group_coordinator.h"
#include "kafka/partition/partition_manager.h"
#include "kafka/server/kafka_server.h"
#include "kafka/txn/txn_coordinator.h"

namespace chronik::daemon {

struct metrics_view;  // daemon/node_metrics.h
struct traffic_totals;  // daemon/rate_history.h

class kafka_service : public kafka::broker_context {
 public:
  kafka_service(asio::io_context& io, const node_config& cfg, node_raft& raft, meta_service& meta,
                std::shared_ptr<spdlog::logger> log);
  ~kafka_service() override;
  kafka_service(const kafka_service&) = delete;
  kafka_service& operator=(const kafka_service&) = delete;

  // Binds the Kafka listener; the error is one log-ready line.
  std::expected<void, std::string> start();
  // What is due by `now` (steady clock, read once by the node's loop): the partition groups and
  // consumer groups once per Raft tick period, leadership reports, expired topic requests.
  void tick(std::chrono::steady_clock::time_point now);
  // Idempotent; nothing is ticked or answered after it.
  void stop();
  // The node is about to replace its Raft host (node::replace_host): the partition replicas on it
  // go first. They come back from `__meta` on their next use, on the new host.
  void drop_partitions() {
    group_store_.release();
    txn_store_.release();
    marker_router_.release();
    manager_.reset();
  }

  // kafka::broker_context
  chronik::node_id node_id() const override;
  std::optional<std::string> cluster_id() const override;
  chronik::node_id controller_id() const override;
  std::vector<kafka::broker_info> brokers() const override;
  std::vector<kafka::topic_info> topics() const override;
  std::optional<kafka::topic_info> topic(std::string_view name) const override;
  bool has_topic(std::string_view name) const override;
  std::optional<std::string> topic_name(const std::array<std::uint8_t, 16>& id) const override;
  kafka::broker_defaults defaults() const override;
  std::size_t auto_create_allowance(std::size_t wanted) override;
  void catch_up(std::function<void()> done) override;
  bool caught_up_since_start() const override { return *caught_up_; }
  void create_topics(std::vector<kafka::topic_request> topics, bool validate_only, std::chrono::milliseconds timeout,
                     topics_done done) override;
  void delete_topics(std::vector<std::string> names, std::chrono::milliseconds timeout, topics_done done) override;
  void create_partitions(std::vector<kafka::partitions_request> topics, bool validate_only,
                         std::chrono::milliseconds timeout, topics_done done) override;
  std::map<std::string, std::string> cluster_configs() const override;
  void alter_cluster_configs(kafka::topic_config_change change, std::chrono::milliseconds timeout,
                             std::function<void(kafka::topic_result)> done) override;
  void alter_topic_configs(std::vector<kafka::topic_config_change> changes, std::chrono::milliseconds timeout,
                           topics_done done) override;
  std::vector<kafka::broker_config> broker_configs() const override;
  void elect_preferred_leaders(std::vector<kafka::election_request> wanted, std::chrono::milliseconds timeout,
                               elections_done done) override;
  std::optional<kafka::quorum_info> metadata_quorum() const override;  // daemon/kafka_quorum.cc
  void leader_metadata_quorum(std::function<void(std::optional<kafka::quorum_info>)> done) override;
  // daemon/kafka_moves.cc
  void alter_reassignments(std::vector<kafka::reassignment_request> wanted, std::chrono::milliseconds timeout,
                           reassignments_done done) override;
  std::vector<kafka::reassignment_info> reassignments() const override;
  // daemon/kafka_scram.cc
  std::vector<kafka::sasl::sasl_mechanism> sasl_mechanisms() const override;
  std::optional<kafka::sasl::scram_credential> scram_credential(std::string_view user,
                                                                kafka::sasl::scram_mechanism m) const override;
  std::vector<kafka::scram_user_info> scram_users() const override;
  void alter_scram_credentials(std::vector<kafka::scram_alteration> users, std::chrono::milliseconds timeout,
                               scram_done done) override;
  // daemon/kafka_producer_ids.cc
  void allocate_producer_id(std::chrono::milliseconds timeout, producer_id_done done) override;
  std::optional<kafka::log_dir_info> log_dir() override;               // daemon/kafka_log_dirs.cc
  // The Kafka part of /metrics: requests, the listener, partitions, consumer lag
  // (daemon/kafka_metrics.cc).
  void collect_metrics(metrics_view& v) const;
  // Produce bytes received and Fetch bytes sent since start, for the status page's rates
  // (daemon/status_service.h); cheap enough for every sample (daemon/kafka_metrics.cc).
  traffic_totals traffic() const;
  kafka::partition_manager& partitions() override;
  // Every group handler asks for the core first; the writes its call makes are appended right
  // after the handler returns (daemon/kafka_groups.cc).
  kafka::group_coordinator* groups() override;
  // The leader of the group's `__consumer_offsets` partition, as `__meta` records it; creates the
  // topic on first use (daemon/kafka_groups.cc).
  std::optional<kafka::broker_info> coordinator_for(std::string_view group) override;
  void confirm_group_coordinator(std::string_view group, std::function<void(bool)> done) override;
  // Transactions (daemon/kafka_transactions.cc): the core, whose writes and markers go out right
  // after the handler returns; the leader of the id's `__transaction_state` partition, creating the
  // topic on first use; ReadIndex before an answer from memory.
  kafka::txn_coordinator* transactions() override;
  std::optional<kafka::broker_info> transaction_coordinator_for(std::string_view transactional_id) override;
  void confirm_transaction_coordinator(std::string_view transactional_id, std::function<void(bool)> done) override;
  // On validator_, answered on the io thread in submission order.
  void validate(std::string records, kafka::batch_rules rules, validated_fn done) override;
  // ACLs (daemon/kafka_acls.cc): the authorizer over the bindings committed in `__meta`, with the
  // node's super_users and no_acl_found; CreateAcls/DeleteAcls as one `__meta` record each.
  const kafka::acl::authorizer& authorizer() const override;
  std::string_view inter_broker_listener() const override;
  void create_acls(std::vector<kafka::acl::binding> bindings, std::chrono::milliseconds timeout,
                   acls_done done) override;
  void delete_acls(std::vector<kafka::acl::binding> bindings, std::chrono::milliseconds timeout,
                   acls_done done) override;

 private:
  // One CreateTopics/DeleteTopics request: its results, filled as commands apply or time out.
  struct request_state {
    std::vector<kafka::topic_result> results;
    std::size_t open = 0;
    topics_done done;
  };
  using applied_hook = std::function<void(const std::expected<metadata::apply_result, metadata::meta_errc>&)>;
  struct pending_command {
    std::shared_ptr<request_state> request;
    std::size_t slot = 0;
    std::chrono::steady_clock::time_point deadline;
    applied_hook applied;  // sees what the appliers returned, before the slot settles; may be empty
  };

  // One AlterPartitionReassignments request, answered once every partition's record applied,
  // was refused or timed out (daemon/kafka_moves.cc).
  struct move_request {
    std::vector<kafka::reassignment_result> results;
    std::size_t open = 0;
    reassignments_done done;
  };
  struct pending_move {
    std::shared_ptr<move_request> request;
    std::size_t slot = 0;
    std::chrono::steady_clock::time_point deadline;
  };
  void settle_move(move_request& req, std::size_t slot, kafka::reassignment_result result);
  void on_move_applied(std::string_view command, const std::expected<metadata::apply_result, metadata::meta_errc>& r);
  void expire_moves(std::chrono::steady_clock::time_point now);
  void report_move_done(const metadata::partition_ref& ref);

  void propose_for(const std::shared_ptr<request_state>& req, std::size_t slot, std::string command,
                   std::chrono::milliseconds timeout, applied_hook applied = {});
  // producer_ids' proposals, on the same path (daemon/kafka_producer_ids.cc).
  void propose_producer_ids(std::string command, std::chrono::milliseconds timeout, producer_ids::block_done done);
  void settle(request_state& req, std::size_t slot, kafka::topic_outcome outcome, std::string message);
  void on_applied(std::string_view command, const std::expected<metadata::apply_result, metadata::meta_errc>& r);
  void expire_requests(std::chrono::steady_clock::time_point now);
  // Partition replicas (kafka/partition): created on the first use after `__meta` runs, fed by
  // `__meta`'s applied records, ticked by tick_partitions().
  kafka::partition_manager* manager();
  void on_partition_records(const metadata::apply_result& r);
  void tick_partitions(std::chrono::steady_clock::time_point now);
  // Leaders flow back to `__meta`: every group this node leads (periodically, for ISR changes and
  // lost proposals), or one group (when it became a ready leader here). A report is repeated at
  // most every leader_report_repeat while `__meta` does not show it.
  void report_leaders(std::chrono::steady_clock::time_point now);
  void report_leader(const kafka::partition_replica& rep, std::chrono::steady_clock::time_point now);
  static constexpr std::chrono::seconds leader_report_repeat{1};
  // `fenced`: nodes whose WAL failed (meta_service::storage_failed_nodes), offline everywhere.
  kafka::topic_info describe(const metadata::topic_record& t, const std::set<std::uint64_t>& fenced) const;
  std::size_t live_brokers() const;

  asio::io_context& io_;
  const node_config& cfg_;
  node_raft& raft_;
  meta_service& meta_;
  std::shared_ptr<spdlog::logger> log_;
  kafka::dispatcher dispatcher_;
  kafka::creation_rate_limit auto_create_rate_;  // auto_create_topics_max_per_second
  std::unique_ptr<kafka::kafka_server> server_;
  bool started_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // Set by the first catch_up() that reached the leader's commit index (caught_up_since_start).
  std::shared_ptr<bool> caught_up_ = std::make_shared<bool>(false);
  // Produce validation off the io thread (broker_context::validate). One thread keeps the
  // answers in submission order; what waits for it is bounded by the listener's queued-bytes
  // budget, since every blob belongs to a request not yet answered. Joined in stop().
  asio::thread_pool validator_{1};
  // Blobs handed to validator_ whose answer has not come back to the io thread yet. While none
  // is, a small uncompressed blob is checked on the io thread instead (validate()).
  std::size_t validations_in_flight_ = 0;
  std::mt19937_64 random_;  // topic ids: seeded from std::random_device
  std::multimap<std::string, pending_command> pending_;  // by the proposed command bytes
  std::multimap<std::string, pending_move> pending_moves_;  // by the proposed command bytes
  std::map<std::uint64_t, std::chrono::steady_clock::time_point> move_reported_;  // group -> last report
  std::unique_ptr<kafka::partition_manager> manager_;
  // Consumer groups this node coordinates (kafka/groups), kept in `__consumer_offsets` by
  // group_store_ (declared after the core: destroyed first, so no produce answer reaches a
  // destroyed core).
  kafka::group_coordinator groups_;
  group_store group_store_;
  // The offsets topic's creation was last proposed then (daemon/kafka_groups.cc).
  std::chrono::steady_clock::time_point offsets_topic_proposed_{};
  void ensure_offsets_topic();
  bool group_flush_posted_ = false;
  std::int32_t offsets_partitions() const;
  // Transactions (daemon/kafka_transactions.cc): the core (kafka/txn), its shell on
  // `__transaction_state` and its marker delivery, declared in that order so that the router goes
  // first, then the client (joining its worker), the shell, and the core last.
  static kafka::txn_config txn_config_of(const node_config& cfg);
  std::int32_t offsets_partition_of_group(std::string_view group) const;
  std::int32_t transaction_state_partitions() const;
  void ensure_transaction_state_topic();
  // The core's tick, the shell's and the router's, once per partition tick.
  void tick_transactions(std::chrono::steady_clock::time_point now, std::int64_t wall_ms);
  // Appends the core's writes and sends due markers soon, once for any number of calls.
  void kick_transactions();
  marker_route marker_route_for(const kafka::txn_partition& p) const;
  txn_marker_router_io marker_router_io();
  kafka::txn_coordinator txns_;
  txn_store txn_store_;
  txn_marker_client marker_client_;
  txn_marker_router marker_router_;
  std::chrono::steady_clock::time_point state_topic_proposed_{};
  bool txn_kick_posted_ = false;
  leader_elections elections_;  // ElectLeaders, both as the asking broker and as partition leader
  producer_ids producer_ids_;    // InitProducerId's ids, in blocks from `__meta`
  // Partition (Raft) ticks once per meta_timing tick, deadline sweeps every 100 ms, on the node
  // loop's grid; the time of the loop's latest tick serves a leadership change between ticks
  // (its report's repeat pause).
  periodic partition_tick_;
  periodic expiry_;
  std::chrono::steady_clock::time_point last_tick_{};
  std::chrono::steady_clock::time_point next_leader_report_{};
  metadata::log_index down_brokers_at_{};  // `__meta`'s applied index when the down set was last given
  // Partition leaderships proposed to `__meta` and not applied yet: (group -> term), to propose
  // each at most once per second.
  std::map<std::uint64_t, std::pair<std::uint64_t, std::chrono::steady_clock::time_point>> leader_proposed_;
  // The authorizer, rebuilt from `__meta`'s bindings when they differ from the ones it holds (checked
  // only when `__meta` applied something since the last look), daemon/kafka_acls.cc.
  void propose_acls(std::string command, std::chrono::milliseconds timeout, acls_done done);
  mutable std::optional<kafka::acl::authorizer> authorizer_;
  mutable metadata::log_index acls_checked_at_{};
  mutable std::set<metadata::acl_record> acls_held_;
  // A follower's DescribeQuorum, asked of the `__meta` leader (daemon/kafka_quorum.cc). Last, so it
  // is joined first and nothing it posts runs on a half-destroyed service.
  broker_call_worker quorum_worker_;
};

}  // namespace chronik::daemon
