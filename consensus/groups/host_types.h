// Vocabulary shared by the multi-Raft host's pure core (host_core.h) and its shell
// (raft_host.h): what a group hands its owner, errors, statistics. Callers include raft_host.h,
// which includes this.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/latency_histogram.h"
#include "consensus/core/raft.h"
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
// Sends a batch of messages, of any groups, to one node. Called at most once per node per flush
// for ordinary messages; heartbeats taken early get a call of their own (docs/raft_host.md).
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
  std::uint64_t votes_held = 0;          // vote requests held for such groups (held_votes.h)
  std::uint64_t disk_batches = 0;        // batches handed to the disk thread
  std::uint64_t append_batches = 0;      // wal::append_batch calls (one fdatasync each)
  std::uint64_t group_writes = 0;        // group writes those calls carried
  std::uint64_t max_groups_per_append = 0;
  std::uint64_t deferred_commits = 0;    // commit-only hard states that skipped the disk
  std::uint64_t awake_groups = 0;        // groups tick() visits (the others are quiesced)
  std::uint64_t liveness_wakes = 0;      // quiesced groups woken because their leader died
  // group_metrics.h: proposals made here timed to their apply, elections this node started, and
  // higher terms written (the shell fills these; the core has no clock).
  latency_snapshot commit_latency;
  std::uint64_t elections_started = 0;
  std::uint64_t term_changes = 0;
};

}  // namespace chronik::consensus
