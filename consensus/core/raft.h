// The Raft core: one group's consensus state machine, single-threaded, with no I/O
// (docs/design.md "Cores and shells"; the etcd-io/raft RawNode/Ready shape).
//
// The shell's contract:
//  1. Call tick() every tick, step() for every message received for this group, and the commands
//     from the same thread.
//  2. When has_ready(), take rd = get_ready() and, in this order:
//     a. persist rd.hard_state_update, rd.entries (an entry whose index is already stored replaces that
//        entry and everything after it) and rd.snapshot_update durably (fsync);
//     b. only then send rd.messages; except the first rd.early_messages of them, which may leave
//        before step a is done (a leader's appends: docs/raft.md "Messages that do not wait for
//        the disk");
//     c. apply rd.snapshot_update (if any) and then rd.committed_entries, in order, to the state machine,
//        and serve rd.read_states once the state machine has applied their index;
//     d. call advance(rd).
//  Entries are applied only once committed, and never before they are durable locally.
//  advance(rd) asserts its side of this at the top (CHRONIK_EXPECTS; docs/design.md "Errors"):
//     - rd is the ready the last get_ready() returned, answered once; readies are taken one at a
//       time (the same committed entries and snapshot; entry payloads may be dropped from rd);
//     - step a happened: rd's last entry and rd's snapshot are in the log_reader with their terms;
//     - step c is safe: rd's committed entries are durable locally (at or below the reader's last
//       index), and follow directly what the previous ready handed out, so none is skipped.
//  advance() counts committed entries as applied once handed out: a shell may apply them after
//  advance() returns, in order, as long as it applies them before acting on a later ready's.
//  3. Quiescence (docs/raft.md "Quiescence"): while quiesced() the core ignores tick(), so the
//     shell may stop calling it. The shell calls wake() when its failure detector (SWIM) says
//     the group's leader() is dead; every command and every message that matters wakes the core
//     by itself.
#pragma once

#include <cstdint>
#include <deque>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/core/config.h"
#include "consensus/core/log_reader.h"
#include "consensus/core/messages.h"
#include "consensus/core/progress.h"
#include "consensus/core/raft_log.h"
#include "base/rng.h"
#include "consensus/core/types.h"

namespace chronik::consensus {

enum class role : std::uint8_t { follower, pre_candidate, candidate, leader };

// The context of a rejection from a replica that lost its log (docs/raft.md "Rejoining
// replicas"): its reject_hint is its last index, which may lie below the match the leader holds.
inline constexpr std::string_view rejoin_context = "rejoining";
std::string_view to_string(role r);

// How eagerly a node stands for election (docs/operations.md "Maintenance: drain"). A reluctant
// node (its operator drained it) lengthens its randomized election timeout by
// election_timeout_ticks_max, so it times out only after every eager voter that heard the same
// leader has had its whole timeout: an eager voter campaigns first and wins (§5.2 with §9.6
// pre-vote), and the reluctant one still campaigns when none does (the others are down), so
// availability never waits on the operator. It still votes, and still answers a leadership
// transfer's timeout_now (§3.10), which is an explicit request to lead.
enum class campaign_mode : std::uint8_t { eager, reluctant };

enum class raft_errc : std::uint8_t {
  not_leader,            // only the leader accepts this
  transfer_in_progress,  // proposals wait while leadership moves
  conf_change_pending,   // one membership change at a time, and not before the leader's first commit
  invalid_conf_change,   // adding a member twice, removing a stranger, and the like
  dropped,               // over max_uncommitted_bytes
};
std::string_view to_string(raft_errc e);

// Why a conf-change entry's bytes could not be read (consensus/core/conf_change.cc).
enum class conf_change_errc : std::uint8_t {
  empty,            // no bytes at all
  unknown_version,  // a versioned record of a version this build does not know
  malformed,        // neither a version-1 record nor the legacy text form
};
std::string_view to_string(conf_change_errc e);

// One server at a time (dissertation §4.1): each change adds or removes a single member, which
// keeps any two majorities of consecutive configurations overlapping.
//
// The entry's bytes are replicated log data, so every replica must read every version ever
// written. encode() writes version 1, a Protobuf-wire record hand-encoded here to keep the core
// std-only (schema: RaftConfChange in proto/raft_storage.proto); decode() reads it and the legacy
// text form ("add_voter 3") that data directories written before version 1 hold
// (docs/raft.md "Configuration change entries").
struct conf_change {
  enum class kind : std::uint8_t { add_voter, add_learner, remove };
  kind op = kind::add_voter;
  node_id node;
  std::string encode() const;
  static std::expected<conf_change, conf_change_errc> decode(std::string_view data);
  bool operator==(const conf_change&) const = default;
};
// For logs and test output: "add_voter 3" (the legacy text form, never written to the log).
std::string to_string(const conf_change& cc);

// A linearizable read may be served once the state machine has applied `index` (§6.4 ReadIndex).
struct read_state {
  log_index index;
  std::string context;
};

struct ready {
  std::optional<hard_state> hard_state_update;  // persist when set
  std::vector<entry> entries;
  std::optional<snapshot> snapshot_update;  // persist and install when set
  std::vector<message> messages;
  // How many of `messages`, from the front, may be sent before this ready's hard state, entries
  // and snapshot are durable: heartbeats, their answers and a leader's appends, when the term and
  // vote they carry are durable already (Raft dissertation §10.2.1: the leader writes its log in
  // parallel with replicating it, and counts itself in a quorum only for what it has written). A
  // shell may as well send them after the write, with the rest.
  std::size_t early_messages = 0;
  std::vector<entry> committed_entries;
  std::vector<read_state> read_states;
};

struct raft_status {
  node_id id;
  role state = role::follower;
  term_id term;
  node_id vote;
  node_id leader;
  log_index commit;
  log_index applied;
  log_index last_index;
  conf_state conf;
  std::map<node_id, log_index> match;  // leader only
  bool quiesced = false;               // not ticking (docs/raft.md "Quiescence")
  // Messages step() dropped because a term or index in them is past max_term or max_log_index
  // (docs/raft.md "Values that cannot wrap"). Counted since this core was constructed.
  std::uint64_t dropped_out_of_range = 0;
  bool rejoining = false;  // not voting until caught up (docs/raft.md "Rejoining replicas")
};

// The scalar part of raft_status, built without allocating: for callers that ask every tick or
// every request (a partition's leadership and readiness), which need neither the configuration nor
// the leader's match indexes. raft_status copies both, which made asking it per partition per
// tick the largest idle cost of a node with thousands of partitions (docs/performance.md "Scale").
struct raft_brief {
  node_id id;
  role state = role::follower;
  term_id term;
  node_id leader;
  log_index commit;
  log_index applied;
  log_index last_index;
  bool quiesced = false;
};

class raft {
 public:
  raft(raft_config cfg, node_id self, const log_reader& storage, std::uint64_t rng_seed, log_sink log = {});

  // --- inputs ---------------------------------------------------------------------------------
  void tick();
  void step(const message& m);

  // --- commands -------------------------------------------------------------------------------
  std::expected<log_index, raft_errc> propose(shared_payload data);
  std::expected<log_index, raft_errc> propose_conf_change(const conf_change& cc);
  // Proposes from any replica: the leader appends at once; a follower forwards `data` to the
  // leader it knows (as etcd raft forwards MsgProp), which appends it if it still leads. No index
  // comes back and a forward may be lost (Raft tolerates loss): the caller watches its state
  // machine for the effect and retries after a timeout. not_leader when no leader is known.
  std::expected<void, raft_errc> propose_anywhere(shared_payload data);
  std::expected<void, raft_errc> transfer_leadership(node_id to);
  // Requests a linearizable read point; the answer arrives as a read_state in a later ready.
  void read_index(std::string context);
  // Starts an election now (tests, and a bootstrap that wants a leader fast).
  void campaign();
  // Ends quiescence: ticks count again, the election timer resuming where it stopped. For the
  // shell when its failure detector declares leader() dead. A no-op when awake.
  void wake();
  // Takes effect at once: the running election timer is drawn again for the new mode.
  void set_campaign_mode(campaign_mode mode);

  // --- outputs --------------------------------------------------------------------------------
  bool has_ready() const;
  ready get_ready();
  void advance(const ready& rd);
  // Heartbeats and heartbeat answers sent since the last call, whose term and vote are already
  // durable: the shell may send them at once, even between get_ready() and advance() while that
  // ready's write is on its way to disk (docs/raft.md "Messages that do not wait for the disk").
  // Those not taken here leave with the next ready's messages.
  bool has_urgent() const { return !urgent_.empty(); }
  std::vector<message> take_urgent();

  // --- queries --------------------------------------------------------------------------------
  raft_status status() const;
  raft_brief brief() const;
  role state() const { return role_; }
  term_id term() const { return term_; }
  node_id leader() const { return leader_; }
  node_id id() const { return self_; }
  const conf_state& conf() const { return conf_; }
  const raft_log& log() const { return log_; }
  // True while the group is idle and tick() does nothing (docs/raft.md "Quiescence").
  bool quiesced() const { return quiesced_; }
  campaign_mode current_campaign_mode() const { return campaign_mode_; }

 private:
  // raft.cc: roles, elections, message dispatch
  void become_follower(term_id term, node_id leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void start_election(bool pre, bool transfer);
  void step_vote_request(const message& m);
  void step_vote_response(const message& m);
  bool step_stale_or_newer_term(const message& m);
  bool drop_out_of_range(const message& m);
  void step_follower(const message& m);
  void tick_election();
  void tick_heartbeat();
  void reset(term_id term);
  void reset_randomized_election_timeout();
  bool promotable() const;
  bool is_voter(node_id id) const;
  hard_state current_hard_state() const;
  void maybe_end_rejoin(const message& m);
  std::size_t quorum() const { return conf_.voters.size() / 2 + 1; }
  void send(message m);
  void log_line(log_level level, const std::string& text) const;
  void expect_ready_done(const ready& rd) const;

  // quiescence (leader.cc and follower.cc)
  bool stays_quiesced(const message& m) const;
  void maybe_quiesce_leader();
  bool leader_can_quiesce() const;
  void handle_quiesce_heartbeat(const message& m);

  // follower.cc: the receiving side of replication
  void handle_append(const message& m);
  void handle_heartbeat(const message& m);
  void handle_snapshot_chunk(const message& m);

  // leader.cc: replication, commit and flow control
  void step_leader(const message& m);
  void handle_append_response(const message& m);
  void handle_snapshot_response(const message& m);
  bool maybe_send_append(node_id to, bool send_if_empty);
  void send_snapshot_chunk(node_id to, progress& pr);
  void send_heartbeat(node_id to, const std::string& context);
  void broadcast_append(bool send_if_empty);
  void broadcast_heartbeat(const std::string& context);
  bool maybe_commit();
  void append_entries(std::vector<entry> entries);

  // membership.cc: configuration changes and learners
  void apply_conf_changes_up_to(log_index committed);
  void apply_conf_change(const conf_change& cc);
  void track_conf_entries(const std::vector<entry>& entries);
  void rebuild_progress(bool fresh);
  void load_conf_entries();

  // read_index.cc: linearizable reads (§6.4)
  void leader_read(std::string context, node_id requester);
  void answer_read(log_index index, std::string context, node_id requester);
  void handle_forwarded_proposal(const message& m);
  void handle_read_index(const message& m);
  void handle_heartbeat_ack(const message& m);
  void release_pending_reads();
  bool committed_in_current_term() const;

  raft_config cfg_;
  node_id self_;
  const log_reader& storage_;
  // What the last get_ready() handed out, so advance() can check it is answered by that ready.
  struct handed_out {
    bool outstanding = false;
    log_index committed_first;  // 0 when the ready had no committed entries
    log_index committed_last;
    log_index snapshot;  // 0 when the ready had no snapshot
  };
  handed_out handed_;
  rng rng_;
  log_sink sink_;
  raft_log log_;

  term_id term_;
  node_id vote_;
  node_id leader_;
  // docs/raft.md "Rejoining replicas": persisted in the hard state until caught up. The target is
  // the leader's commit index in the first append heard while rejoining (memory only: after a
  // restart the next leader sets it again, no lower than what was committed).
  bool rejoining_ = false;
  std::optional<log_index> rejoin_target_;
  role role_ = role::follower;
  conf_state conf_;
  std::map<log_index, conf_change> conf_entries_;  // uncommitted and not yet applied changes
  log_index conf_applied_;
  log_index pending_conf_index_;

  std::map<node_id, progress> progress_;
  std::map<node_id, bool> votes_;
  node_id lead_transferee_;

  std::uint32_t election_elapsed_ = 0;
  std::uint32_t heartbeat_elapsed_ = 0;
  std::uint32_t randomized_election_timeout_ = 0;
  campaign_mode campaign_mode_ = campaign_mode::eager;

  // Quiescence: while set, tick() is a no-op. The leader counts consecutive idle ticks in which
  // it could quiesce; any growth of the log (idle_mark_ is the last index seen) or a read starts
  // the count again.
  bool quiesced_ = false;
  std::uint32_t idle_ticks_ = 0;
  log_index idle_mark_;

  bool pending_broadcast_ = false;
  std::deque<std::pair<log_index, std::uint64_t>> uncommitted_;  // proposal index and bytes
  std::uint64_t uncommitted_bytes_ = 0;

  // ReadIndex requests awaiting a quorum of heartbeat acks, oldest first.
  struct pending_read {
    log_index index;
    std::string context;
    node_id requester;
    std::map<node_id, bool> acks;
  };
  std::deque<pending_read> pending_reads_;
  std::vector<std::pair<std::string, node_id>> reads_before_first_commit_;
  std::vector<read_state> read_states_;

  // The snapshot being received from the leader, chunk by chunk.
  std::optional<snapshot> incoming_snapshot_;

  std::vector<message> msgs_;
  std::vector<message> urgent_;  // see take_urgent()
  hard_state persisted_hard_state_;
  std::uint64_t dropped_out_of_range_ = 0;
};

}  // namespace chronik::consensus
