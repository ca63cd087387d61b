#include "consensus/groups/disk_thread.h"

#include <algorithm>

namespace chronik::consensus {

disk_thread::disk_thread(wal& w, removed_groups& removed, std::uint64_t max_merge_bytes, done_fn done)
    : wal_(w), removed_(removed), max_merge_bytes_(max_merge_bytes), done_(std::move(done)),
      thread_([this] { run(); }) {}

disk_thread::~disk_thread() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void disk_thread::submit(disk_batch b) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(b));
  }
  cv_.notify_one();
}

disk_stats disk_thread::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void disk_thread::run() {
  for (;;) {
    std::vector<disk_batch> merged;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and every submitted batch is done
      // Everything that queued up while the previous fdatasync ran goes into this one (group
      // commit), up to the size limit; a single batch always goes, whatever its size.
      std::uint64_t bytes = 0;
      while (!queue_.empty() && (merged.empty() || bytes + queue_.front().bytes <= max_merge_bytes_)) {
        bytes += queue_.front().bytes;
        merged.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    done_(process(merged));
  }
}

disk_result disk_thread::process(std::vector<disk_batch>& merged) {
  disk_result out;
  out.batches.reserve(merged.size());
  std::vector<group_write> writes;
  for (auto& b : merged) {
    out.batches.push_back(b.id);
    for (auto& w : b.writes) writes.push_back(std::move(w));
  }
  if (!writes.empty()) {
    out.append = wal_.append_batch(writes);
    std::lock_guard lock(mu_);
    ++stats_.append_batches;
    stats_.group_writes += writes.size();
    stats_.max_groups_per_append = std::max<std::uint64_t>(stats_.max_groups_per_append, writes.size());
  }
  for (const auto& b : merged)
    for (const auto& op : b.ops) run_op(op, out);
  return out;
}

void disk_thread::run_op(const disk_op& op, disk_result& out) {
  const auto fail = [&](storage_error e) {
    e.text = "group " + std::to_string(op.group.value) + ": " + e.text;
    out.op_errors.push_back(std::move(e));
  };
  switch (op.op) {
    case disk_op::kind::snapshot_and_compact:
      // The snapshot is durable before the entries it covers are dropped (docs/storage.md
      // "Compaction"), and compaction never passes the latest snapshot.
      if (auto r = wal_.save_snapshot(op.group, op.snap); !r) return fail(r.error());
      if (auto r = wal_.compact_prefix(op.group, op.snap.meta.index); !r) return fail(r.error());
      return;
    case disk_op::kind::remove: {
      // The removal is durable first: a crash after it but before the truncation leaves entries
      // nobody reads, never a group that comes back to life.
      if (auto r = removed_.add(op.group); !r) return fail(r.error());
      const auto reader = wal_.reader(op.group);
      const log_index first = reader->first_index();
      if (reader->last_index() >= first) {
        // Lets the WAL delete segments this group pinned (docs/storage.md "Segment deletion").
        if (auto r = wal_.truncate_suffix(op.group, first); !r) return fail(r.error());
      }
      return;
    }
    case disk_op::kind::revive:
      // The group's first write since (its reset hard state, host_core::create_group) went in this
      // batch's append or an earlier one; should the node crash before this, the group is simply
      // revived again at the next start, and its durable state is found where it was.
      if (auto r = removed_.erase(op.group); !r) return fail(r.error());
      return;
  }
}

}  // namespace chronik::consensus
