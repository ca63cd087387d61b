// Delivers the transaction coordinator's markers (docs/transactions.md "Delivering markers"): each
// txn_marker_work the core hands out (kafka::txn_coordinator::take_markers) must become a COMMIT or
// ABORT control batch in every partition of the transaction (KIP-98). A partition this node leads
// is written directly (partition_replica::write_marker); the others are sent to their leaders as
// WriteTxnMarkers requests (daemon/txn_marker_client.h), one request per broker and round for all
// the work due there. Once every partition acknowledged, the router calls core.markers_done(work)
// and the core writes CompleteCommit / CompleteAbort.
//
// As Kafka's TransactionMarkerChannelManager: a partition that failed with a retriable error
// (NOT_LEADER_OR_FOLLOWER, a timeout, a lost connection, no leader known) is tried again after a
// backoff that doubles up to a bound, with its leader looked up again in `__meta`; a partition
// whose topic no longer exists counts as acknowledged; a refusal that says this coordinator is no
// longer the transaction's (TRANSACTION_COORDINATOR_FENCED, INVALID_PRODUCER_EPOCH) abandons the
// work item: a newer coordinator delivers it. Work whose state partition the core unloaded (or
// loaded again in a later term) is dropped; the core ignores reports of stale work anyway.
//
// Bounds: one attempt in flight per partition of an item, one request in flight per broker (given
// up after a deadline), a bounded number of partitions per request; nothing is retried before its
// backoff.
//
// Threading: the io thread. Time is the node loop's steady clock, passed to tick().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include <spdlog/logger.h>

#include "base/node_id.h"
#include "daemon/kafka_client.h"
#include "daemon/txn_marker_client.h"
#include "kafka/partition/partition_manager.h"
#include "kafka/txn/txn_coordinator.h"

namespace chronik::daemon {

// Where a partition's leader is, for a partition this node does not lead.
struct marker_route {
  enum class kind : std::uint8_t {
    gone,     // the topic or partition no longer exists: its marker counts as written
    unknown,  // no leader known now (an election): tried again later
    remote,   // `broker` leads it
  };
  kind what = kind::unknown;
  kafka_address broker;
};

// What the router needs of the node; tests give their own.
struct txn_marker_router_io {
  // The leader of a partition, as `__meta` (or the local replica, when newer) knows it.
  std::function<marker_route(const kafka::txn_partition&)> route;
  // txn_marker_client::send: `done` runs later on the io thread, exactly once.
  std::function<void(kafka_address, std::vector<remote_marker>, remote_marker_done)> send;
  // Whether `work` is still the core's: its state partition is loaded in its coordinator epoch.
  std::function<bool(const kafka::txn_marker_work&)> current;
  // Asks the owner for a tick() and an append soon (the owner coalesces the calls): after the
  // router reported completed work to the core, which has a write to append then, and after a
  // broker's answer, so that work which waited for that broker goes out without waiting for the
  // next periodic tick. May be empty.
  std::function<void()> wake;
};

struct txn_marker_router_options {
  std::chrono::milliseconds first_backoff{100};
  std::chrono::milliseconds max_backoff{5'000};
  // How long a local marker write may wait for its commit.
  std::chrono::milliseconds write_timeout{5'000};
  std::size_t max_partitions_per_request = 1'000;
  // A request not answered by then is given up and its partitions tried again; a later answer is
  // ignored. Longer than the sender's own connect and request deadlines, so it only matters for
  // an answer that never comes.
  std::chrono::milliseconds send_timeout{30'000};
};

class txn_marker_router {
 public:
  using clock = std::chrono::steady_clock;

  txn_marker_router(kafka::txn_coordinator& core, chronik::node_id self, txn_marker_router_io io,
                    std::shared_ptr<spdlog::logger> log, txn_marker_router_options options = {});
  ~txn_marker_router();
  txn_marker_router(const txn_marker_router&) = delete;
  txn_marker_router& operator=(const txn_marker_router&) = delete;

  // Takes the core's new work and starts every delivery that is due at `now`. `mgr` is null while
  // the node has no Raft host (nothing is then local).
  void tick(kafka::partition_manager* mgr, clock::time_point now);
  // Drops every item (the node stops or replaces its Raft host); late answers are ignored.
  void release();
  // Work items not yet acknowledged everywhere.
  std::size_t pending() const { return items_.size(); }

 private:
  struct target {
    kafka::txn_partition partition;
    bool done = false;
    bool in_flight = false;
    int attempts = 0;
    clock::time_point next_try{};
  };
  struct item {
    kafka::txn_marker_work work;
    std::vector<target> targets;
  };
  // One partition of one item, by the item's serial (items may go while an answer is on its way).
  struct slot {
    std::uint64_t serial = 0;
    std::size_t index = 0;
  };
  enum class verdict : std::uint8_t { written, retry, abandon };

  void take_new_work();
  void write_local(kafka::partition_replica& rep, slot s);
  void send_remote(const kafka_address& broker, const std::vector<slot>& slots);
  // Records one partition's outcome; completes or abandons the item when that decides it.
  void settle(slot s, verdict v, std::string_view why);
  target* find(slot s);

  kafka::txn_coordinator& core_;
  chronik::node_id self_;
  txn_marker_router_io io_;
  std::shared_ptr<spdlog::logger> log_;
  txn_marker_router_options options_;
  std::map<std::uint64_t, item> items_;  // by serial, oldest first
  std::uint64_t next_serial_ = 0;
  // The request in flight to each broker: its id (a late answer of a request given up is
  // ignored), deadline and partitions.
  struct request {
    std::uint64_t id = 0;
    clock::time_point deadline;
    std::vector<slot> slots;
  };
  void expire_requests();
  std::map<kafka_address, request> requests_;
  std::uint64_t next_request_ = 0;
  clock::time_point now_{};               // of the last tick: retries are scheduled from it
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace chronik::daemon
