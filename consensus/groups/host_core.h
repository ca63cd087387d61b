// The multi-Raft host's pure core (docs/raft_host.md "Core and shell"; docs/design.md "Cores and
// shells"): every decision about many Raft cores sharing one disk, with no I/O, threads, clocks or
// logging. It decides which groups are looked at (the dirty list), what of each ready must reach
// the disk before it may leave, which messages leave at once and which wait for their batch's
// fsync (Raft paper §5.1 Figure 2 "persistent state", dissertation §10.2.1), which heartbeats
// leave early in a lane of their own, when committed entries are handed to the owner (only once
// durable locally), which commit-only hard states may wait for a later write (dissertation §3.8),
// and that a failed write fences the host for good (docs/storage.md "Disk faults").
//
// The shell (raft_host.h, or a simulation) moves bytes and time around it:
//   - it calls the commands, tick() and step() as its owner asks;
//   - whenever take_flush_request() says so, it arranges for flush() to run once the current
//     handler is done (one flush gathers every tick, step and proposal of that handler);
//   - flush() and on_disk_done() fill a host_output; the shell carries it out in the order of its
//     fields: urgent sends (one outbox call per destination, never merged with the other sends);
//     disk batches to write; sends; persisted notices; applies. The owner's callbacks run while
//     it does may call the commands again: the output is already complete by then;
//   - it writes each disk batch (appends with one fsync, then its operations) and reports every
//     batch's outcome exactly once through on_disk_done(). Batches are group-disjoint, so their
//     writes may complete in any order; the production disk thread completes them in submission
//     order, which a removal's truncation relies on (it follows the group's last write).
//
// Invariants checked here, always on (CHRONIK_ASSERT): a batch completes at most once and only
// if it was submitted; a group has at most one write in flight; a message of a ready that wrote
// term, vote, entries or a snapshot is released only when the batch holding that write completed
// successfully; committed entries are handed out only at or below the group's locally durable
// last index; a fenced core releases nothing.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "consensus/core/log_reader.h"
#include "consensus/core/raft.h"
#include "consensus/groups/disk_batch.h"
#include "consensus/groups/held_votes.h"
#include "consensus/groups/host_types.h"

namespace chronik::consensus {

struct host_core_config {
  node_id self;
  std::uint64_t rng_seed = 1;                 // host_config::rng_seed
  std::size_t max_disk_batches_in_flight = 4;  // host_config::max_disk_batches_in_flight
  std::uint64_t max_batch_bytes = 64ull << 20;  // host_config::max_batch_bytes
};

using outgoing = std::map<node_id, std::vector<group_message>>;

// What one flush() or on_disk_done() asks the shell to do, in this order.
struct host_output {
  // Heartbeats and their answers taken early (raft::take_urgent): each destination gets an outbox
  // call of its own, never merged with `sends`, so that they are not queued behind megabytes of
  // appends (docs/performance.md; git 3b7de53).
  outgoing urgent;
  std::vector<disk_batch> disk;  // to write, in this order
  outgoing sends;                // everything else that may leave now
  // The last entry of each write that just became durable (payload-free), for persisted_fn.
  std::vector<std::pair<group_id, entry>> persisted;
  std::vector<apply_batch> applies;  // to hand each group's owner, in order
  bool empty() const {
    return urgent.empty() && disk.empty() && sends.empty() && persisted.empty() && applies.empty();
  }
};

// The outcome of some submitted batches (the disk thread merges queued batches into one append,
// so one outcome may cover several).
struct disk_completion {
  std::vector<std::uint64_t> batches;    // disk_batch::id of each batch this completes
  std::optional<std::string> append_failed;  // the append (or its fsync) failed: fence
  // A snapshot, compaction or removal failed on I/O after the append succeeded: the append is
  // handled, then the host fences (the disk is as broken as for an append).
  std::optional<std::string> op_failed;
};

// A new group, as create_group reports it (for the shell's log and the owner's first apply).
struct group_created {
  bool reopened = false;   // rebuilt from durable state
  bool bootstrap = false;  // its bootstrap write is on its way to disk
  std::optional<apply_batch> stored_snapshot;  // hand to the owner now
};

struct hosted_group;  // host_group.h

class host_core {
 public:
  // `sink` makes each Raft core's log sink. `recovered` lists the groups with durable state
  // (ascending); `removed` the groups removed for good on this node.
  host_core(host_core_config cfg, std::function<log_sink(group_id)> sink, std::vector<group_id> recovered,
            std::set<std::uint64_t> removed);
  ~host_core();
  host_core(const host_core&) = delete;
  host_core& operator=(const host_core&) = delete;

  // --- commands (the semantics of raft_host.h) -------------------------------------------------
  // `reader` is the group's view of durable storage; the core owns it from here on.
  std::expected<group_created, host_error> create_group(group_id group, conf_state initial, raft_config cfg,
                                                        group_start start, std::unique_ptr<log_reader> reader);
  std::expected<void, host_error> remove_group(group_id group);
  std::expected<void, host_error> revive_group(group_id group);
  std::expected<log_index, host_error> propose(group_id group, std::string data);
  std::expected<void, host_error> propose_anywhere(group_id group, std::string data);
  std::expected<log_index, host_error> propose_conf_change(group_id group, const conf_change& cc);
  std::expected<void, host_error> transfer_leadership(group_id group, node_id to);
  std::expected<void, host_error> read_index(group_id group, std::string context);
  std::expected<void, host_error> campaign(group_id group);
  std::expected<void, host_error> compact(group_id group, log_index index, std::string data);
  void tick();
  void set_node_liveness(node_id node, node_liveness state);
  // Every group's, now and for groups started later (raft::set_campaign_mode).
  void set_campaign_mode(campaign_mode mode);
  campaign_mode current_campaign_mode() const { return campaign_mode_; }
  void step(node_id from, std::vector<group_message> messages);

  // --- the shell's loop ------------------------------------------------------------------------
  // True once per wanted flush: the shell must then run flush() after the current handler.
  bool take_flush_request();
  void flush(host_output& out);
  void on_disk_done(const disk_completion& done, host_output& out);

  // --- queries ---------------------------------------------------------------------------------
  bool hosts(group_id group) const;
  // Groups not quiesced, in no order (raft_host::awake_groups).
  const std::vector<group_id>& awake_groups() const { return awake_; }
  std::expected<raft_status, host_error> status(group_id group) const;
  // status() without the configuration and match indexes: allocates nothing unless it fails.
  std::expected<raft_brief, host_error> brief(group_id group) const;
  // The running group's configuration, by reference into its core (raft_host::conf).
  const conf_state* conf(group_id group) const;
  std::expected<std::vector<entry>, host_error> read_entries(group_id group, log_index lo, log_index hi,
                                                             std::uint64_t max_bytes) const;
  std::vector<group_id> groups() const;
  const std::vector<group_id>& recovered() const { return recovered_; }
  bool failed() const { return failed_; }
  const std::string& failure() const { return failure_; }
  bool idle() const { return !flush_wanted_ && !flush_posted_ && in_flight_.empty(); }
  std::size_t batches_in_flight() const { return in_flight_.size(); }
  host_stats stats() const;

 private:
  // A submitted batch: each group it writes, with the last log index the write leaves durable
  // (none when it writes only a hard state).
  struct batch_record {
    struct write {
      group_id group;
      std::uint64_t life = 0;  // hosted_group::life of the group that wrote it
      std::optional<log_index> last;
    };
    std::uint64_t id = 0;
    std::vector<write> writes;
    std::vector<group_id> removals;  // remove ops it carries
  };
  // hosted_group::in_flight of a bootstrap write not yet in a batch.
  static constexpr std::uint64_t unbatched = ~std::uint64_t{0};

  // host_core.cc: groups and commands
  hosted_group* find(group_id group) const;
  std::expected<hosted_group*, host_error> running(group_id group) const;
  void start_core(hosted_group& g);
  group_created recreate(hosted_group& g);
  void track_applied(hosted_group& g, const apply_batch& b);
  conf_state conf_at(const hosted_group& g, log_index index) const;

  // host_core_flush.cc: readies, disk batches and completions
  void mark_dirty(hosted_group& g);
  void track_awake(hosted_group& g);
  void schedule_flush();
  void take_urgent(outgoing& urgent);
  void take_ready(hosted_group& g, disk_batch& batch, host_output& out);
  void attach_deferred_states(disk_batch& batch);
  void submit(disk_batch& batch, host_output& out);
  void complete(const batch_record& rec, host_output& out);
  void release(hosted_group& g, apply_batch&& apply, const ready& stub, host_output& out);
  void fail(const std::string& why);

  host_core_config cfg_;
  std::function<log_sink(group_id)> sink_;
  std::vector<group_id> recovered_;
  std::set<std::uint64_t> removed_;
  // Revived (revive_group) and not created again yet: create_group resets their durable state.
  std::set<std::uint64_t> revived_;
  std::uint64_t lives_ = 0;  // hosted_group::life of the last group created
  // Groups whose removal is not durable yet (pending or in flight): revive_group waits for it.
  std::set<std::uint64_t> removing_;
  std::unordered_map<std::uint64_t, std::unique_ptr<hosted_group>> groups_;

  std::vector<group_id> dirty_;              // groups touched since the last flush
  std::vector<group_id> awake_;              // groups tick() visits: not quiesced (or just woken)
  std::vector<group_id> ticking_;            // tick()'s scratch copy of awake_, kept for capacity
  campaign_mode campaign_mode_ = campaign_mode::eager;  // docs/operations.md "Maintenance: drain"
  std::set<std::uint64_t> dead_nodes_;       // nodes the owner's failure detector says are dead
  std::vector<group_write> pending_writes_;  // bootstrap writes waiting for a disk slot
  std::vector<disk_op> pending_ops_;         // snapshots and removals waiting for a disk slot
  std::set<std::uint64_t> deferred_;         // groups holding a commit-only hard state
  std::vector<batch_record> in_flight_;      // submitted, not completed; at most the configured bound
  held_votes held_;                          // vote requests for groups not running here yet
  std::uint64_t ticks_ = 0;                  // tick() calls so far: held_votes' clock
  std::uint64_t next_batch_ = 1;
  bool flush_wanted_ = false;
  bool flush_posted_ = false;
  bool failed_ = false;
  std::string failure_;
  host_stats stats_;
};

}  // namespace chronik::consensus
