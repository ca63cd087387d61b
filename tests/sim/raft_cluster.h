// N Raft cores on a sim_network, each with a memory_storage "disk" that only holds what was
// persisted: a crash loses the ready still in flight to disk. Invariants are checked after every
// tick; every violation message carries the seed through the caller. With quiescence on, a
// liveness oracle plays SWIM's part (docs/raft.md "Quiescence"): it wakes a quiesced node whose
// leader has been crashed, paused or cut off from it for a while.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "consensus/core/memory_storage.h"
#include "consensus/core/raft.h"
#include "tests/sim/sim_network.h"

namespace chronik::sim {

// How a wiped node comes back (docs/raft.md "Rejoining replicas"): marked rejoining, as the host
// starts it, or as a plain fresh voter, the hazard the mark exists for.
enum class wipe_mode : std::uint8_t { rejoin, unsafe_fresh };

class raft_cluster {
 public:
  raft_cluster(std::uint64_t seed, int size, consensus::raft_config cfg);

  void run(std::uint64_t ticks);
  std::optional<std::uint64_t> run_until(const std::function<bool()>& pred, std::uint64_t max_ticks);

  // Proposes `data` at whichever node believes it leads; returns false when none does.
  bool propose(const std::string& data);
  void crash(int i);
  void restart(int i);
  // Crashes node i and restarts it on an empty disk bootstrapped like the first one.
  void wipe(int i, wipe_mode mode);
  // Node i runs and has not caught up since it was wiped.
  bool rejoining(int i) const { return nodes_[i].core && nodes_[i].core->status().rejoining; }
  // Links, through the cluster so that the liveness oracle knows them.
  void cut(int from, int to);
  void heal();
  // From now on, wake a quiesced node whose leader has been unreachable from it (crashed, paused,
  // or a link cut either way) for `delay_ticks` in a row, as SWIM would once it confirms a death.
  void enable_liveness_oracle(std::uint64_t delay_ticks);
  bool running(int i) const { return nodes_[i].core != nullptr; }
  // Snapshot and compact node i's log up to what it applied (§7).
  void compact(int i);
  // Maintenance mode (docs/raft.md "Reluctant campaigns"): node i's campaign mode, kept across its
  // restarts as the node's drain service keeps it. A leadership transfer from a running leader i
  // to `to` (dissertation §3.10); false when the core refuses it.
  void set_campaign_mode(int i, consensus::campaign_mode mode);
  bool transfer(int i, int to);

  // The node that leads in the highest term among running nodes, if any.
  std::optional<int> leader() const;
  // Every running node has applied every acknowledged (committed) proposal.
  bool all_applied_acknowledged() const;
  // Checks that need whole logs (log matching, §5.3); cheap enough to run every few hundred ticks.
  void check_logs();
  // One line per node (role, term, commit, applied, log range) for failure messages.
  std::string describe() const;

  sim_network<consensus::message>& net() { return net_; }
  const consensus::raft& core(int i) const { return *nodes_[i].core; }
  int size() const { return static_cast<int>(nodes_.size()); }
  const std::vector<std::string>& violations() const { return violations_; }
  std::size_t acknowledged() const { return acked_.size(); }
  std::uint64_t committed_entries() const { return committed_.size(); }
  // Ticks at which some core was quiesced, and wakes the oracle handed out.
  std::uint64_t quiesced_ticks() const { return quiesced_ticks_; }
  std::uint64_t oracle_wakes() const { return oracle_wakes_; }

 private:
  struct node {
    std::unique_ptr<consensus::memory_storage> disk;
    std::unique_ptr<consensus::raft> core;
    // A ready taken from the core whose persistence is still in progress (disk latency).
    std::optional<consensus::ready> writing;
    std::uint64_t write_done_at = 0;
    std::vector<std::pair<consensus::log_index, std::string>> applied;  // what this node applied
    consensus::log_index applied_index;
    consensus::hard_state last_hard_state;
    consensus::campaign_mode mode = consensus::campaign_mode::eager;
  };

  void tick_node(int i);
  void start_write(int i);
  void finish_write(int i);
  void check_invariants();
  void violation(std::string what);
  bool reachable(int from, int to) const;
  void run_liveness_oracle();

  std::uint64_t seed_;
  consensus::raft_config cfg_;
  sim_network<consensus::message> net_;
  std::vector<node> nodes_;
  std::map<std::uint64_t, int> leaders_by_term_;
  // The one committed value per index, as first applied anywhere (state machine safety, §5.4.3).
  std::map<std::uint64_t, std::pair<std::uint64_t, std::string>> committed_;
  // For each committed index, an upper bound of the term in which it committed (the highest term
  // any node had when it was first applied): every leader of a later term must hold it (§5.4).
  std::map<std::uint64_t, std::uint64_t> commit_term_bound_;
  std::set<std::string> proposed_;
  std::set<std::string> acked_;  // proposals known committed
  std::vector<std::string> violations_;
  std::uint64_t proposals_ = 0;

  std::set<std::pair<int, int>> cuts_;
  std::optional<std::uint64_t> oracle_delay_ticks_;
  std::map<std::pair<int, int>, std::uint64_t> unreachable_since_;  // (observer, node) -> tick
  std::uint64_t quiesced_ticks_ = 0;
  std::uint64_t oracle_wakes_ = 0;
};

}  // namespace chronik::sim
