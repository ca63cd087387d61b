// The multi-Raft host: one per node, running every Raft group of the node (`__meta` and each
// partition) on the caller's Asio thread, with one shared WAL and one disk thread doing group
// commit across all groups (docs/design.md "Cores and shells", "Threads" and "Batching";
// docs/raft_host.md walks one proposal through it).
//
// Core and shell (docs/raft_host.md "Core and shell"): every decision lives in the pure
// host_core (host_core.h); this class is its shell. It opens the WAL, runs the disk thread,
// posts the core's flushes and disk completions onto `io`, and carries out what the core's
// host_output lists: outbox calls, disk batches, persisted and apply callbacks.
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
// heartbeats of any number of groups between two nodes cost one call per tick (heartbeats and
// their answers are taken first and go in a call of their own: docs/raft_host.md). Idle groups
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
#include "consensus/groups/group_metrics.h"
#include "consensus/groups/host_config.h"
#include "consensus/groups/host_core.h"
#include "consensus/groups/host_types.h"

namespace chronik::consensus {

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
  std::vector<group_id> recovered_groups() const { return core_->recovered(); }

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
  // Lets a group this node removed be created again (create_group then starts it rejoining, from
  // what its storage still holds): a partition replica moved back to a node that once held it
  // (docs/raft.md "Reviving a removed group"). Refused for a group that is running or was never
  // removed.
  std::expected<void, host_error> revive_group(group_id group);

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
  // The scalar part of status() (raft_brief), which allocates nothing: for per-tick and
  // per-request questions such as "do I lead, in which term, have I applied it".
  std::expected<raft_brief, host_error> brief(group_id group) const;
  // The configuration of a running group (as status() has it), by reference into its core, so
  // a pass over thousands of groups copies none: valid until the next call into the host. Null
  // for a group not running here, or a fenced host.
  const conf_state* conf(group_id group) const { return core_->conf(group); }
  // Groups not quiesced, in no order; a removed group may linger until the next tick. Every change
  // of a group's role, leader or term wakes it and keeps it awake for at least
  // quiesce_after_ticks ticks (docs/raft.md "Quiescence"), so an owner that watches leadership
  // need look at no other group at each tick. Valid until the next call into the host.
  const std::vector<group_id>& awake_groups() const { return core_->awake_groups(); }

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
  // Reluctant while this node is drained (docs/operations.md "Maintenance: drain"): every group,
  // and every group created later, campaigns only when no eager voter does (raft.h campaign_mode).
  void set_campaign_mode(campaign_mode mode);
  campaign_mode current_campaign_mode() const { return core_->current_campaign_mode(); }
  // An inbound batch from `from`. Messages for groups not hosted (yet) are dropped: Raft
  // tolerates loss, and the sender retries.
  void step(node_id from, std::vector<group_message> messages);

  // True once a WAL write or fsync failed (docs/storage.md "Disk faults"). The host is then
  // fenced for good: it persists, sends, applies and steps nothing, refuses every command and
  // status() with storage_failed, and so neither leads nor votes in any group (a vote it cannot
  // persist must not be given, Raft paper §5.1 Figure 2). The owner recovers with
  // discard_unsynced(), then a new host opened on the same directory.
  bool failed() const { return core_->failed(); }
  // The first failed write's text; empty while healthy.
  const std::string& failure() const { return core_->failure(); }
  // Only once failed(): joins the disk thread (its queued batches fail fast on the poisoned WAL)
  // and cuts the WAL back to what fdatasync confirmed (wal::discard_unsynced), so that the next
  // open reads only durable frames. The host stays failed; destroy it and open a new one.
  std::expected<void, host_error> discard_unsynced();
  // No flush pending and nothing on the disk thread (tests use it to run to quiescence).
  bool idle() const { return core_->idle(); }
  host_stats stats() const;
  wal_stats storage_stats() const;

 private:
  // The owner's callbacks, per group. Shared: a callback may remove its own group.
  struct callbacks {
    std::shared_ptr<const apply_fn> on_apply;
    std::shared_ptr<const persisted_fn> on_persisted;  // optional
  };

  raft_host(asio::io_context& io, host_config cfg, outbox_fn outbox, std::shared_ptr<spdlog::logger> log);

  // raft_host_flush.cc: the core's flushes and completions, and carrying out their output
  void kick();
  void run_flush();
  void on_disk_done(disk_result r);
  void carry_out(host_output& out);
  void send(outgoing& out);
  void log_if_fenced(bool was_failed);

  asio::io_context& io_;
  host_config cfg_;
  outbox_fn outbox_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // posted handlers check it

  std::unique_ptr<wal> wal_;
  std::unique_ptr<removed_groups> removed_durable_;  // the disk thread's copy
  std::unique_ptr<host_core> core_;                  // every decision; its readers read wal_
  std::unordered_map<std::uint64_t, callbacks> callbacks_;
  std::uint64_t outbox_calls_ = 0;
  std::uint64_t messages_sent_ = 0;
  group_metrics metrics_;  // commit latency and elections, for stats()

  std::unique_ptr<disk_thread> disk_;  // last: joined first, while everything it uses exists
};

}  // namespace chronik::consensus
