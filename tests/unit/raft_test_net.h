// A hand-driven network of Raft cores for the paper tests: every node persists its ready at once
// into a memory_storage, and messages are delivered only when the test says so, in order, with
// links that can be cut. Deterministic: each core gets a fixed seed.
#pragma once

#include <deque>
#include <stdexcept>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "consensus/core/memory_storage.h"
#include "consensus/core/raft.h"

namespace chronik::consensus::testing {

inline raft_config test_config() {
  raft_config c;
  c.election_timeout_ticks_min = 10;
  c.election_timeout_ticks_max = 20;
  c.heartbeat_ticks = 1;
  return c;
}

inline node_id nid(std::uint64_t v) { return node_id{static_cast<std::uint32_t>(v)}; }

// How a wiped node comes back (docs/raft.md "Rejoining replicas"): marked rejoining, as the host
// starts it, or as a plain fresh voter, the hazard the mark exists for.
enum class rejoin_mode : std::uint8_t { rejoin, unsafe_fresh };

class raft_net {
 public:
  explicit raft_net(std::size_t n, raft_config cfg = test_config(), std::size_t voters = 0) : cfg_(cfg) {
    conf_state& conf = conf_;
    for (std::uint64_t i = 1; i <= (voters ? voters : n); ++i) conf.voters.push_back(nid(i));
    for (std::uint64_t i = 1; i <= n; ++i) {
      // Nodes beyond `voters` start with an empty configuration and learn theirs from the leader.
      disks_[i] = std::make_unique<memory_storage>(i <= conf.voters.size() ? conf : conf_state{});
      start(i);
    }
  }

  raft& node(std::uint64_t id) { return *cores_.at(id); }
  bool has(std::uint64_t id) const { return cores_.contains(id); }
  memory_storage& disk(std::uint64_t id) { return *disks_.at(id); }
  const std::vector<entry>& applied(std::uint64_t id) { return applied_[id]; }

  void start(std::uint64_t id) {
    cores_[id] = std::make_unique<raft>(cfg_, nid(id), *disks_.at(id), id * 7919);
    applied_[id].clear();
  }
  void crash(std::uint64_t id) { cores_.erase(id); }
  // Crashes `id` and restarts it on an empty disk bootstrapped like the first one.
  void wipe(std::uint64_t id, rejoin_mode mode) {
    crash(id);
    disks_[id] = std::make_unique<memory_storage>(conf_);
    if (mode == rejoin_mode::rejoin) {
      hard_state hs = disks_[id]->initial_hard_state();
      hs.rejoining = true;
      disks_[id]->persist(hs, std::nullopt, {});
    }
    start(id);
  }
  void add_node(std::uint64_t id) {
    disks_[id] = std::make_unique<memory_storage>(conf_state{});
    start(id);
  }

  void cut(std::uint64_t a, std::uint64_t b) { cut_.insert({a, b}), cut_.insert({b, a}); }
  void cut_one_way(std::uint64_t from, std::uint64_t to) { cut_.insert({from, to}); }
  void isolate(std::uint64_t id) {
    for (auto& [other, _] : disks_)
      if (other != id) cut(id, other);
  }
  void heal() { cut_.clear(); }

  void tick(std::uint64_t id, int n = 1) {
    for (int i = 0; i < n; ++i) node(id).tick();
  }
  // Elects `id` by timing it out and letting the network settle.
  void elect(std::uint64_t id) {
    node(id).campaign();
    stabilize();
  }

  // Takes every node's ready (persist, queue messages, apply, advance) and delivers queued messages
  // until nothing moves. Bounded: a livelock fails loudly instead of hanging.
  void stabilize() {
    for (int round = 0; round < 10000; ++round) {
      collect();
      if (queue_.empty()) return;
      deliver_all();
    }
    throw std::runtime_error("network did not settle");
  }

  // Finer control for reorder and duplication tests.
  void collect() {
    for (auto& [id, core] : cores_) {
      while (core->has_ready()) {
        ready rd = core->get_ready();
        disks_.at(id)->persist(rd.hard_state_update, rd.snapshot_update, rd.entries);
        for (auto& m : rd.messages) queue_.push_back(m);
        for (auto& e : rd.committed_entries) applied_[id].push_back(e);
        for (auto& r : rd.read_states) reads_[id].push_back(r);
        core->advance(rd);
      }
    }
  }
  std::deque<message>& queue() { return queue_; }
  void deliver(const message& m) {
    if (cut_.contains({m.from.value(), m.to.value()}) || !cores_.contains(m.to.value())) return;
    cores_.at(m.to.value())->step(m);
  }
  void deliver_all() {
    auto pending = std::move(queue_);
    queue_.clear();
    for (const auto& m : pending) deliver(m);
  }
  // Drops queued messages (a lossy moment).
  void drop_queued() { queue_.clear(); }
  std::vector<read_state>& reads(std::uint64_t id) { return reads_[id]; }

  std::size_t leader_count() const {
    std::size_t n = 0;
    for (const auto& [id, core] : cores_) n += core->state() == role::leader ? 1 : 0;
    return n;
  }

  std::vector<std::string> applied_data(std::uint64_t id) {
    std::vector<std::string> out;
    for (const auto& e : applied_[id])
      if (e.type == entry_type::normal && !e.data.empty()) out.push_back(e.data.str());
    return out;
  }

 private:
  raft_config cfg_;
  conf_state conf_;
  std::map<std::uint64_t, std::unique_ptr<memory_storage>> disks_;
  std::map<std::uint64_t, std::unique_ptr<raft>> cores_;
  std::map<std::uint64_t, std::vector<entry>> applied_;
  std::map<std::uint64_t, std::vector<read_state>> reads_;
  std::deque<message> queue_;
  std::set<std::pair<std::uint64_t, std::uint64_t>> cut_;
};

}  // namespace chronik::consensus::testing
