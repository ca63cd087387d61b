// The multi-Raft host's shell: posting the core's flushes, bringing disk completions back onto
// the Asio thread, and carrying out the core's host_output (docs/design.md "Cores and shells" and
// "Threads"; docs/raft_host.md "Core and shell"). It decides nothing: the order in which it
// carries out an output is the one host_output prescribes.
//
// raft_host.h comes first: it includes standard headers before Asio. Asio decides between
// aligned_alloc and operator new from a libstdc++ macro, so a file that includes Asio before any
// standard header would pick the other allocator and break the ODR (ASan: alloc-dealloc-mismatch).
#include "consensus/groups/raft_host.h"

#include <asio/post.hpp>
#include <spdlog/spdlog.h>

namespace chronik::consensus {

// Called after every entry into the core: a flush it wants runs at the end of the current
// handler, so every tick, inbound batch and proposal made in it leaves in one flush.
void raft_host::kick() {
  if (!core_->take_flush_request()) return;
  asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (!alive.expired()) run_flush();
  });
}

void raft_host::run_flush() {
  host_output out;
  core_->flush(out);
  carry_out(out);
}

void raft_host::on_disk_done(disk_result r) {
  for (const auto& e : r.op_errors) log_->error("[{}] disk operation failed: {}", cfg_.self.value(), e.text);
  disk_completion done;
  done.batches = std::move(r.batches);
  if (!r.append) done.append_failed = r.append.error().text;
  // An I/O failure in a snapshot, compaction or removal fences like a failed append.
  const auto io_failure = std::ranges::find_if(r.op_errors, [](const storage_error& e) {
    return e.code == storage_errc::io_error || e.code == storage_errc::failed;
  });
  if (io_failure != r.op_errors.end()) done.op_failed = io_failure->text;
  const bool was_failed = core_->failed();
  host_output out;
  core_->on_disk_done(done, out);
  carry_out(out);
  log_if_fenced(was_failed);
}

void raft_host::log_if_fenced(bool was_failed) {
  if (!was_failed && core_->failed()) {
    log_->critical("[{}] WAL write failed, raft host fenced: {}", cfg_.self.value(), core_->failure());
  }
}

// In host_output's order: heartbeats taken early in calls of their own (never merged with the
// rest: docs/performance.md), the disk batches, the other messages (durable first, then sent:
// raft.h contract, step b), persisted notices, then applies.
void raft_host::carry_out(host_output& out) {
  send(out.urgent);
  for (disk_batch& b : out.disk) {
    for (const group_write& w : b.writes) metrics_.persisting(w);
    disk_->submit(std::move(b));
  }
  send(out.sends);
  for (const auto& [id, last] : out.persisted) {
    auto it = callbacks_.find(id.value);  // an earlier callback may have removed the group
    if (it == callbacks_.end() || !it->second.on_persisted) continue;
    const auto cb = it->second.on_persisted;
    (*cb)(last.index, last.term);
  }
  for (apply_batch& b : out.applies) {
    auto it = callbacks_.find(b.group.value);
    if (it == callbacks_.end()) continue;  // removed by an earlier callback
    const auto cb = it->second.on_apply;   // the callback may remove this very group
    // Timed before the apply: acks=all is answered inside it (group_metrics.h).
    if (!b.committed.empty()) metrics_.applied(b.group, b.committed.back().index, std::chrono::steady_clock::now());
    (*cb)(std::move(b));
  }
  kick();
}

void raft_host::send(outgoing& out) {
  for (auto& [to, msgs] : out) {
    ++outbox_calls_;
    messages_sent_ += msgs.size();
    outbox_(to, std::move(msgs));
  }
  out.clear();
}

}  // namespace chronik::consensus
