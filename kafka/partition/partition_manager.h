// Every partition replica of this node (docs/design.md "Partition groups" and
// "Kafka data path"; docs/kafka.md "Partitions"): creates and removes their Raft
// groups in the node's raft_host as `__meta` says, finds them for the Kafka handlers, runs their
// timeouts and retention, parks long-polling fetchers, and reports leadership changes so the
// daemon can record them in `__meta` (SetPartitionLeader) for Metadata.
//
// Threading: everything runs on the raft_host's Asio thread. The owner calls tick() periodically
// (every 10-100 ms: it bounds how late a timeout or a long-poll deadline is answered).
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>

#include "consensus/core/config.h"
#include "consensus/groups/raft_host.h"
#include "kafka/partition/entry_cache.h"
#include "kafka/partition/partition_replica.h"
#include "metadata/meta_state.h"

namespace chronik::kafka {

struct partition_manager_config {
  // Raft timing of every partition group (ticks of the owner's raft_host tick).
  consensus::raft_config raft;
  // Defaults under each topic's own configs (partition_config documents each field).
  partition_config defaults;
  // The configs a topic's replicas enforce: its own, over the cluster-wide broker defaults
  // (kafka/handlers/cluster_defaults.h, which the node applies here). Empty: the topic's own.
  std::function<std::map<std::string, std::string>(const metadata::topic_record&)> topic_configs;
  // How often retention is checked, in milliseconds of the steady clock. Default 5000.
  std::int64_t retention_check_interval_ms = 5'000;
  // Kafka's replica.lag.time.max.ms: a follower that has not caught up with its leader's log for
  // this long leaves the in-sync replicas (docs/kafka.md "In-sync replicas"). Default 30000.
  std::int64_t replica_lag_time_max_ms = 30'000;
  // How often leaders sample their followers' progress for the ISR. Default 500.
  std::int64_t isr_check_interval_ms = 500;
  // Long-polling fetch requests parked at once; one beyond it is woken at once (its handler
  // answers with what it has). Default 4096.
  std::size_t max_fetch_waiters = 4'096;
  // The node's entry cache (entry_cache.h): bytes of recently applied record batches, over all
  // partitions, that fetches near the high watermark are answered from without a WAL read. 0
  // disables it. Default 32 MiB (node_config::fetch_cache_bytes says why).
  std::uint64_t entry_cache_bytes = 32ull << 20;
  // This node's uuid (hex), which tells a replica whose log was lost with a wiped data directory
  // (metadata::meta_state::replica_rejoins). Empty: every replica starts fresh (tests).
  std::string self_uuid;
  // Clocks, replaceable by tests: the steady clock for deadlines, and wall-clock milliseconds
  // since the epoch for retention.ms (Kafka timestamps are wall clock).
  std::function<std::chrono::steady_clock::time_point()> steady_now = [] { return std::chrono::steady_clock::now(); };
  std::function<std::int64_t()> wall_now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };

  std::expected<void, std::string> validate() const;
};

class partition_manager {
 public:
  using clock = std::chrono::steady_clock;
  using leadership_fn = std::function<void(const metadata::partition_ref&, consensus::node_id leader, consensus::term_id term)>;
  using wake_fn = std::function<void()>;

  partition_manager(consensus::raft_host& host, consensus::node_id self, partition_manager_config cfg,
                    std::shared_ptr<spdlog::logger> log = {});
  // Answers every waiting producer and fetcher; the groups keep running in the host (their
  // durable state stays; the next owner reopens them).
  ~partition_manager();
  partition_manager(const partition_manager&) = delete;
  partition_manager& operator=(const partition_manager&) = delete;

  // Starts the partition's group when this node is one of ref.replicas and it is not running:
  // reopened from the WAL when the host recovered it, else bootstrapped with voters =
  // ref.replicas (identical on every replica). A running replica only takes the topic's configs.
  // `topic` is the partition's topic record (its name and configs).
  // `start` says how a replica with no durable state here begins (start_for).
  std::expected<void, consensus::host_error> ensure(const metadata::partition_ref& ref,
                                                    const metadata::topic_record& topic,
                                                    consensus::group_start start = consensus::group_start::fresh);
  // rejoin when `state` shows that this node id held the replica in an earlier life of its data
  // directory (docs/raft.md "Rejoining replicas"), else fresh.
  consensus::group_start start_for(const metadata::meta_state& state, const metadata::partition_ref& ref) const;
  // The topic's configs changed in `__meta` (apply_result::reconfigured): the replica of `ref`
  // running here takes them at once, so retention and produce rules change without a restart.
  // A partition not running here is ignored; it reads the configs when it starts. Returns whether
  // one runs here. `log_it` false: the caller logs one line for many (a cluster-wide change names
  // every partition).
  bool reconfigure(const metadata::partition_ref& ref, const metadata::topic_record& topic, bool log_it = true);
  // `__meta` changed the partition's replica set (apply_result::moved; docs/kafka.md "Moving
  // replicas"): ensure() where this node is one of ref.replicas, which also hands a running replica
  // its new target, else remove().
  void apply_move(const metadata::partition_ref& ref, const metadata::topic_record& topic, consensus::group_start start);
  // Stops the partition's group and deletes its data (raft_host::remove_group); waiting producers
  // get not_leader. A partition not running here is ignored.
  void remove(const metadata::partition_ref& ref);
  // After a restart or a `__meta` snapshot install: ensures every partition `state` assigns to
  // this node and removes every local partition group (running, or recovered from the WAL) that
  // `state` has allocated (id < next_group) but no longer lists. Groups with newer ids are kept:
  // `state` is behind them.
  void sync(const metadata::meta_state& state);

  partition_replica* find(std::string_view topic, std::int32_t partition) const;
  partition_replica* find(consensus::group_id group) const;
  std::vector<consensus::group_id> groups() const;
  // The replicas this node leads, as their leadership reports last said (replica_hooks::
  // on_leadership): the periodic passes over leaders visit these only, not every replica. One
  // whose election is running may still be listed (its report comes with the outcome): each
  // pass checks the role itself.
  std::vector<partition_replica*> led() const;

  // Timeouts of producers and long-polls, leadership reports, and retention every
  // retention_check_interval_ms.
  void tick();
  // Brokers `__meta` shows dead or left: their replicas are out of every ISR this node reports
  // until they catch up again (isr_tracker::fence). Set by the owner before each tick.
  void set_down_brokers(std::set<node_id> down) { down_brokers_ = std::move(down); }
  void set_leadership_callback(leadership_fn fn) { on_leadership_ = std::move(fn); }
  // Called on every tick while this node leads a moving group whose voters are exactly its target:
  // the owner reports the move's end to `__meta` (MetaCompleteReassignment), paced as it likes.
  using move_done_fn = std::function<void(const metadata::partition_ref&)>;
  void set_move_done_callback(move_done_fn fn) { on_move_done_ = std::move(fn); }

  // Long-poll (Kafka Fetch max_wait_ms): `wake` is called once, when any of `groups` applies new
  // records or changes leader, or when max_wait has passed (at a tick), whichever is first. The
  // caller then looks again and answers or waits again.
  void wait_for_data(const std::vector<consensus::group_id>& groups, std::chrono::milliseconds max_wait, wake_fn wake);
  std::size_t fetch_waiters() const { return waiters_.size(); }
  // Replicas the last tick() expired: those of awake groups or with work waiting; 0 on a node
  // whose partitions are all quiesced and idle.
  std::size_t replicas_visited_last_tick() const { return visited_last_tick_; }

  clock::time_point now() const { return cfg_.steady_now(); }
  const entry_cache& cache() const { return cache_; }
  consensus::node_id self() const { return self_; }

 private:
  // The replica configs of `topic` (partition_manager_config::topic_configs).
  partition_config config_of(const metadata::topic_record& topic) const;
  struct waiter {
    std::vector<consensus::group_id> groups;
    clock::time_point deadline;
    wake_fn wake;
  };

  void on_data(consensus::group_id group);
  // `at_rest`: the leaders, when the at-rest pass is due (every isr_check_interval_ms).
  void drive_moves(const std::vector<std::shared_ptr<partition_replica>>* at_rest);
  void enforce_retention(const std::vector<std::shared_ptr<partition_replica>>& replicas);
  const std::vector<std::shared_ptr<partition_replica>>& led_shared() const;
  // r's group was quiesced at every tick since the last ISR pass (awake_since_isr_).
  bool asleep_since_isr(const partition_replica& r) const;
  void wake_where(const std::function<bool(const waiter&)>& pred);

  consensus::raft_host& host_;
  consensus::node_id self_;
  partition_manager_config cfg_;
  std::shared_ptr<spdlog::logger> log_;
  leadership_fn on_leadership_;
  move_done_fn on_move_done_;
  entry_cache cache_;  // before the replicas, which point at it: destroyed after them

  std::map<std::uint64_t, std::shared_ptr<partition_replica>> by_group_;
  std::map<std::pair<std::string, std::int32_t>, consensus::group_id, std::less<>> by_name_;
  std::vector<waiter> waiters_;
  // Groups whose replica holds work with a deadline (replica_hooks::on_deadline): each tick
  // expires them, and drops those left with none.
  std::set<std::uint64_t> expiring_;
  // Groups ensured with a move target: drive_moves looks at them every tick, dropping those that
  // finished (or went); the others only at its at-rest pass.
  std::set<std::uint64_t> moving_;
  // Groups whose last leadership report named this node.
  std::set<std::uint64_t> leading_;
  // Their replicas, listed again when leading_ or by_group_ changed (led_dirty_).
  mutable std::vector<std::shared_ptr<partition_replica>> led_;
  mutable bool led_dirty_ = true;
  // Groups seen awake at a tick since the last ISR pass (partition_replica::track_isr).
  std::set<std::uint64_t> awake_since_isr_;
  std::size_t visited_last_tick_ = 0;
  // Starts that wait for the host (a revival whose removal is not durable yet), retried each tick.
  struct retry_start {
    metadata::partition_ref ref;
    metadata::topic_record topic;
    consensus::group_start start = consensus::group_start::fresh;
  };
  std::map<std::uint64_t, retry_start> retry_starts_;
  clock::time_point next_retention_;
  clock::time_point next_isr_check_;
  std::set<node_id> down_brokers_;
};

}  // namespace chronik::kafka
