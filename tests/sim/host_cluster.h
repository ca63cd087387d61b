// A seeded cluster of multi-Raft hosts for the host simulation (tests/sim/host_sim_test.cc):
// every host runs the production host_core (consensus/groups/host_core.h) over a simulated disk
// (host_disk.h) and a seeded network, and this file is its shell: it moves messages, disk
// batches and time, exactly as raft_host does on the Asio and disk threads.
//
// The checker (docs/raft_host.md "Simulation"):
//   - State Machine Safety (Raft paper §5.4.3): every host applies, at each index of a group, the
//     entry first applied there anywhere, in order and without gaps;
//   - nothing acknowledged is lost: an entry applied anywhere (a client was told it committed) is
//     on the durable disk of a majority of the group's voters, checked after every crash and at
//     the end (Raft paper §5.4: a leader needs it to win an election);
//   - with an honest disk, a host applies an entry only once it is durable on its own disk, and
//     reports persisted only what is; a message leaves only once what it claims is durable (its
//     term, a granted vote, an acknowledged index: Raft paper §5.1, Figure 2);
//   - only heartbeats and their answers take the urgent lane, in outbox calls of their own;
//   - after healing, every group elects a leader and commits on every host (liveness).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/rng.h"
#include "consensus/groups/host_core.h"
#include "tests/sim/host_disk.h"

namespace chronik::sim {

struct host_sim_options {
  int hosts = 3;
  int groups = 8;
  std::uint32_t loss_percent = 0;
  std::uint64_t max_delay_ticks = 3;  // delays uniform in [1, max]: reorders packets
  disk_faults disk;
};

struct host_sim_counts {
  std::uint64_t acked = 0;          // distinct entries applied somewhere
  std::uint64_t crashes = 0;
  std::uint64_t disk_failures = 0;  // hosts fenced by a failed write
  std::uint64_t urgent_packets = 0;
  std::uint64_t batches = 0;
  std::uint64_t compactions = 0;  // snapshots the owners asked for
  std::uint64_t snapshots_installed = 0;  // from a leader or the disk at restart
};

class host_cluster {
 public:
  host_cluster(std::uint64_t seed, host_sim_options opt);
  ~host_cluster();

  rng& random() { return rng_; }
  // One tick: deliver due packets, complete disk batches, tick every running host.
  void run(int ticks);
  // Proposes on the host that leads `group` with the highest term, if any.
  bool propose(int group, std::string data);
  void crash(int host);      // power loss: the disk keeps what survives; back 20-80 ticks later
  void restart(int host);    // reopen from the durable disk
  bool running(int host) const;
  void isolate(int host, bool cut);
  void heal();
  // Checks that every acknowledged entry is durable on a majority.
  void check_durable();
  // Heals everything and requires each group to commit a fresh entry on every host within
  // `ticks`.
  void converge(int ticks);

  const std::vector<std::string>& violations() const { return violations_; }
  const host_sim_counts& counts() const { return counts_; }
  int hosts() const { return static_cast<int>(nodes_.size()); }

 private:
  struct node;
  struct packet {
    int from = 0;
    int to = 0;
    std::vector<consensus::group_message> msgs;
  };

  void send(int from, consensus::outgoing& out, bool urgent);
  void check_claims(const node& n, const consensus::outgoing& out);
  void flush(node& n);
  void carry_out(node& n, consensus::host_output& out);
  void apply(node& n, consensus::apply_batch& b);
  void violation(std::string what);
  void create_groups(node& n);

  host_sim_options opt_;
  rng rng_;
  std::uint64_t now_ = 0;
  std::uint64_t seq_ = 0;
  std::vector<std::unique_ptr<node>> nodes_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, packet> net_;  // (due tick, seq) -> packet
  std::set<int> isolated_;
  // Per group: index -> (term, data) of the entry first applied there: the committed history.
  std::vector<std::map<std::uint64_t, std::pair<std::uint64_t, std::string>>> history_;
  std::vector<std::string> violations_;
  host_sim_counts counts_;
};

}  // namespace chronik::sim
