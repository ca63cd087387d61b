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
//
// With `moves` set, the shell also plays `__meta` and the partition manager (host_cluster_moves.cc):
// the production meta_state holds each group's replicas and the move's target, every host applies
// its records late and in order, starts a newly listed group empty (reviving one it removed
// earlier) and removes one it is no longer listed for, and the leader of each moving group takes
// the production planner's step (kafka/partition/move_planner.h) on every tick. The durability
// check then counts the group's current voters only, and convergence also requires every move to
// end with the group's voters exactly its replicas.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/rng.h"
#include "consensus/groups/host_core.h"
#include "kafka/partition/move_planner.h"
#include "metadata/meta_state.h"
#include "tests/sim/host_disk.h"

namespace chronik::sim {

struct host_sim_options {
  int hosts = 3;
  int groups = 8;
  std::uint32_t loss_percent = 0;
  std::uint64_t max_delay_ticks = 3;  // delays uniform in [1, max]: reorders packets
  disk_faults disk;
  int voters = 0;      // each group's creation voters: hosts 1..voters (0: every host)
  bool moves = false;  // `__meta` and replica moves (host_cluster_moves.cc)
  // A stand-in for the move planner (the unsafe twins); null: kafka::plan_move_step.
  kafka::move_step (*planner)(const std::vector<consensus::node_id>&, const consensus::raft_status&) = nullptr;
  // The owner snapshots its state machine now and then (off: the owner's state is the log itself,
  // as the group simulation's partitions are, and no replica skips entries).
  bool compact = true;
  // Raft §6.2's check-quorum step-down (off: a leader cut off learns it was deposed only when it
  // hears the newer term; the group simulation's unfenced-read twin widens that window so).
  bool check_quorum = true;
  // Without moves: each host creates the groups up to this many ticks after its first start, as
  // replicas apply a topic's creation at different times, so the early ones campaign while a peer
  // has no group yet (its host holds the vote requests, consensus/groups/held_votes.h). 0: at once.
  std::uint64_t stagger_create_ticks = 0;
};

// Hooks for a simulation that runs a state machine on top of the groups (tests/sim/group_cluster.h):
// what each host applies, and when a host loses its memory. Called from inside run(), crash() and
// restart(); they must not call back into the cluster.
struct host_observer {
  std::function<void(int host, int group, const consensus::apply_batch& batch)> applied;
  std::function<void(int host)> crashed;  // power loss or a fenced host's recovery: memory is gone
  // With opt.compact: the owner's snapshot of `group` at `index`, asked for when the host compacts
  // (null: a placeholder text), and the news that the core took it, so the log before may go.
  std::function<std::string(int host, int group, std::uint64_t index)> snapshot;
  std::function<void(int host, int group, std::uint64_t index)> compacted;
};

struct host_sim_counts {
  std::uint64_t acked = 0;          // distinct entries applied somewhere
  std::uint64_t crashes = 0;
  std::uint64_t disk_failures = 0;  // hosts fenced by a failed write
  std::uint64_t urgent_packets = 0;
  std::uint64_t batches = 0;
  std::uint64_t compactions = 0;  // snapshots the owners asked for
  std::uint64_t snapshots_installed = 0;  // from a leader or the disk at restart
  std::uint64_t moves_begun = 0;      // targets `__meta` accepted (new moves and retargets)
  std::uint64_t moves_cancelled = 0;
  std::uint64_t moves_finished = 0;   // completions `__meta` accepted
  std::uint64_t conf_changes = 0;     // membership changes the planner proposed and a leader took
  std::uint64_t transfers = 0;        // leadership handed over because the leader leaves
  std::uint64_t removals = 0;         // replicas deleted because a move took them away
  std::uint64_t revivals = 0;            // replicas brought back to a host that had removed them
  std::uint64_t revivals_postponed = 0;  // a revival refused while the removal was not durable
  // Vote requests a host held for a group not running there yet (consensus/groups/held_votes.h),
  // counted by cores that crashed; votes_held() adds the running ones.
  std::uint64_t votes_held = 0;
};

// The Raft settings of every simulated group (short timeouts, quick quiescence).
consensus::raft_config sim_raft_config();

class host_cluster {
 public:
  host_cluster(std::uint64_t seed, host_sim_options opt);
  ~host_cluster();

  rng& random() { return rng_; }
  // One tick: deliver due packets, complete disk batches, tick every running host.
  void run(int ticks);
  // Proposes on the host that leads `group` with the highest term, if any.
  bool propose(int group, std::string data);
  // Proposes on `host`, if it runs and leads `group`: the (index, term) the entry took there.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> propose_on(int host, int group, std::string data);
  // Raft's ReadIndex (dissertation §6.4) on `host`'s replica of `group`, as raft_host::read_index:
  // the answer, if any, comes as a read_state with `context` in a later apply batch
  // (host_observer::applied). False if the host is down or its core refuses.
  bool read_on(int host, int group, std::string context);
  // The host's Raft status of `group`, if the host runs.
  std::optional<consensus::raft_status> status(int host, int group) const;
  void observe(host_observer o) { observer_ = std::move(o); }
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

  // Replica moves (opt.moves): a new target of hosts (0-based) for `group`, or a cancel, as
  // AlterPartitionReassignments proposes it; `__meta` decides. True if the record changed.
  bool move(int group, const std::vector<int>& target);
  bool cancel(int group);
  bool moving(int group) const;
  const metadata::partition_record& record(int group) const;

  const std::vector<std::string>& violations() const { return violations_; }
  const host_sim_counts& counts() const { return counts_; }
  std::uint64_t votes_held() const;
  int hosts() const { return static_cast<int>(nodes_.size()); }

 private:
  struct node {
    consensus::node_id id;
    host_disk disk;
    std::unique_ptr<consensus::host_core> core;  // null while down
    std::vector<std::uint64_t> applied;          // per group, the last index applied since the restart
    std::optional<std::uint64_t> restart_at;
    std::optional<std::uint64_t> create_at;  // stagger_create_ticks: the groups come then
    bool created = false;                    // the groups were created once (durable since)
    bool fenced_seen = false;
    // Moves: this host's `__meta` replica, which applies the committed records late (kept across
    // crashes: the real one replays its own durable log).
    metadata::meta_state view;
  };
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
  consensus::group_id group_id_of(int group) const;
  consensus::raft_config group_config() const;  // sim_raft_config() with opt_'s Raft switches
  std::vector<consensus::node_id> current_voters(std::size_t group) const;
  std::string describe(int group) const;
  bool replica_of(int group, const node& n) const;

  // host_cluster_moves.cc: `__meta` and the partition manager's part in moves.
  void init_meta();
  bool meta_propose(const std::string& command);
  void meta_catch_up(node& n, std::size_t max_records, bool act);
  void apply_move(node& n, const metadata::partition_ref& ref);
  void ensure(node& n, const metadata::partition_ref& ref);
  void remove(node& n, consensus::group_id id);
  void sync_groups(node& n);
  void drive_moves(node& n);
  bool moves_settled(std::string* why) const;

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
  std::uint64_t group_base_ = 100;  // group ids group_base_, group_base_ + 1, ...
  // Per group, the configuration changes applied anywhere (committed), by index.
  std::vector<std::map<std::uint64_t, consensus::conf_change>> conf_log_;
  // `__meta` (opt.moves): its committed log, the state after all of it, the topic's id.
  std::vector<std::string> meta_log_;
  metadata::meta_state meta_;
  metadata::topic_id topic_;
  std::uint64_t nonce_ = 0;
  host_observer observer_;
};

}  // namespace chronik::sim
