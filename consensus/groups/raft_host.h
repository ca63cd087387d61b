// The multi-Raft host: one per node, running every Raft group of the node (`__meta` and each
// partition) on the caller's Asio thread, with one shared WAL and one disk thread doing group
// commit across all groups (docs/design.md "Cores and shells", "Threads" and "Batching";
// docs/raft_host.md walks one proposal through it).
//
// Threading contract:
//   - Every public member, including the destructor, is called on the thread running `io` (the
//     node's Asio thread). Cores are touched only there (docs/design.md "Threads").
//   - The host owns one disk thread, the only writer of the WAL (consensus/storage/wal.h). The
//     Asio thread hands it batches of group writes and keeps ticking and stepping; each finished
//     batch comes back through asio::post onto `io`. At most host_config::max_disk_batches_in_flight
//     batches are outstanding; beyond that, readies simply wait inside their cores.
//   - Callbacks (the outbox and each group's apply function) run on the Asio thread, from inside
//     handlers the host posted. They may call back into the host (propose, compact, even
//     remove_group), but must not destroy it.
//   - The destructor finishes the batches already handed to the disk thread, joins it, and drops
//     their completions: whatever they made durable but did not send is, to Raft, a crash after
//     the fsync, which is safe.
//
// The shell's contract of raft.h, per ready: the hard state, entries and snapshot are durable
// (the disk thread's fdatasync) before any message of that ready leaves, committed entries are
// applied only after that, and advance() comes last. A group's next ready is taken only after its
// previous one advanced. A ready with nothing to persist skips the disk entirely; one whose only
// change is the commit index also does (Raft dissertation §3.8: commit need not be durable; it
// is written with the group's next disk write).
//
// Idle cost: the host keeps a dirty list of groups touched by tick, step or a command and looks
// only at those; all messages of one flush leave as ONE outbox call per destination node, so
// heartbeats of any number of groups between two nodes cost one call per tick. Idle groups
// quiesce (raft_config::quiesce_after_ticks, docs/raft.md "Quiescence"): tick() visits only the
// awake ones, so a quiesced group costs nothing per tick and sends no heartbeats. The owner feeds
// its failure detector's view in through set_node_liveness(), which wakes the quiesced groups
// whose leader died so that they elect a new one.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio/io_context.hpp>
#include <spdlog/logger.h>

#include "consensus/core/raft.h"
#include "consensus/groups/disk_thread.h"
#include "consensus/groups/host_config.h"
// {group, message}: shared with the transport; a plain header, so the host does not link it.
#include "consensus/transport/group_message.h"

namespace chronik::consensus {

// What a group hands its owner once it is durable locally: install `snap` first, then apply
// `committed` in order (conf-change entries included: the core has already acted on them), then
// serve each read once the owner's state machine has applied its index.
struct apply_batch {
  group_id group;
  std::optional<snapshot> snap;  // from the leader, or the stored one when a group reopens
  std::vector<entry> committed;
  std::vector<read_state> reads;
  bool empty() const { return !snap && committed.empty() && reads.empty(); }
};

using apply_fn = std::function<void(apply_batch&&)>;
// Local durability of a group's log (Kafka acks=1, docs/design.md "acks"): a write whose last entry
// is (`last`, `term`) is now fsynced on this node. By log matching (Raft paper §5.3), every entry
// at or before `last` that the caller proposed in `term` is durable here too; one proposed in an
// older term may have been overwritten. Called on the Asio thread after the write's messages
// left and before its committed entries are applied.
using persisted_fn = std::function<void(log_index last, term_id term)>;
// Sends a batch of messages, of any groups, to one node. Called at most once per node per flush.
using outbox_fn = std::function<void(node_id to, std::vector<group_message> messages)>;

// The owner's failure detector's verdict on a node (SWIM: dead once confirmed, alive otherwise).
enum class node_liveness : std::uint8_t { alive, dead };

enum class host_errc : std::uint8_t {
  unknown_group,     // not hosted here
  group_exists,      // create_group for a group already hosted
  group_removed,     // removed on this node: group ids are never reused (a new incarnation
                     // gets a new id, docs/design.md "Partition groups")
  not_ready,         // its bootstrap entries are still on their way to disk
  invalid_argument,  // bad raft_config, compaction beyond the applied index, ...
  storage_failed,    // the WAL failed; the host refuses everything until reopened
  raft,              // the core refused; see host_error::raft
};
std::string_view to_string(host_errc e);

struct host_error {
  host_errc code = host_errc::unknown_group;
  raft_errc raft = raft_errc::not_leader;  // meaningful when code == host_errc::raft
  std::string text;
};

// How a group with no durable state here starts: as one of its first replicas, or as a replica
// that lost what it once stored (docs/raft.md "Rejoining replicas").
enum class group_start : std::uint8_t { fresh, rejoin };

struct host_stats {
  std::uint64_t groups = 0;
  std::uint64_t outbox_calls = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_dropped = 0;    // for unknown, bootstrapping or misaddressed groups
  std::uint64_t disk_batches = 0;        // batches handed to the disk thread
  std::uint64_t append_batches = 0;      // wal::append_batch calls (one fdatasync each)
  std::uint64_t group_writes = 0;        // group writes those calls carried
  std::uint64_t max_groups_per_append = 0;
  std::uint64_t deferred_commits = 0;    // commit-only hard states that skipped the disk
  std::uint64_t awake_groups = 0;        // groups tick() visits (the others are quiesced)
  std::uint64_t liveness_wakes = 0;      // quiesced groups woken because their leader died
};

struct hosted_group;  // raft_host_group.h
struct held_ready;   // raft_host_group.h

class raft_host {
 public:
  // Opens the WAL under cfg.data_dir (recovering every group's state), reads the removed-group
  // list and starts the disk thread. Groups are not running until create_group is called for
  // them: recovered_groups() says which ones have durable state here.
  static std::expected<std::unique_ptr<raft_host>, host_error> open(
      asio::io_context& io, host_config cfg, outbox_fn outbox, std::shared_ptr<spdlog::logger> log = {});
  ~raft_host();
  raft_host(const raft_host&) = delete;
  raft_host& operator=(const raft_host&) = delete;

  // Groups with durable state found at open (minus removed ones), ascending.
  std::vector<group_id> recovered_groups() const { return recovered_; }

  // Starts hosting `group`. With durable state here, the core is rebuilt from the WAL (its
  // configuration comes from the snapshot and the log's conf-change entries) and `initial` is
  // ignored; `on_apply` is called before this returns with the stored snapshot, if any, and later
  // with the committed entries after it. Otherwise, a non-empty `initial` bootstraps the group:
  // one committed add_voter/add_learner entry per member at term 1 (as memory_storage does) is
  // written through the WAL before the core starts, so every replica starts from the identical
  // state; until then the group answers not_ready. An empty `initial` is a replica joining an
  // existing group: it starts empty and learns the configuration from the leader.
  // `start` rejoin marks a new replica that lost its log (a wiped disk) as rejoining, durably
  // with its bootstrap: it votes only once caught up (docs/raft.md "Rejoining replicas"). It is
  // ignored for a group with durable state here.
  std::expected<void, host_error> create_group(group_id group, conf_state initial, raft_config cfg,
                                               apply_fn on_apply, group_start start = group_start::fresh);
  // Stops hosting `group` at once and records the removal durably (on the disk thread).
  std::expected<void, host_error> remove_group(group_id group);

  std::expected<log_index, host_error> propose(group_id group, std::string data);
  // From any replica: a follower forwards to its leader (raft::propose_anywhere); no index comes
  // back, and the owner watches its state machine for the effect.
  std::expected<void, host_error> propose_anywhere(group_id group, std::string data);
  std::expected<log_index, host_error> propose_conf_change(group_id group, const conf_change& cc);
  std::expected<void, host_error> transfer_leadership(group_id group, node_id to);
  // The answer arrives as a read_state in a later apply_batch (dissertation §6.4).
  std::expected<void, host_error> read_index(group_id group, std::string context);
  std::expected<void, host_error> campaign(group_id group);
  // The owner's snapshot of its state machine at `index` (at most the last index handed to
  // on_apply): stored durably, then the log is compacted through it (Raft paper §7).
  std::expected<void, host_error> compact(group_id group, log_index index, std::string data);

  std::expected<raft_status, host_error> status(group_id group) const;

  // Entries [lo, hi) of a running group, read through the group's log_reader (the WAL's durable
  // view; docs/raft_host.md "Reading the log"): at least one when lo is stored, then up to
  // max_bytes of payload. Committed entries are always durable locally (the shell applies only
  // durable entries), so a caller reading at or below the applied index never misses one.
  // invalid_argument when lo is compacted away or past the stored log.
  std::expected<std::vector<entry>, host_error> read_entries(group_id group, log_index lo, log_index hi,
                                                             std::uint64_t max_bytes) const;
  // Installs (or, with an empty function, clears) the group's persisted_fn. The callback may
  // call back into the host, as apply functions may.
  std::expected<void, host_error> set_persisted_callback(group_id group, persisted_fn fn);
  std::vector<group_id> groups() const;

  // Called every tick by the owner: ticks every awake core. Quiesced cores are not visited.
  void tick();
  // Called by the owner whenever its failure detector changes its view of `node` (SWIM confirms
  // it dead, or sees it alive again). Every quiesced group whose leader is a dead node is woken,
  // now or when it quiesces later, so its followers' election timers run and they elect a new
  // leader (docs/raft_host.md "Quiescence"). This node's own liveness is ignored.
  void set_node_liveness(node_id node, node_liveness state);
  // An inbound batch from `from`. Messages for groups not hosted (yet) are dropped: Raft
  // tolerates loss, and the sender retries.
  void step(node_id from, std::vector<group_message> messages);

  // True once a WAL write or fsync failed (docs/storage.md "Disk faults"). The host is then
  // fenced for good: it persists, sends, applies and steps nothing, refuses every command and
  // status() with storage_failed, and so neither leads nor votes in any group (a vote it cannot
  // persist must not be given, Raft paper §5.1 Figure 2). The owner recovers with
  // discard_unsynced(), then a new host opened on the same directory.
  bool failed() const { return failed_; }
  // The first failed write's text; empty while healthy.
  const std::string& failure() const { return failure_; }
  // Only once failed(): joins the disk thread (its queued batches fail fast on the poisoned WAL)
  // and cuts the WAL back to what fdatasync confirmed (wal::discard_unsynced), so that the next
  // open reads only durable frames. The host stays failed; destroy it and open a new one.
  std::expected<void, host_error> discard_unsynced();
  // No flush pending and nothing on the disk thread (tests use it to run to quiescence).
  bool idle() const { return !flush_posted_ && batches_in_flight_ == 0; }
  host_stats stats() const;
  wal_stats storage_stats() const;

 private:
  raft_host(asio::io_context& io, host_config cfg, outbox_fn outbox, std::shared_ptr<spdlog::logger> log);

  // raft_host.cc: groups and commands
  hosted_group* find(group_id group) const;
  std::expected<hosted_group*, host_error> running(group_id group) const;
  void start_core(hosted_group& g);
  void track_applied(hosted_group& g, const apply_batch& b);
  conf_state conf_at(const hosted_group& g, log_index index) const;
  log_sink core_sink(group_id group) const;

  // raft_host_flush.cc: readies, the disk thread and sending
  using outgoing = std::map<node_id, std::vector<group_message>>;
  void mark_dirty(hosted_group& g);
  void send_urgent();
  void track_awake(hosted_group& g);
  void schedule_flush();
  void flush();
  void take_ready(hosted_group& g, disk_batch& batch, outgoing& out,
                  std::vector<std::pair<group_id, held_ready>>& now);
  void attach_deferred_states(disk_batch& batch);
  void on_disk_done(disk_result r);
  void send(outgoing& out);
  void notify_persisted(const std::vector<std::pair<group_id, entry>>& persisted);
  void finish(std::vector<std::pair<group_id, held_ready>>& done);
  void fail(const std::string& why);

  asio::io_context& io_;
  host_config cfg_;
  outbox_fn outbox_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // posted handlers check it

  std::unique_ptr<wal> wal_;
  std::unique_ptr<removed_groups> removed_durable_;  // the disk thread's copy
  std::set<std::uint64_t> removed_;                  // the Asio thread's copy
  std::vector<group_id> recovered_;
  std::unordered_map<std::uint64_t, std::unique_ptr<hosted_group>> groups_;

  std::vector<group_id> dirty_;             // groups touched since the last flush
  std::vector<group_id> awake_;             // groups tick() visits: not quiesced (or just woken)
  std::vector<group_id> ticking_;           // tick()'s scratch copy of awake_, kept for capacity
  std::set<std::uint64_t> dead_nodes_;      // nodes the owner's failure detector says are dead
  std::vector<group_write> pending_writes_;  // bootstrap writes waiting for a disk slot
  std::vector<disk_op> pending_ops_;         // snapshots and removals waiting for a disk slot
  std::set<std::uint64_t> deferred_;        // groups holding a commit-only hard state
  bool flush_posted_ = false;
  std::size_t batches_in_flight_ = 0;
  bool failed_ = false;
  std::string failure_;
  host_stats stats_;

  std::unique_ptr<disk_thread> disk_;  // last: joined first, while everything it uses exists
};

}  // namespace chronik::consensus
