// Gossip, bootstrap and the `__meta` Raft group together (docs/design.md "Testing", "Formation"): N
// nodes each run a gossip core, a bootstrap core whose persisted state survives crashes, and, once
// a member, a Raft core for `__meta` driving the production `__meta` node core (metadata/meta_node.h,
// the same one daemon/meta_service.cc runs): it applies to the real state machine, and on the
// leader runs the controller, which registers brokers, marks those SWIM says are down dead, adds
// joiners as learners, promotes them up to meta_voters and replaces voters SWIM has confirmed dead
// for voter_replace_after (properties 5 and 6), and takes decommissioned nodes out; on a joiner it
// notices the join, and on every node it judges health. A leader that should lead nothing (drained
// or being decommissioned) hands the group over as daemon/drain_service.cc does, by the pure
// metadata::drain_target. This file is only a shell: it moves messages and time and carries out the
// core's ready, as meta_service does. Checks run after every tick.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "consensus/core/memory_storage.h"
#include "consensus/core/raft.h"
#include "metadata/core/bootstrap.h"
#include "metadata/meta_node.h"
#include "tests/sim/gossip_cluster.h"

namespace chronik::sim {

// The controller's settings in the simulation; ticks are 10 ms.
struct controller_settings {
  std::uint32_t meta_voters = 0;  // 0: automatic
  std::uint64_t voter_replace_after_ticks = 100;
};

class formation_cluster {
 public:
  formation_cluster(std::uint64_t seed, int size, std::uint32_t expect, controller_settings ctl = {});

  // Starts node i (keeping its data directory unless wiped) with the given seeds.
  void start(int i, const std::vector<int>& seeds, bool wiped = false);
  void crash(int i);
  void run(std::uint64_t ticks);
  std::optional<std::uint64_t> run_until(const std::function<bool()>& pred, std::uint64_t max_ticks);

  // Every running node is a member of one cluster whose leader has registered all of them, and
  // every running node's core judges itself healthy (a registered broker with a known leader).
  bool formed_with_all_registered() const;
  const metadata::formation& persisted(int i) const { return nodes_[i].disk; }
  bool running(int i) const { return gossip_.running(i); }
  gossip_cluster& gossip() { return gossip_; }
  const std::vector<std::string>& violations() const { return violations_; }
  std::string describe() const;
  std::size_t clusters_formed() const { return formed_.size(); }
  // Linearizable reads served, and reads that failed (timed out or refused by Raft), so far.
  std::uint64_t reads_linearizable() const { return reads_linearizable_; }
  std::uint64_t reads_failed() const { return reads_failed_; }
  // The `__meta` leader among running nodes, if any (-1 otherwise).
  int leader() const;
  // The leader's configuration and registry (leader() must be >= 0).
  const consensus::conf_state& leader_conf() const;
  const metadata::meta_data& leader_registry() const;
  // Proposes `__meta` command bytes through the leader, as an admin request does; false without one
  // or when its Raft refuses.
  bool propose(std::string command);

 private:
  struct raft_packet {
    std::string cluster_id;
    consensus::message msg;
  };
  struct pending_read {
    std::uint64_t id = 0;
    std::uint64_t committed = 0;  // the highest commit index of the cluster when it was asked
  };
  struct node {
    metadata::formation disk;  // persisted formation state: survives crashes, not wipes
    std::unique_ptr<metadata::bootstrap> boot;
    std::unique_ptr<consensus::memory_storage> raft_disk;
    std::unique_ptr<consensus::raft> raft;
    std::string raft_cluster;     // the cluster whose `__meta` group runs here
    std::string joining;          // a cluster we asked to join
    std::unique_ptr<metadata::meta_node> meta;  // the `__meta` node core: state and decisions
    std::optional<metadata::health_verdict> health;  // as the core last reported it
    std::optional<pending_read> read;                // one linearizable read at a time
    std::uint64_t transfer_asked_at = 0;             // tick of the last leadership transfer asked
  };

  std::string meta_of(int i) const;
  void step_bootstrap(int i);
  void start_group(int i, const std::string& cluster, const std::vector<metadata::node_ref>& voters);
  void step_raft(int i);
  std::vector<metadata::member_info> members_seen(int i) const;
  void tick_meta(int i);
  void hand_over_if_leaving(int i);
  void carry_out(int i);
  void check();
  void violation(const std::string& what) { violations_.push_back("tick " + std::to_string(gossip_.net().now()) + ": " + what); }

  std::uint32_t expect_;
  controller_settings ctl_;
  gossip_cluster gossip_;
  sim_network<raft_packet> raft_net_;
  std::vector<node> nodes_;
  std::uint64_t next_cluster_id_ = 0;
  std::set<std::string> formed_;  // clusters whose `__meta` group elected a leader
  std::vector<std::string> violations_;
  std::uint64_t reads_linearizable_ = 0;
  std::uint64_t reads_failed_ = 0;
};

}  // namespace chronik::sim
