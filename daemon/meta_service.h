// The `__meta` group in chronik-server (issue 4; docs/metadata.md, docs/raft_host.md,
// docs/transport.md): on the node's Asio thread it drives the node's Raft transport and multi-Raft
// host (daemon/node_raft.h, owned by the node and lent by reference) for `__meta`, and wires them
// to the `__meta` node core (metadata/meta_node.h):
//   tick(now) ticks the host and the core;  committed entries -> core.apply;
//   the core's ready -> host.propose / propose_conf_change / compact and the callbacks.
// Peers' RPC addresses come from the gossip members' NodeMeta and are refreshed every tick.
//
// It is a shell (docs/design.md "Cores and shells"): the core decides what the controller
// proposes and when, the one configuration change in flight, when a linearizable read is served
// or has failed, when this node has joined, whether it is healthy and when to snapshot; this file
// takes the node loop's clock readings, moves bytes and carries the core's ready out.
//
// Threading: every member, including the destructor, runs on the io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <spdlog/logger.h>

#include "consensus/groups/raft_host.h"
#include "daemon/cluster_status_json.h"
#include "daemon/config.h"
#include "daemon/node_clock.h"
#include "daemon/node_identity.h"
#include "daemon/node_raft.h"
#include "gossip/net/gossip_node.h"
#include "metadata/core/bootstrap.h"
#include "metadata/meta_node.h"
#include "metadata/meta_state.h"

namespace chronik::daemon {

// Raft timing derived from the node's gossip preset: the tick period, and election timeout and
// heartbeat in ticks (local 10 ms ticks, lan 50 ms, wan 100 ms; election 10-20 ticks, heartbeat 1).
struct meta_timing {
  std::chrono::milliseconds tick{50};
  consensus::raft_config raft;
};
meta_timing meta_timing_for(gossip_preset preset);

class meta_service {
 public:
  // Called once this node, having asked to join, is listed in `__meta`'s configuration.
  using joined_fn = std::function<void(const std::string& cluster_id, std::vector<metadata::node_ref> voters)>;
  // Called when readiness changes: ready means a registered broker of a cluster whose `__meta`
  // leader is known; otherwise `reason` says what is missing.
  using health_fn = std::function<void(bool ready, const std::string& reason)>;

  // Replaces the node's Raft host (node::replace_host): the owner lets the host's other users go,
  // then node_raft::reopen(discard_state). The error is one log-ready line.
  using replace_host_fn = std::function<std::expected<void, std::string>(bool discard_state)>;

  // `raft` is started by the owner before this service's first tick.
  meta_service(node_raft& raft, gossip::gossip_node& gossip, const node_config& cfg, const node_uuid& uuid,
               std::shared_ptr<spdlog::logger> log);
  ~meta_service();  // stop()s
  meta_service(const meta_service&) = delete;
  meta_service& operator=(const meta_service&) = delete;

  void on_joined(joined_fn fn) { joined_ = std::move(fn); }
  void on_health(health_fn fn) { health_ = std::move(fn); }

  // Nothing is ticked, proposed or answered after it; pending reads are dropped. The host and
  // the transport are the owner's to stop. Idempotent.
  void stop();

  // formation_actions: found or restart `__meta` with `f.voters`, abandon it, or join a cluster.
  void start_group(const metadata::formation& f);
  void abandon_group(const metadata::formation& f);
  void join(const std::string& cluster_id);

  // Called by the node's tick loop with its one clock reading; once per Raft tick period
  // (timing().tick, on the loop's grid) it runs one tick of the `__meta` shell: gossip's members to
  // the transport and the core, the Raft host's tick, the core's tick at `now`, and its ready
  // carried out. `wall_now` dates gossip's member changes (member_snapshot::last_change is wall
  // time).
  void tick(std::chrono::steady_clock::time_point now, std::chrono::system_clock::time_point wall_now);

  cluster_status status() const;
  // CRC-32C of the applied `__meta` state's canonical bytes (meta_state::snapshot), as 8 hex
  // digits: replicas that applied the same log agree on it, so the partition suite compares it
  // across nodes after a heal. It serializes the whole state: for /v1/cluster, not for hot paths.
  std::string state_hash() const;

  // A linearizable read of `__meta` (Raft dissertation §6.4 ReadIndex): `done(true)` once this
  // node's state machine has applied everything committed before the call, so that status() then
  // reflects every change acknowledged anywhere in the cluster; `done(false)` when there is no
  // group here or no leader answers within read_timeout. Always called on the io thread.
  using read_fn = std::function<void(bool linearizable)>;
  void read_linearizable(read_fn done);

  // Proposes a `__meta` command from this node, whether or not it leads (a follower forwards it
  // to the leader, raft::propose_anywhere). No answer: watch on_applied for the same bytes.
  std::expected<void, std::string> propose(std::string command);
  // Called for every command applied here, with its outcome (the same on every replica).
  using applied_fn = std::function<void(std::string_view command,
                                        const std::expected<metadata::apply_result, metadata::meta_errc>& outcome)>;
  void on_applied(applied_fn fn) { applied_ = std::move(fn); }
  // Called after a `__meta` snapshot was installed here (partition groups must be re-synced).
  void on_restored(std::function<void()> fn) { restored_ = std::move(fn); }
  const metadata::meta_state& state() const { return core_.state(); }
  const node_uuid& uuid() const { return uuid_; }
  // The latest a Raft tick ran after its due time, since start (io thread).
  std::chrono::milliseconds tick_late_max() const { return tick_late_max_; }
  // What load costs this node, for /v1/cluster "load" (io thread): every hosted Raft group's
  // term (an election moves it), SWIM's suspicion and death counts, and the worst lateness of the
  // Raft and gossip ticks since start (docs/operations.md "Reading the status").
  nlohmann::json load_status() const;
  // Set before the first tick: the node's one place to replace its Raft host, called when this node
  // discards its Raft state for another cluster and when a failed WAL takes writes again.
  void on_replace_host(replace_host_fn fn) { replace_host_ = std::move(fn); }
  // Disk faults (docs/storage.md "Disk faults"): `fn(true)` once this node's WAL failed and the
  // node fenced itself, `fn(false)` once it reopened the WAL. The owner announces it in gossip.
  void on_storage(std::function<void(bool failed)> fn) { storage_ = std::move(fn); }
  // Called when the WAL cannot be reopened after a disk fault: the owner exits (code 3) so that
  // its supervisor restarts it (docs/operations.md "Full disk").
  void on_storage_lost(std::function<void(const std::string& why)> fn) { storage_lost_ = std::move(fn); }
  // Nodes whose WAL failed: this one while fenced, and the peers that announce it in gossip.
  // Metadata lists their replicas as offline, never in an ISR or as a leader.
  std::set<std::uint64_t> storage_failed_nodes() const;
  // Raft timing of this node's groups (the host ticks them all together).
  const meta_timing& timing() const { return timing_; }
  const std::string& cluster_id() const { return core_.cluster_id(); }

 private:
  bool discard_raft_state_for(const std::string& cluster_id);
  void run_tick(std::chrono::steady_clock::time_point now, std::chrono::system_clock::time_point wall_now);
  void open_group(const std::string& cluster_id, consensus::conf_state initial, bool campaign);
  void apply(consensus::apply_batch&& b);
  std::vector<metadata::member_info> refresh_peers(std::chrono::system_clock::time_point wall_now);
  void carry_out();
  // meta_storage.cc: a fenced host is probed, then reopened from disk (docs/storage.md).
  void watch_storage(std::chrono::steady_clock::time_point now);
  void reopen_storage();

  node_raft& raft_;
  gossip::gossip_node& gossip_;
  const node_config& cfg_;
  node_uuid uuid_;
  std::chrono::milliseconds tick_late_max_{0};
  std::shared_ptr<spdlog::logger> log_;
  meta_timing timing_;
  periodic raft_tick_;  // one Raft tick per timing().tick
  metadata::meta_node core_;  // the `__meta` state and every decision about it

  bool stopped_ = false;
  std::map<std::uint64_t, std::pair<std::string, std::string>> peers_;  // id -> (rpc addr, uuid)
  std::map<std::uint64_t, consensus::node_liveness> liveness_;          // as last told to the host
  std::map<std::uint64_t, read_fn> reads_;  // callers of read_linearizable, by the core's read id

  joined_fn joined_;
  health_fn health_;
  applied_fn applied_;
  std::function<void()> restored_;
  replace_host_fn replace_host_;

  // Disk faults (meta_storage.cc).
  std::set<std::uint64_t> fenced_peers_;  // peers whose gossip says their WAL failed, every tick
  bool fenced_ = false;                   // this node's host failed and the owner was told
  std::chrono::steady_clock::time_point next_storage_probe_{};
  std::function<void(bool)> storage_;
  std::function<void(const std::string&)> storage_lost_;
};

}  // namespace chronik::daemon
