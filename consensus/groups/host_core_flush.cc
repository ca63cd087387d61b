// The host core: readies, disk batches and completions (docs/raft_host.md "Core and shell").
// Pure: the shell carries out what host_output lists.
#include <algorithm>

#include "base/assert.h"
#include "consensus/groups/host_core.h"
#include "consensus/groups/host_group.h"

namespace chronik::consensus {
namespace {

entry meta_only(const entry& e) { return entry{e.term, e.index, e.type, {}}; }

// Splits a ready into what goes to the disk (returned, payloads moved) and what the core keeps
// until the write is durable (`held`).
group_write split(group_id group, ready& rd, held_ready& held) {
  held.stub.hard_state_update = rd.hard_state_update;
  if (!rd.entries.empty()) held.stub.entries.push_back(meta_only(rd.entries.back()));
  // advance() needs the first and last committed index handed out (raft.h contract, step d),
  // not the payloads, which go to the owner.
  if (!rd.committed_entries.empty()) {
    held.stub.committed_entries.push_back(meta_only(rd.committed_entries.front()));
    if (rd.committed_entries.size() > 1) held.stub.committed_entries.push_back(meta_only(rd.committed_entries.back()));
  }
  if (rd.snapshot_update) {
    held.stub.snapshot_update = snapshot{rd.snapshot_update->meta, {}};
    held.apply.snap = rd.snapshot_update;  // the owner installs it too; snapshots are rare
  }
  held.messages = std::move(rd.messages);
  held.apply.group = group;
  held.apply.committed = std::move(rd.committed_entries);
  held.apply.reads = std::move(rd.read_states);
  return group_write{group, rd.hard_state_update, std::move(rd.entries), std::move(rd.snapshot_update)};
}

std::uint64_t payload_bytes(const group_write& w) {
  std::uint64_t n = w.snap ? w.snap->data.size() : 0;
  for (const entry& e : w.entries) n += e.data.size();
  return n;
}

// The last log index a write leaves durable: its last entry (an entry at a stored index replaces
// the suffix from there, Raft paper §5.3), else its snapshot's index (§7), else unchanged.
std::optional<log_index> durable_last(const group_write& w) {
  if (!w.entries.empty()) return w.entries.back().index;
  if (w.snap) return w.snap->meta.index;
  return std::nullopt;
}

}  // namespace

void host_core::mark_dirty(hosted_group& g) {
  track_awake(g);  // every step and command goes through here, and they may wake the core
  if (!g.dirty) {
    g.dirty = true;
    dirty_.push_back(g.id);
  }
  schedule_flush();
}

// Keeps awake_ in step with the core. A core that quiesced under a leader the failure detector
// has declared dead is woken at once: its followers must run their election timers.
void host_core::track_awake(hosted_group& g) {
  if (!g.core) return;
  if (g.core->quiesced()) {
    const node_id leader = g.core->leader();
    if (leader == cfg_.self || !dead_nodes_.contains(leader.value())) return;
    g.core->wake();
    ++stats_.liveness_wakes;
  }
  if (!g.awake) {
    g.awake = true;
    awake_.push_back(g.id);
  }
}

// Deferred to the end of the shell's current handler: every tick, inbound batch and proposal made
// in it leaves in one flush, so one outbox call per node and one disk batch.
void host_core::schedule_flush() {
  if (!failed_) flush_wanted_ = true;
}

bool host_core::take_flush_request() {
  if (!flush_wanted_ || flush_posted_ || failed_) return false;
  flush_posted_ = true;
  return true;
}

void host_core::flush(host_output& out) {
  flush_posted_ = false;
  flush_wanted_ = false;
  if (failed_) return;
  take_urgent(out.urgent);
  // A full disk queue leaves the dirty groups as they are: their readies wait inside the cores,
  // and the next completion flushes them, together (the bound of docs/design.md "Size and bounds").
  if (in_flight_.size() >= cfg_.max_disk_batches_in_flight) return;

  disk_batch batch;
  batch.id = next_batch_;
  batch.writes = std::move(pending_writes_);
  pending_writes_.clear();
  batch.ops = std::move(pending_ops_);
  pending_ops_.clear();
  for (const auto& w : batch.writes) {
    batch.bytes += payload_bytes(w);
    hosted_group* g = find(w.group);
    CHRONIK_ASSERT(g != nullptr && g->in_flight == unbatched, "a bootstrap write waits unbatched, once");
    g->in_flight = batch.id;
  }
  for (const auto& op : batch.ops) batch.bytes += op.snap.data.size();

  std::vector<group_id> work;
  work.swap(dirty_);
  std::size_t i = 0;
  for (; i < work.size() && batch.bytes < cfg_.max_batch_bytes; ++i) {
    hosted_group* g = find(work[i]);
    if (g == nullptr) continue;  // removed since it was marked
    g->dirty = false;
    // A group whose write is in flight is looked at again when that write completes.
    if (!g->core || g->in_flight != 0 || !g->core->has_ready()) continue;
    take_ready(*g, batch, out);
  }
  for (; i < work.size(); ++i) dirty_.push_back(work[i]);  // over the size limit: next flush
  if (!dirty_.empty()) schedule_flush();

  if (!batch.writes.empty()) attach_deferred_states(batch);
  if (!batch.empty()) submit(batch, out);
}

void host_core::take_ready(hosted_group& g, disk_batch& batch, host_output& out) {
  ready rd = g.core->get_ready();
  // Term, vote and the end of rejoining must be durable before the messages that rely on them
  // leave (Raft paper §5.1 Figure 2: persistent state is updated on stable storage before
  // responding to RPCs); so must new entries and a snapshot. Only a commit index may wait.
  const bool term_or_vote = rd.hard_state_update && (rd.hard_state_update->term != g.last_state.term ||
                                                     rd.hard_state_update->vote != g.last_state.vote ||
                                                     rd.hard_state_update->rejoining != g.last_state.rejoining);
  held_ready held;
  if (!rd.entries.empty() || rd.snapshot_update || term_or_vote) {
    CHRONIK_ASSERT(g.in_flight == 0, "a group has at most one write in flight");
    // A leader's appends (and heartbeats) leave now, while its own write goes to disk
    // (ready::early_messages): a new leader's first append, and with it the news of its
    // leadership, no longer waits for the fsyncs queued ahead of its write.
    CHRONIK_ASSERT(rd.early_messages <= rd.messages.size(), "early messages are a prefix of the ready's");
    for (std::size_t i = 0; i < rd.early_messages; ++i) {
      message& m = rd.messages[i];
      out.sends[m.to].push_back(group_message{g.id, std::move(m)});
    }
    rd.messages.erase(rd.messages.begin(), rd.messages.begin() + static_cast<std::ptrdiff_t>(rd.early_messages));
    rd.early_messages = 0;
    group_write w = split(g.id, rd, held);
    if (!w.state && g.deferred_state) w.state = g.deferred_state;  // the newest durable-worthy state
    if (w.state) g.last_state = *w.state;
    g.deferred_state.reset();
    deferred_.erase(g.id.value);
    batch.bytes += payload_bytes(w);
    batch.writes.push_back(std::move(w));
    g.held = std::move(held);
    g.in_flight = batch.id;
    return;
  }
  // Nothing the Raft paper requires durable before sending (§5.1 "persistent state": term, vote
  // and log; the commit index is volatile, dissertation §3.8): send and apply now, and write the
  // new commit with the group's next disk write so a restart replays less. Messages here (e.g.
  // append responses re-acknowledging durable entries, heartbeats) claim only durable state.
  if (rd.hard_state_update) {
    g.deferred_state = rd.hard_state_update;
    g.last_state = *rd.hard_state_update;
    deferred_.insert(g.id.value);
    ++stats_.deferred_commits;
  }
  static_cast<void>(split(g.id, rd, held));  // nothing to write: only the held part matters
  for (message& m : held.messages) out.sends[m.to].push_back(group_message{g.id, std::move(m)});
  release(g, std::move(held.apply), held.stub, out);
}

// Heartbeats and their answers leave at once, from every dirty group: also from one whose write
// is on its way to disk and when the disk queue is full (raft::take_urgent). Under a write load
// whose fsyncs take longer than an election timeout, waiting for them cost leaders their
// check-quorum and followers their patience (docs/raft.md "Messages that do not wait for the
// disk"). They stay in a lane of their own: see host_output::urgent.
void host_core::take_urgent(outgoing& urgent) {
  for (group_id id : dirty_) {
    hosted_group* g = find(id);
    if (g == nullptr || !g->core || !g->core->has_urgent()) continue;
    for (message& m : g->core->take_urgent()) urgent[m.to].push_back(group_message{g->id, std::move(m)});
  }
}

void host_core::attach_deferred_states(disk_batch& batch) {
  // Deferred commit indexes ride along with a write that happens anyway: no extra fsync. Such a
  // group is in flight with an empty ready, so it is never twice in one batch.
  for (std::uint64_t id : deferred_) {
    hosted_group* g = find(group_id{id});
    if (g == nullptr || g->in_flight != 0 || !g->deferred_state) continue;
    batch.writes.push_back(group_write{g->id, g->deferred_state, {}, std::nullopt});
    g->deferred_state.reset();
    g->in_flight = batch.id;
    g->held.reset();  // no ready of the core belongs to this write: nothing to advance
  }
  deferred_.clear();
}

void host_core::submit(disk_batch& batch, host_output& out) {
  CHRONIK_ASSERT(in_flight_.size() < cfg_.max_disk_batches_in_flight, "disk batches in flight stay bounded");
  batch_record rec{batch.id, {}};
  rec.writes.reserve(batch.writes.size());
  for (const group_write& w : batch.writes) {
    const hosted_group* g = find(w.group);
    CHRONIK_ASSERT(g != nullptr && g->in_flight == batch.id, "every write of a batch is its group's only one in flight");
    rec.writes.push_back({w.group, g->life, durable_last(w)});
  }
  for (const disk_op& op : batch.ops)
    if (op.op == disk_op::kind::remove) rec.removals.push_back(op.group);
  in_flight_.push_back(std::move(rec));
  ++next_batch_;
  ++stats_.disk_batches;
  out.disk.push_back(std::move(batch));
}

void host_core::on_disk_done(const disk_completion& done, host_output& out) {
  // Nothing of a failed append is released, nor of any batch completing after a failure.
  const bool release = !failed_ && !done.append_failed;
  for (std::uint64_t id : done.batches) {
    auto it = std::ranges::find(in_flight_, id, &batch_record::id);
    CHRONIK_ASSERT(it != in_flight_.end(), "a batch completes at most once, and only once submitted");
    const batch_record rec = std::move(*it);
    in_flight_.erase(it);
    for (group_id g : rec.removals) removing_.erase(g.value);
    if (release) complete(rec, out);
  }
  if (failed_) return;
  if (done.append_failed) return fail(*done.append_failed);
  // A snapshot, compaction or removal that failed on I/O may have poisoned the WAL: fence now
  // rather than at the next write, which an idle node might not make for a long time. The
  // append above succeeded and is handled.
  if (done.op_failed) return fail(*done.op_failed);
  if (!pending_writes_.empty() || !pending_ops_.empty() || !dirty_.empty()) schedule_flush();
}

// The batch is durable (its fsync succeeded): the messages held for it may leave (raft.h
// contract, step b: durable first, then sent), then its committed entries are handed out.
void host_core::complete(const batch_record& rec, host_output& out) {
  for (const auto& [id, life, last] : rec.writes) {
    hosted_group* g = find(id);
    if (g == nullptr || g->life != life) continue;  // removed (and maybe revived) while on the disk
    CHRONIK_ASSERT(g->in_flight == rec.id, "a write completes with the batch that carried it");
    g->in_flight = 0;
    if (last) g->durable_last = *last;
    if (!g->core) {
      start_core(*g);  // its bootstrap entries are durable
      continue;
    }
    if (g->held) {
      held_ready held = std::move(*g->held);
      g->held.reset();
      for (message& m : held.messages) out.sends[m.to].push_back(group_message{id, std::move(m)});
      if (!held.stub.entries.empty()) out.persisted.emplace_back(id, held.stub.entries.back());
      release(*g, std::move(held.apply), held.stub, out);
    }
    mark_dirty(*g);  // anything that arrived while the write was on the disk
  }
}

// Hands a ready's committed entries to the owner and advances the core (raft.h contract, steps c
// and d). The owner receives them in order after this flush's sends; the core may already build
// its next ready, which the shell flushes only after handing these out.
void host_core::release(hosted_group& g, apply_batch&& apply, const ready& stub, host_output& out) {
  CHRONIK_ASSERT(g.in_flight == 0, "a ready is released only once its write completed");
  if (!apply.committed.empty()) {
    CHRONIK_ASSERT(apply.committed.back().index <= g.durable_last,
                   "committed entries are applied only once durable locally");
  }
  if (apply.snap) CHRONIK_ASSERT(apply.snap->meta.index <= g.durable_last, "a snapshot is installed only once durable");
  if (!apply.empty()) {
    track_applied(g, apply);
    out.applies.push_back(std::move(apply));
  }
  g.core->advance(stub);
  if (g.core->has_ready()) mark_dirty(g);
}

void host_core::fail(const std::string& why) {
  // After a failed fsync the kernel may have dropped the pages, so nothing written since the last
  // good sync can be trusted (docs/storage.md "Disk faults"). The batch that failed is neither
  // sent, nor reported persisted, nor applied: its held readies stay with the cores, which stop
  // here. Sending nothing more is also what moves leadership away: the followers stop hearing
  // heartbeats and elect a leader among themselves (Raft paper §5.2).
  if (failed_) return;
  failed_ = true;
  failure_ = why;
  flush_wanted_ = false;
}

}  // namespace chronik::consensus
