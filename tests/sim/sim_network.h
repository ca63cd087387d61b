// A seeded simulated network for deterministic tests (DESIGN.md §2): it delays, drops, duplicates
// and reorders packets, cuts links one way or both, and holds packets for paused nodes. Packets are
// delivered in (tick, send order), so one seed always replays the same run.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "gossip/core/rng.h"

namespace chronik::sim {

struct network_faults {
  std::uint32_t loss_percent = 0;       // each packet dropped with this probability
  std::uint32_t duplicate_percent = 0;  // each delivered packet delivered twice with this probability
  std::uint64_t delay_min_ticks = 1;
  std::uint64_t delay_max_ticks = 1;  // uniform in [min, max]; a spread reorders packets
};

template <typename Packet>
class sim_network {
 public:
  using deliver_fn = std::function<void(int from, int to, const Packet&)>;
  // Bound on packets in flight; beyond it new packets are dropped, as a full socket buffer would.
  static constexpr std::size_t max_in_flight = 1'000'000;

  explicit sim_network(std::uint64_t seed) : rng_(seed) {}

  network_faults faults;

  void send(int from, int to, Packet p, bool lossy = true) {
    ++sent_;
    if (blocked_.contains({from, to}) || down_.contains(to)) return;
    if (lossy && faults.loss_percent > 0 && rng_.below(100) < faults.loss_percent) return;
    const int copies = faults.duplicate_percent > 0 && rng_.below(100) < faults.duplicate_percent ? 2 : 1;
    for (int i = 0; i < copies && queue_.size() < max_in_flight; ++i) {
      const auto spread = faults.delay_max_ticks - faults.delay_min_ticks + 1;
      const std::uint64_t at = now_ + faults.delay_min_ticks + rng_.below(spread);
      queue_.emplace(std::pair{at, order_++}, flight{from, to, p});
    }
  }

  // Advances time by one tick and delivers what is due. Packets to a paused node wait for it;
  // packets over a link cut after sending are lost, as on a real partition.
  void tick(const deliver_fn& deliver) {
    ++now_;
    std::vector<flight> held;
    while (!queue_.empty() && queue_.begin()->first.first <= now_) {
      auto node = queue_.extract(queue_.begin());
      flight& f = node.mapped();
      if (down_.contains(f.to) || blocked_.contains({f.from, f.to})) continue;
      if (paused_.contains(f.to)) {
        held.push_back(std::move(f));
        continue;
      }
      deliver(f.from, f.to, f.packet);
    }
    for (auto& f : held) queue_.emplace(std::pair{now_ + 1, order_++}, std::move(f));
  }

  void cut(int from, int to) { blocked_.insert({from, to}); }
  void cut_both(int a, int b) { cut(a, b), cut(b, a); }
  void heal() { blocked_.clear(); }
  void pause(int node) { paused_.insert(node); }
  void resume(int node) { paused_.erase(node); }
  bool paused(int node) const { return paused_.contains(node); }
  void set_down(int node, bool down) { down ? (void)down_.insert(node) : (void)down_.erase(node); }
  bool down(int node) const { return down_.contains(node); }

  std::uint64_t now() const { return now_; }
  std::uint64_t sent() const { return sent_; }
  gossip::rng& random() { return rng_; }

 private:
  struct flight {
    int from;
    int to;
    Packet packet;
  };
  gossip::rng rng_;
  std::uint64_t now_ = 0;
  std::uint64_t order_ = 0;
  std::uint64_t sent_ = 0;
  std::map<std::pair<std::uint64_t, std::uint64_t>, flight> queue_;
  std::set<std::pair<int, int>> blocked_;
  std::set<int> paused_;
  std::set<int> down_;
};

}  // namespace chronik::sim
