// Test harness for kafka/partition: N raft_hosts on one io_context, each with its own WAL directory
// and a partition_manager, linked by an in-memory outbox that posts every batch to the destination
// host (as tests/unit/raft_host_test.cc does). A node can be cut off (its inbound and outbound
// batches are dropped) and healed. Clocks are fake: tests move them explicitly.
//
// No sleeps: settle() runs posted handlers until every host is idle, waiting on the io_context
// (bounded) only while a disk thread has a batch in flight.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "consensus/groups/raft_host.h"
#include "kafka/partition/partition_manager.h"
#include "kafka/protocol/record_batch.h"
#include "metadata/meta_state.h"
#include "tests/unit/record_test_util.h"
#include "tests/unit/wal_test_util.h"

namespace chronik::kafka::testing {

using consensus::group_id;
using consensus::node_id;

// The fake clocks every manager of a cluster reads.
struct fake_clock {
  std::chrono::steady_clock::time_point steady{std::chrono::hours(1)};
  std::int64_t wall_ms = 1'700'000'000'000;
  void advance(std::chrono::milliseconds d) {
    steady += d;
    wall_ms += d.count();
  }
};

// A magic-v2 batch of `records` well-formed records, all stamped `max_timestamp`; the first
// record's value is `payload`, the others are empty (produce validation reads every record).
inline std::string make_batch(std::int32_t records, std::int64_t max_timestamp, const std::string& payload) {
  record_batch_header h;
  h.last_offset_delta = records - 1;
  h.records_count = records;
  h.base_timestamp = max_timestamp;
  h.max_timestamp = max_timestamp;
  std::string body;
  for (std::int32_t i = 0; i < records; ++i) body += record(0, i, i == 0 ? payload : std::string());
  return build_record_batch(h, body);
}

// make_batch from an idempotent producer: its id, epoch and first sequence.
inline std::string make_idempotent_batch(std::int32_t records, std::int64_t max_timestamp, const std::string& payload,
                                         std::int64_t producer_id, std::int16_t epoch, std::int32_t sequence) {
  record_batch_header h;
  h.last_offset_delta = records - 1;
  h.records_count = records;
  h.base_timestamp = max_timestamp;
  h.max_timestamp = max_timestamp;
  h.producer_id = producer_id;
  h.producer_epoch = epoch;
  h.base_sequence = sequence;
  std::string body;
  for (std::int32_t i = 0; i < records; ++i) body += record(0, i, i == 0 ? payload : std::string());
  return build_record_batch(h, body);
}

// make_idempotent_batch inside a transaction (the transactional attribute bit, KIP-98).
inline std::string make_transactional_batch(std::int32_t records, std::int64_t max_timestamp, const std::string& payload,
                                            std::int64_t producer_id, std::int16_t epoch, std::int32_t sequence) {
  record_batch_header h;
  h.attributes = 0x10;
  h.last_offset_delta = records - 1;
  h.records_count = records;
  h.base_timestamp = max_timestamp;
  h.max_timestamp = max_timestamp;
  h.producer_id = producer_id;
  h.producer_epoch = epoch;
  h.base_sequence = sequence;
  std::string body;
  for (std::int32_t i = 0; i < records; ++i) body += record(0, i, i == 0 ? payload : std::string());
  return build_record_batch(h, body);
}

// A batch with its base offset and leader epoch zeroed: what the producer sent, for comparisons.
inline std::string unstamped(std::string batch) {
  set_base_offset(batch, 0, 0);
  set_partition_leader_epoch(batch, 0, -1);
  return batch;
}

class partition_cluster {
 public:
  // cache_bytes: each node's entry cache (partition_manager_config::entry_cache_bytes).
  // defaults: each manager's partition defaults (partition_manager_config::defaults).
  explicit partition_cluster(std::size_t nodes = 3, std::uint64_t cache_bytes = partition_manager_config{}.entry_cache_bytes,
                             partition_config defaults = {})
      : cache_bytes_(cache_bytes), defaults_(defaults), dirs_(nodes), hosts_(nodes), managers_(nodes), cut_(nodes, false) {
    log_ = std::make_shared<spdlog::logger>("partition_test", std::make_shared<spdlog::sinks::null_sink_mt>());
    for (std::size_t i = 0; i < nodes; ++i) open(i);
  }
  ~partition_cluster() {
    for (auto& m : managers_) m.reset();
    for (auto& h : hosts_) h.reset();
  }

  std::size_t size() const { return hosts_.size(); }
  consensus::raft_host& host(std::size_t i) { return *hosts_[i]; }
  const std::filesystem::path& dir(std::size_t i) const { return dirs_[i].path(); }
  partition_manager& manager(std::size_t i) { return *managers_[i]; }
  fake_clock& clock() { return clock_; }
  asio::io_context& io() { return io_; }

  // Node i's batches, both ways, are dropped while cut.
  void cut(std::size_t i) { cut_[i] = true; }
  void heal(std::size_t i) { cut_[i] = false; }

  static consensus::raft_config raft() {
    consensus::raft_config c;
    c.election_timeout_ticks_min = 10;
    c.election_timeout_ticks_max = 20;
    return c;
  }

  // A one-partition topic on every node (ensure() ignores nodes that are not replicas).
  metadata::partition_ref create(const std::string& topic, std::uint64_t group, std::vector<node_id> replicas,
                                 std::map<std::string, std::string> configs = {}) {
    metadata::topic_record t;
    t.name = topic;
    t.id.bytes[0] = static_cast<std::uint8_t>(group);
    t.configs = std::move(configs);
    // A partition that never moved: every replica bootstraps the creation voters.
    metadata::partition_ref ref{t.id, 0, group_id{group}, metadata::incarnation{group}, replicas, replicas, {}};
    // The first replica last, once the others' groups run: it campaigns as soon as its own group
    // runs (partition_replica::campaign_if_first), and a peer whose group was not running yet
    // dropped its vote request, so the first election's term depended on the disk threads' timing
    // (two clusters built alike then stamped different leader epochs into their batches).
    const auto first = [&](std::size_t i) {
      return !replicas.empty() && node_id{static_cast<std::uint32_t>(i + 1)} == replicas.front();
    };
    for (bool first_pass : {true, false}) {
      for (std::size_t i = 0; i < managers_.size(); ++i) {
        if (first(i) != first_pass) {
          EXPECT_TRUE(managers_[i]->ensure(ref, t).has_value());
        }
      }
      EXPECT_TRUE(settle());
    }
    created_.emplace_back(ref, std::move(t));
    return ref;
  }

  // Restarts node i as after a clean stop: its manager and host close and reopen on the same
  // data directory, and the node ensures every created partition again, which reopens the groups
  // the host recovered from the WAL and replays their logs into new replicas.
  bool restart(std::size_t i) {
    if (!settle()) return false;
    managers_[i].reset();
    hosts_[i].reset();
    open(i);
    for (const auto& [ref, t] : created_)
      if (!managers_[i]->ensure(ref, t).has_value()) return false;
    return settle();
  }

  bool settle() {
    for (int round = 0; round < 1'000'000; ++round) {
      if (io_.poll() > 0) continue;
      bool idle = true;
      for (auto& h : hosts_) idle = idle && h->idle();
      if (idle) return true;
      io_.run_one_for(std::chrono::seconds(10));
    }
    return false;
  }

  // One tick of every host and manager, then settle.
  bool tick_all() {
    for (auto& h : hosts_) h->tick();
    for (auto& m : managers_) m->tick();
    return settle();
  }

  bool run_until(const std::function<bool()>& done, int max_ticks = 400) {
    if (!settle()) return false;
    for (int t = 0; t < max_ticks; ++t) {
      if (done()) return true;
      if (!tick_all()) return false;
    }
    return done();
  }

  // Makes node i the leader and waits until every node that is not cut knows it and i is ready
  // to serve (every earlier entry applied). A reachable leader hands over (Raft dissertation
  // §3.10): a plain campaign would be refused by followers inside the leader's lease
  // (check-quorum), for as long as a quiesced group stays quiet.
  bool elect(group_id g, std::size_t i) {
    std::optional<std::size_t> current;
    for (std::size_t n = 0; n < size(); ++n) {
      auto s = hosts_[n]->status(g);
      if (!cut_[n] && !cut_[i] && s && s->state == consensus::role::leader && n != i) current = n;
    }
    const bool started = current ? hosts_[*current]->transfer_leadership(g, node_id{static_cast<std::uint32_t>(i + 1)}).has_value()
                                 : hosts_[i]->campaign(g).has_value();
    if (!started) return false;
    return run_until([&] {
      for (std::size_t n = 0; n < size(); ++n) {
        if (cut_[n]) continue;
        auto s = hosts_[n]->status(g);
        if (s && s->leader != node_id{static_cast<std::uint32_t>(i + 1)}) return false;
      }
      auto* r = managers_[i]->find(g);
      return r != nullptr && r->leader_ready();
    });
  }

  const std::shared_ptr<spdlog::logger>& log() const { return log_; }

 private:
  void open(std::size_t i) {
    consensus::host_config cfg;
    cfg.self = node_id{static_cast<std::uint32_t>(i + 1)};
    cfg.data_dir = dirs_[i].path();
    cfg.rng_seed = 31 + i;
    auto h = consensus::raft_host::open(io_, cfg, [this, i](node_id to, std::vector<consensus::group_message> msgs) {
      if (cut_[i] || cut_[to.value() - 1]) return;
      asio::post(io_, [this, from = node_id{static_cast<std::uint32_t>(i + 1)}, to, msgs = std::move(msgs)]() mutable {
        if (cut_[to.value() - 1] || cut_[from.value() - 1]) return;
        hosts_[to.value() - 1]->step(from, std::move(msgs));
      });
    }, log_);
    ASSERT_TRUE(h.has_value()) << h.error().text;
    hosts_[i] = std::move(*h);
    partition_manager_config mc;
    mc.raft = raft();
    mc.steady_now = [this] { return clock_.steady; };
    mc.wall_now_ms = [this] { return clock_.wall_ms; };
    mc.entry_cache_bytes = cache_bytes_;
    mc.defaults = defaults_;
    managers_[i] = std::make_unique<partition_manager>(*hosts_[i], node_id{static_cast<std::uint32_t>(i + 1)}, mc, log_);
  }

  std::uint64_t cache_bytes_;
  partition_config defaults_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
  std::shared_ptr<spdlog::logger> log_;
  fake_clock clock_;
  std::vector<consensus::testing::scratch_dir> dirs_;
  std::vector<std::unique_ptr<consensus::raft_host>> hosts_;
  std::vector<std::unique_ptr<partition_manager>> managers_;
  std::vector<bool> cut_;
  std::vector<std::pair<metadata::partition_ref, metadata::topic_record>> created_;
};

// What a test sees of one produce: answered or not, and the answer.
struct produce_probe {
  bool answered = false;
  std::expected<produce_ack, produce_error> result = std::unexpected(partition_errc::storage_failed);
  produce_done callback() {
    return [this](std::expected<produce_ack, produce_error> r) {
      EXPECT_FALSE(answered) << "a produce was answered twice";
      answered = true;
      result = std::move(r);
    };
  }
};

}  // namespace chronik::kafka::testing
