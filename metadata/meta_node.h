// The `__meta` node core: everything this node decides about the `__meta` group, as a value with
// no I/O, no clock, no threads (docs/design.md "Cores and shells"; docs/metadata.md "The node
// core and its shell"). It owns the applied `__meta` state machine and, on top of the pure
// controller plan (meta_controller.h), the bookkeeping that turns plans into actions over time:
//   - the controller runs on the leader at most every controller_interval, and re-proposes a
//     broker's record only after reproposal_pause (a lost proposal or a leader change is retried,
//     but the log is not flooded while one is on its way);
//   - at most one configuration change is in flight: the next waits until the previous one has
//     committed in the leader's term (Raft dissertation §4.1, single-server changes);
//   - linearizable reads (dissertation §6.4 ReadIndex): a read completes once the state machine
//     has applied the index the leader confirmed, or fails after read_timeout;
//   - a joining node notices that `__meta` lists it as itself: its id in the configuration and
//     registered with its uuid (joined);
//   - the health verdict (ready, or what is missing) and when to snapshot the state (Raft §7).
//
// Shell contract (daemon/meta_service.cc and tests/sim/formation_cluster.cc are the two shells):
//   - tick(now_ms, seen) at the shell's tick period, with the time on a monotonic clock in
//     milliseconds and what it observes now: the group's Raft status, gossip's members, and
//     whether the WAL failed;
//   - restore() for a snapshot the group installs and apply() for every committed entry, in log
//     order; read_answered() for every ReadIndex answer (read_state);
//   - request_read() for a linearizable read, then hand the context to Raft's read_index;
//   - after any input, take_ready() and carry it out: propose the proposals, propose the
//     configuration change and report its index (conf_change_proposed), answer the completed
//     reads, publish the health verdict and the join, and take the snapshot (snapshot_taken once
//     it is stored). Nothing in a ready must be durable before another part of it is carried out,
//     so taking it is the whole handshake (no advance()).
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "consensus/core/raft.h"
#include "metadata/core/bootstrap.h"
#include "metadata/meta_controller.h"
#include "metadata/meta_state.h"

namespace chronik::metadata {

struct meta_node_config {
  node_id self;
  std::string self_uuid;  // this data directory's node uuid (hex): a broker is this node only with it
  // The controller's targets (docs/config.md): 0 voters means automatic (3, or 5 from 5 brokers).
  std::uint32_t meta_voters = 0;
  std::chrono::milliseconds voter_replace_after{10'000};
  // A snapshot every this many applied entries (meta_snapshot_entries, default 4096).
  std::uint64_t snapshot_entries = 4096;
  // The controller runs at most this often on the leader.
  std::uint64_t controller_interval_ms = 50;
  // A broker's record is proposed again only after this long without effect.
  std::uint64_t reproposal_pause_ms = 1000;
  // A read whose answer (or whose index being applied) takes longer fails: one minimum election
  // timeout, after which a lost leader has been replaced (meta_service: local 100 ms, lan 500 ms).
  std::uint64_t read_timeout_ms = 500;
  std::size_t max_pending_reads = 1024;
};

// One gossip member as the shell decoded it: SWIM's state and what the member announces.
struct member_info {
  node_id id;
  std::string uuid;
  std::string kafka_addr;
  std::string rpc_addr;
  bool down = false;                          // SWIM: dead or left
  std::chrono::milliseconds since_change{0};  // how long SWIM's view of it has not changed
  formation announced;                        // its bootstrap state
  std::string joining_cluster;                // the cluster it asks to join, if any
  std::vector<listener_endpoint> listeners;   // its Kafka listeners; empty: PLAINTEXT at kafka_addr
};

// What the shell sees at a tick.
struct meta_observation {
  std::optional<consensus::raft_status> raft;  // `__meta` here; none while no group runs or the WAL is fenced
  std::vector<member_info> members;            // gossip's members, this node included
  std::optional<std::string> storage_failure;  // why the WAL failed, while this node is fenced
};

struct meta_proposal {
  std::string command;  // `__meta` command bytes (meta_commands.h)
  std::string what;     // for the log: "register broker 2 uuid ab12"
};

struct conf_proposal {
  consensus::conf_change change;
  std::string reason;  // for the log
};

struct read_completion {
  std::uint64_t id = 0;
  bool linearizable = false;  // false: no answer in time, or the state was reset
};

struct health_verdict {
  bool ready = false;
  std::string reason;  // "ready", or what is missing
  bool operator==(const health_verdict&) const = default;
};

struct join_event {
  std::string cluster_id;
  std::vector<node_ref> voters;  // the configuration's voters, with the uuids `__meta` registered
};

struct meta_ready {
  std::vector<meta_proposal> proposals;
  std::optional<conf_proposal> conf_change;
  std::vector<read_completion> reads;
  std::optional<health_verdict> health;  // only when it changed
  std::optional<join_event> joined;
  std::optional<log_index> snapshot;  // store state().snapshot() at this index, then compact
  // The founder campaigns now (raft::campaign); the shell reports campaigned() once Raft took it.
  bool campaign = false;
  bool empty() const {
    return proposals.empty() && !conf_change && reads.empty() && !health && !joined && !snapshot && !campaign;
  }
};

struct read_ticket {
  std::uint64_t id = 0;
  std::string context;  // for Raft's read_index; its answer comes back with it
};

enum class read_refusal : std::uint8_t { no_group, no_leader, too_many };
std::string_view to_string(read_refusal r);

using apply_outcome = std::expected<apply_result, meta_errc>;

class meta_node {
 public:
  explicit meta_node(meta_node_config cfg);

  // --- the group's life on this node ----------------------------------------------------------
  // `__meta` of `cluster_id` runs here (founded, reopened or joining).
  void open_group(std::string cluster_id);
  // Whether this node asked to join and waits for the configuration to list it.
  void set_joining(bool joining) { joining_ = joining; }
  // This node founds the group with `voters` (docs/bootstrap.md R3): it campaigns at once rather
  // than after an election timeout, and, while there is no leader, again each time more voters
  // announce in gossip that they created the group (a vote request that reached a voter before its
  // group existed was dropped, and a campaign without a majority would wait a whole election
  // timeout, 0.5-1 s on lan).
  void found(std::vector<node_id> voters);
  // Raft took the campaign the ready asked for (a campaign it refused is asked for again).
  void campaigned();
  // The group is gone (its cluster was abandoned, or its WAL is reopened): nothing runs here.
  void close_group();
  // The Raft state was discarded or reopened from disk: the state machine starts empty (the
  // group hands its snapshot and log over again), the controller forgets what it proposed, and
  // pending reads fail, since their answers will not come.
  void reset();

  // --- inputs ---------------------------------------------------------------------------------
  void tick(std::uint64_t now_ms, meta_observation seen);
  // A snapshot the group installs. Applied when it is newer than the state; an error when its
  // bytes are refused (the state is then left as it was).
  std::expected<bool, meta_errc> restore(const consensus::snapshot& snap);
  // A committed entry, in log order. The outcome of a command; none for an entry that is no
  // command (an empty leader entry, a configuration change) or that the snapshot covers.
  std::optional<apply_outcome> apply(const consensus::entry& e);
  void read_answered(std::string_view context, log_index index);
  // The shell proposed the ready's configuration change, at `index` in the observed term.
  void conf_change_proposed(log_index index);
  // The shell stored the ready's snapshot.
  void snapshot_taken(log_index index);

  // --- commands -------------------------------------------------------------------------------
  std::expected<read_ticket, read_refusal> request_read();
  // Raft refused the read's request: it fails with the next ready.
  void read_unsent(std::uint64_t id);

  // --- outputs --------------------------------------------------------------------------------
  meta_ready take_ready();

  // --- queries --------------------------------------------------------------------------------
  const meta_state& state() const { return state_; }
  const std::string& cluster_id() const { return cluster_id_; }
  bool running() const { return running_; }
  bool joining() const { return joining_; }
  std::size_t pending_reads() const { return reads_.size(); }
  log_index snapshot_index() const { return snapshot_index_; }

 private:
  std::vector<node_view> cluster_view(const std::vector<member_info>& members) const;
  void run_controller(const consensus::raft_status& st, const std::vector<member_info>& members);
  bool due(node_id broker, const std::string& command);
  bool due_move(const topic_id& topic, std::int32_t partition);
  void check_joined(const consensus::raft_status& st);
  void maybe_campaign(const std::vector<member_info>& members);
  void judge_health(const meta_observation& seen);
  void expire_reads();
  void serve_reads();
  void fail_reads();
  void offer_snapshot();

  meta_node_config cfg_;
  meta_state state_;
  std::string cluster_id_;
  bool running_ = false;
  bool joining_ = false;
  std::vector<node_id> founding_voters_;  // found(): the initial voters, until the founding ends
  std::size_t campaign_created_ = 0;       // voters with the group when the ready asked to campaign
  std::size_t campaigned_with_ = 0;        // ... when Raft last took a campaign (0: not yet)
  std::uint64_t now_ms_ = 0;
  std::optional<consensus::raft_status> raft_;  // as last observed

  // Controller bookkeeping (leader only).
  std::uint64_t next_controller_run_ms_ = 0;
  struct broker_proposal {
    std::string command;         // the last one proposed for the broker's record
    std::uint64_t until_ms = 0;  // not proposed again before, unless it is another one
  };
  std::map<node_id, broker_proposal> proposed_;  // per broker
  std::map<std::pair<topic_id, std::int32_t>, std::uint64_t> move_proposed_until_ms_;  // per partition
  log_index cc_index_;                                   // the last configuration change proposed
  term_id cc_term_;                                      // and the term it was proposed in
  term_id observed_term_;                                // the term the last plan was made in

  // ReadIndex requests: waiting for the answer (index 0), then for `applied` to reach it.
  struct pending_read {
    std::string context;
    std::uint64_t deadline_ms = 0;
    log_index index;
  };
  std::map<std::uint64_t, pending_read> reads_;
  std::map<std::string, std::uint64_t, std::less<>> read_by_context_;
  std::uint64_t next_read_ = 0;

  log_index snapshot_index_;   // the last snapshot taken or installed here
  log_index snapshot_offered_; // the last index a ready asked to snapshot at
  std::optional<health_verdict> last_health_;
  meta_ready ready_;
};

}  // namespace chronik::metadata
