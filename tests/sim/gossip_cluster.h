// N gossip cores on a sim_network, with the invariant checks run after every tick. Used by the
// seeded gossip simulation tests; every failure message carries the seed that replays it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gossip/core/membership.h"
#include "tests/sim/sim_network.h"

namespace chronik::sim {

using gossip_packet = gossip::outbound_packet;

// Whether a second process claiming a node id may take it over from a dead holder
// (chronik-server start --replace-node; gossip::self_identity::replace_dead_holder).
enum class id_takeover : std::uint8_t { refuse, replace_dead_holder };

class gossip_cluster {
 public:
  gossip_cluster(std::uint64_t seed, gossip::config cfg, int size, std::string cluster = "sim");

  // Starts (or restarts) node i with the given seeds. A restart keeps the node id; new_uuid models
  // a wiped data directory. Without `meta`, each node's metadata names its uuid, so that
  // converged() also catches metadata mixed up between members or stale after a restart.
  void start(int i, const std::vector<int>& seeds, bool new_uuid = false, std::optional<std::string> meta = std::nullopt);
  // Starts slot i as a second process claiming the node id of slot `as`, with its own uuid and
  // slot i's address (docs/bootstrap.md property 7). A node that yields its id (its core reports
  // a conflict) stops, as the daemon exits 2; yielded(i) says so.
  void start_impostor(int i, int as, const std::vector<int>& seeds,
                      id_takeover takeover = id_takeover::refuse);
  bool yielded(int i) const { return nodes_[i].yielded; }
  void set_meta(int i, std::string meta) { nodes_[i].core->set_meta(std::move(meta)); }
  // A crash of the process on a live host (bounces: its kernel answers the datagrams that still
  // reach it with ICMP port unreachable) or of the whole host (silent).
  void crash(int i, bool bounces = false);
  void leave(int i);

  void run(std::uint64_t ticks);
  // Runs until pred() holds, checked after every tick; returns the ticks taken, or nullopt after
  // max_ticks.
  std::optional<std::uint64_t> run_until(const std::function<bool()>& pred, std::uint64_t max_ticks);

  // True when every running node sees exactly the running nodes as alive, with their current
  // metadata, and the rest not alive.
  bool converged() const;
  // The first disagreement that keeps converged() false, for failure messages.
  std::string divergence() const;
  // True when every running node other than `who` sees `who` in `state`.
  bool all_see(int who, gossip::member_state state) const;

  sim_network<gossip_packet>& net() { return net_; }
  const gossip::membership& core(int i) const { return *nodes_[i].core; }
  bool running(int i) const { return nodes_[i].running; }
  int size() const { return static_cast<int>(nodes_.size()); }
  std::string addr(int i) const { return "10.0.0." + std::to_string(i + 1) + ":7946"; }
  std::uint64_t seed() const { return seed_; }

  // Invariant violations found so far (empty when all hold).
  const std::vector<std::string>& violations() const { return violations_; }
  // (observer, victim, tick) for each time a running node was declared dead by a running node.
  struct false_dead {
    int observer;
    int victim;
    std::uint64_t tick;
  };
  const std::vector<false_dead>& false_deaths() const { return false_deaths_; }

 private:
  struct node {
    std::unique_ptr<gossip::membership> core;
    bool running = false;
    std::string uuid;
    std::uint32_t generation = 0;
    std::uint32_t id = 0;  // 0: slot + 1
    bool yielded = false;
  };
  void start_as(int i, std::uint32_t id, const std::vector<int>& seeds, std::string meta,
                id_takeover takeover = id_takeover::refuse);
  void drain(int i);
  void check_invariants();
  int index_of(const std::string& addr) const;

  std::uint64_t seed_;
  gossip::config cfg_;
  std::string cluster_;
  sim_network<gossip_packet> net_;
  std::vector<node> nodes_;
  // Highest incarnation each observer has recorded per (member id, uuid): it must never go back.
  std::map<std::tuple<int, std::uint32_t, std::string>, std::uint64_t> seen_inc_;
  std::vector<std::string> violations_;
  std::vector<false_dead> false_deaths_;
};

}  // namespace chronik::sim
