// Preferred-leader elections (Kafka's ElectLeaders) on this node, both halves of them
// (docs/kafka.md "Preferred leaders"):
//  - as the broker that took the request: one MetaElectLeaders record per topic is proposed to
//    `__meta` (from any node; a follower forwards it), and each partition waits until `__meta`
//    shows its preferred replica leading, or the request's deadline;
//  - as a partition leader applying such a record: a Raft leadership transfer to the preferred
//    replica (Raft dissertation §3.10), when it is in sync here and the record has not expired.
// The record is the channel between the two: the broker that took the request may host no replica
// of the partition, and `__meta` reaches every node.
//
// Threading: everything runs on the io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>

#include "kafka/handlers/broker_context.h"
#include "kafka/partition/partition_manager.h"

namespace chronik::daemon {

// What the elections need of the node's `__meta` service (daemon/meta_service.h), as functions so
// that tests can drive a meta_state by hand.
struct leader_elections_meta {
  std::function<const metadata::meta_state&()> state;
  // Proposes command bytes from this node (a follower forwards them); the error is a log line.
  std::function<std::expected<void, std::string>(std::string)> propose;
  // Wall-clock milliseconds since the epoch: the records' expiry.
  std::function<std::int64_t()> wall_now_ms;
};

class leader_elections {
 public:
  using clock = std::chrono::steady_clock;

  leader_elections(leader_elections_meta meta, chronik::node_id self, std::shared_ptr<spdlog::logger> log);

  // The broker context's elect_preferred_leaders: answers through `done` once every partition is
  // settled (from on_applied or tick).
  void request(std::vector<kafka::election_request> wanted, std::chrono::milliseconds timeout,
               kafka::broker_context::elections_done done, clock::time_point now);
  // Every applied `__meta` command: refusals of our own records, the leader's transfers, and
  // waiting partitions whose preferred replica now leads. `partitions` may be null (no Raft host).
  void on_applied(std::string_view command, const std::expected<metadata::apply_result, metadata::meta_errc>& r,
                  kafka::partition_manager* partitions, consensus::raft_host* host);
  // Deadlines (and leadership already visible); called every 100 ms by the owner.
  void tick(clock::time_point now);
  // Answers nothing more (the node stops).
  void clear() { waiting_.clear(); }

 private:
  struct request_state {
    std::vector<kafka::election_outcome> outcomes;
    std::size_t open = 0;
    kafka::broker_context::elections_done done;
  };
  struct waiting {
    std::shared_ptr<request_state> request;
    std::size_t slot = 0;
    metadata::topic_id topic;
    std::int32_t partition = 0;
    chronik::node_id preferred;
    std::string command;  // the record it was proposed in; cleared once applied
    clock::time_point deadline;
  };

  void settle(request_state& req, std::size_t slot, kafka::election_outcome outcome);
  void transfer(const metadata::partition_ref& ref, kafka::partition_manager& partitions, consensus::raft_host& host);
  // Settles the waiting partitions whose preferred replica leads in `__meta` (or that are gone).
  void settle_led();

  leader_elections_meta meta_;
  chronik::node_id self_;
  std::shared_ptr<spdlog::logger> log_;
  std::mt19937_64 random_;  // nonces: seeded from std::random_device
  std::vector<waiting> waiting_;
};

}  // namespace chronik::daemon
