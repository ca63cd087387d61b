// A seeded simulated network for deterministic tests (docs/design.md "Testing"): it delays, drops,
// duplicates and reorders packets, cuts or rejects links one way or both, and holds packets for
// paused nodes. A node that is down is silent (a dead host) or bounces what reaches it back to the
// sender (a dead process on a live host, whose kernel answers ICMP port unreachable). Packets are
// delivered in (tick, send order), so one seed always replays the same run.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "base/rng.h"

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
  // A bounce reaches the original sender: `to` is where the packet was going.
  using bounce_fn = std::function<void(int sender, int to, const Packet&)>;
  // Bound on packets in flight; beyond it new packets are dropped, as a full socket buffer would.
  static constexpr std::size_t max_in_flight = 1'000'000;

  explicit sim_network(std::uint64_t seed) : rng_(seed) {}

  network_faults faults;

  void send(int from, int to, Packet p, bool lossy = true) {
    ++sent_;
    if (blocked_.contains({from, to})) return;
    if (down_.contains(to) || rejected_.contains({from, to})) return bounce(from, to, std::move(p), lossy);
    if (lossy && faults.loss_percent > 0 && rng_.below(100) < faults.loss_percent) return;
    const int copies = faults.duplicate_percent > 0 && rng_.below(100) < faults.duplicate_percent ? 2 : 1;
    for (int i = 0; i < copies; ++i) enqueue(flight{from, to, p});
  }

  // Advances time by one tick and delivers what is due. Packets to a paused node wait for it;
  // packets over a link cut after sending are lost, as on a real partition.
  void tick(const deliver_fn& deliver, const bounce_fn& bounced = {}) {
    ++now_;
    std::vector<flight> held;
    while (!queue_.empty() && queue_.begin()->first.first <= now_) {
      auto node = queue_.extract(queue_.begin());
      flight& f = node.mapped();
      if (f.bounce) {  // f.to is the original sender, f.from where its packet went
        if (paused_.contains(f.to)) held.push_back(std::move(f));
        else if (bounced && !down_.contains(f.to)) bounced(f.to, f.from, f.packet);
        continue;
      }
      if (blocked_.contains({f.from, f.to})) continue;
      if (down_.contains(f.to) || rejected_.contains({f.from, f.to})) {
        bounce(f.from, f.to, std::move(f.packet), true);
        continue;
      }
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
  // A firewall REJECT rule: packets from `from` to `to` bounce back as port unreachable.
  void reject(int from, int to) { rejected_.insert({from, to}); }
  void heal() { blocked_.clear(), rejected_.clear(); }
  void pause(int node) { paused_.insert(node); }
  void resume(int node) { paused_.erase(node); }
  bool paused(int node) const { return paused_.contains(node); }
  // bounces: whether packets reaching the down node come back to their sender.
  void set_down(int node, bool down, bool bounces = false) {
    down ? (void)down_.insert(node) : (void)down_.erase(node);
    bounces && down ? (void)bouncing_.insert(node) : (void)bouncing_.erase(node);
  }
  bool down(int node) const { return down_.contains(node); }

  std::uint64_t now() const { return now_; }
  std::uint64_t sent() const { return sent_; }
  rng& random() { return rng_; }

 private:
  struct flight {
    int from;
    int to;
    Packet packet;
    bool bounce = false;
  };
  void enqueue(flight f) {
    if (queue_.size() >= max_in_flight) return;
    const auto spread = faults.delay_max_ticks - faults.delay_min_ticks + 1;
    const std::uint64_t at = now_ + faults.delay_min_ticks + rng_.below(spread);
    queue_.emplace(std::pair{at, order_++}, std::move(f));
  }
  // The down node's host answers over the reverse link, which a cut or loss can stop.
  void bounce(int from, int to, Packet p, bool lossy) {
    const bool answers = bouncing_.contains(to) || rejected_.contains({from, to});
    if (!answers || blocked_.contains({to, from})) return;
    if (lossy && faults.loss_percent > 0 && rng_.below(100) < faults.loss_percent) return;
    enqueue(flight{to, from, std::move(p), true});
  }
  rng rng_;
  std::uint64_t now_ = 0;
  std::uint64_t order_ = 0;
  std::uint64_t sent_ = 0;
  std::map<std::pair<std::uint64_t, std::uint64_t>, flight> queue_;
  std::set<std::pair<int, int>> blocked_;
  std::set<int> paused_;
  std::set<int> down_;
  std::set<int> bouncing_;
  std::set<std::pair<int, int>> rejected_;
};

}  // namespace chronik::sim
