// The multi-Raft host: readies, the disk thread and sending (the shell's contract of raft.h for
// many groups at once, docs/design.md "Cores and shells" and "Threads"). See raft_host.h for the
// threading contract.
//
// raft_host.h comes first: it includes standard headers before Asio. Asio decides between
// aligned_alloc and operator new from a libstdc++ macro, so a file that includes Asio before any
// standard header would pick the other allocator and break the ODR (ASan: alloc-dealloc-mismatch).
#include "consensus/groups/raft_host.h"

#include <algorithm>
#include <asio/post.hpp>
#include <spdlog/spdlog.h>

#include "consensus/core/assert.h"
#include "consensus/groups/raft_host_group.h"

namespace chronik::consensus {
namespace {

entry meta_only(const entry& e) { return entry{e.term, e.index, e.type, {}}; }

// Splits a ready into what goes to the disk thread (returned, payloads moved) and what the host
// keeps until the write is durable (`held`).
group_write split(group_id group, ready& rd, held_ready& held) {
  held.stub.hard_state_update = rd.hard_state_update;
  if (!rd.entries.empty()) held.stub.entries.push_back(meta_only(rd.entries.back()));
  if (!rd.committed_entries.empty()) held.stub.committed_entries.push_back(meta_only(rd.committed_entries.back()));
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

}  // namespace

void raft_host::mark_dirty(hosted_group& g) {
  track_awake(g);  // every step and command goes through here, and they may wake the core
  if (!g.dirty) {
    g.dirty = true;
    dirty_.push_back(g.id);
  }
  schedule_flush();
}

// Keeps awake_ in step with the core. A core that quiesced under a leader the failure detector
// has declared dead is woken at once: its followers must run their election timers.
void raft_host::track_awake(hosted_group& g) {
  if (!g.core) return;
  if (g.core->quiesced()) {
    const node_id leader = g.core->leader();
    if (leader == cfg_.self || !dead_nodes_.contains(leader.value)) return;
    g.core->wake();
    ++stats_.liveness_wakes;
  }
  if (!g.awake) {
    g.awake = true;
    awake_.push_back(g.id);
  }
}

void raft_host::schedule_flush() {
  if (flush_posted_ || failed_) return;
  flush_posted_ = true;
  // Deferred to the end of the current handler: every tick, inbound batch and proposal made in
  // it leaves in one flush, so one outbox call per node and one disk batch.
  asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    flush_posted_ = false;
    flush();
  });
}

void raft_host::flush() {
  if (failed_) return;
  send_urgent();
  // A full disk queue leaves the dirty groups as they are: their readies wait inside the cores,
  // and the next completion flushes them, together (the bound of docs/design.md "Size and bounds").
  if (batches_in_flight_ >= cfg_.max_disk_batches_in_flight) return;

  disk_batch batch;
  batch.writes = std::move(pending_writes_);
  pending_writes_.clear();
  batch.ops = std::move(pending_ops_);
  pending_ops_.clear();
  for (const auto& w : batch.writes) batch.bytes += payload_bytes(w);
  for (const auto& op : batch.ops) batch.bytes += op.snap.data.size();

  outgoing out;
  std::vector<std::pair<group_id, held_ready>> now;
  std::vector<group_id> work;
  work.swap(dirty_);
  std::size_t i = 0;
  for (; i < work.size() && batch.bytes < cfg_.max_batch_bytes; ++i) {
    hosted_group* g = find(work[i]);
    if (g == nullptr) continue;  // removed since it was marked
    g->dirty = false;
    // A group whose write is in flight is looked at again when that write completes.
    if (!g->core || g->in_flight || !g->core->has_ready()) continue;
    take_ready(*g, batch, out, now);
  }
  for (; i < work.size(); ++i) dirty_.push_back(work[i]);  // over the size limit: next flush
  if (!dirty_.empty()) schedule_flush();

  if (!batch.writes.empty()) attach_deferred_states(batch);
  if (!batch.empty()) {
    ++batches_in_flight_;
    ++stats_.disk_batches;
    disk_->submit(std::move(batch));
  }
  send(out);
  finish(now);
}

void raft_host::take_ready(hosted_group& g, disk_batch& batch, outgoing& out,
                           std::vector<std::pair<group_id, held_ready>>& now) {
  ready rd = g.core->get_ready();
  // Term, vote and the end of rejoining must be durable before the messages that rely on them
  // leave; only a commit index may wait (it can always be learned again).
  const bool term_or_vote = rd.hard_state_update && (rd.hard_state_update->term != g.last_state.term ||
                                                     rd.hard_state_update->vote != g.last_state.vote ||
                                                     rd.hard_state_update->rejoining != g.last_state.rejoining);
  held_ready held;
  if (!rd.entries.empty() || rd.snapshot_update || term_or_vote) {
    group_write w = split(g.id, rd, held);
    if (!w.state && g.deferred_state) w.state = g.deferred_state;  // the newest durable-worthy state
    if (w.state) g.last_state = *w.state;
    g.deferred_state.reset();
    deferred_.erase(g.id.value);
    batch.bytes += payload_bytes(w);
    batch.writes.push_back(std::move(w));
    g.held = std::move(held);
    g.in_flight = true;
    return;
  }
  // Nothing the Raft paper requires durable before sending (§5.1 "persistent state": term, vote
  // and log; the commit index is volatile, dissertation §3.8): send and apply now, and write the
  // new commit with the group's next disk write so a restart replays less.
  if (rd.hard_state_update) {
    g.deferred_state = rd.hard_state_update;
    g.last_state = *rd.hard_state_update;
    deferred_.insert(g.id.value);
    ++stats_.deferred_commits;
  }
  static_cast<void>(split(g.id, rd, held));  // nothing to write: only the held part matters
  for (message& m : held.messages) out[m.to].push_back(group_message{g.id, std::move(m)});
  held.messages.clear();
  now.emplace_back(g.id, std::move(held));
}

// Heartbeats and their answers leave at once, from every dirty group: also from one whose write
// is on its way to disk and when the disk queue is full (raft::take_urgent). Under a write load
// whose fsyncs take longer than an election timeout, waiting for them cost leaders their
// check-quorum and followers their patience (bench/load; docs/raft.md "Messages that do not wait
// for the disk").
void raft_host::send_urgent() {
  outgoing out;
  for (group_id id : dirty_) {
    hosted_group* g = find(id);
    if (g == nullptr || !g->core || !g->core->has_urgent()) continue;
    for (message& m : g->core->take_urgent()) out[m.to].push_back(group_message{g->id, std::move(m)});
  }
  if (!out.empty()) send(out);
}

void raft_host::attach_deferred_states(disk_batch& batch) {
  // Deferred commit indexes ride along with a write that happens anyway: no extra fdatasync.
  // Such a group is in flight with an empty ready, so it is never twice in one merged append.
  for (std::uint64_t id : deferred_) {
    hosted_group* g = find(group_id{id});
    if (g == nullptr || g->in_flight || !g->deferred_state) continue;
    batch.writes.push_back(group_write{g->id, g->deferred_state, {}, std::nullopt});
    g->deferred_state.reset();
    g->in_flight = true;
    g->held = held_ready{};
  }
  deferred_.clear();
}

void raft_host::on_disk_done(disk_result r) {
  CHRONIK_ASSERT(batches_in_flight_ >= r.batches, "more disk completions than batches");
  batches_in_flight_ -= r.batches;
  for (const auto& e : r.op_errors) log_->error("[{}] disk operation failed: {}", cfg_.self.value, e.text);
  if (!r.append) return fail(r.append.error().text);
  // A snapshot, compaction or removal that failed on I/O may have poisoned the WAL, and the disk
  // is as full or broken as for an append: fence now rather than at the next write, which an
  // idle node might not make for a long time. Its own append above succeeded and is handled.
  const auto io_failure = std::ranges::find_if(r.op_errors, [](const storage_error& e) {
    return e.code == storage_errc::io_error || e.code == storage_errc::failed;
  });

  outgoing out;
  std::vector<std::pair<group_id, held_ready>> done;
  std::vector<std::pair<group_id, entry>> persisted;  // last entry of each write, payload-free
  for (group_id id : r.written) {
    hosted_group* g = find(id);
    if (g == nullptr) continue;  // removed while its write was on the disk
    g->in_flight = false;
    if (!g->core) {
      start_core(*g);  // its bootstrap entries are durable
      continue;
    }
    if (g->held) {
      for (message& m : g->held->messages) out[m.to].push_back(group_message{id, std::move(m)});
      g->held->messages.clear();
      if (g->on_persisted && !g->held->stub.entries.empty()) persisted.emplace_back(id, g->held->stub.entries.back());
      done.emplace_back(id, std::move(*g->held));
      g->held.reset();
    }
    mark_dirty(*g);  // anything that arrived while the write was on the disk
  }
  send(out);  // durable first, then sent (raft.h contract, step b)
  notify_persisted(persisted);
  finish(done);
  if (io_failure != r.op_errors.end()) return fail(io_failure->text);
  if (!pending_writes_.empty() || !pending_ops_.empty() || !dirty_.empty()) schedule_flush();
}

void raft_host::notify_persisted(const std::vector<std::pair<group_id, entry>>& persisted) {
  for (const auto& [id, last] : persisted) {
    hosted_group* g = find(id);  // an earlier callback may have removed it
    if (g == nullptr || !g->on_persisted) continue;
    const auto cb = g->on_persisted;
    (*cb)(last.index, last.term);
  }
}

void raft_host::send(outgoing& out) {
  for (auto& [to, msgs] : out) {
    ++stats_.outbox_calls;
    stats_.messages_sent += msgs.size();
    outbox_(to, std::move(msgs));
  }
  out.clear();
}

void raft_host::finish(std::vector<std::pair<group_id, held_ready>>& done) {
  for (auto& [id, held] : done) {
    hosted_group* g = find(id);
    if (g == nullptr) continue;
    if (!held.apply.empty()) {
      track_applied(*g, held.apply);
      const auto cb = g->on_apply;  // the callback may remove this very group
      (*cb)(std::move(held.apply));
      g = find(id);
      if (g == nullptr) continue;
    }
    g->core->advance(held.stub);  // raft.h contract, step d
    if (g->core->has_ready()) mark_dirty(*g);
  }
  done.clear();
}

void raft_host::fail(const std::string& why) {
  // After a failed fsync the kernel may have dropped the pages, so nothing written since the last
  // good sync can be trusted (docs/storage.md "Disk faults"). The batch that failed is neither
  // sent, nor reported persisted, nor applied: its held readies are dropped with the cores, which
  // stop here. Sending nothing more is also what moves leadership away: the followers stop
  // hearing heartbeats and elect a leader among themselves (Raft paper §5.2).
  if (failed_) return;  // the batches queued behind the failed one fail too
  failed_ = true;
  failure_ = why;
  log_->critical("[{}] WAL write failed, raft host fenced: {}", cfg_.self.value, why);
}

}  // namespace chronik::consensus
