#include "tests/sim/host_disk.h"

#include <algorithm>
#include <set>

namespace chronik::sim {

using namespace consensus;

host_disk::store& host_disk::at(group_id group) {
  auto& s = stores_[group.value];
  if (!s) s = std::make_unique<store>();
  return *s;
}

// The core owns its reader, the disk its data.
std::unique_ptr<log_reader> host_disk::reader(group_id group) {
  return std::make_unique<memory_storage_view>(at(group).live);
}

std::vector<group_id> host_disk::recovered() const {
  std::vector<group_id> out;
  for (const auto& [id, s] : stores_)
    if (!removed_.contains(id) && (s->durable.last_index().value > 0 || s->durable.persisted_hard_state() != hard_state{})) out.push_back(group_id{id});
  return out;
}

const memory_storage* host_disk::durable(group_id group) const {
  auto it = stores_.find(group.value);
  return it == stores_.end() ? nullptr : &it->second->durable;
}

void host_disk::persist(memory_storage& s, const group_write& w) { s.persist(w.state, w.snap, w.entries); }

void host_disk::submit(disk_batch b) { pending_.push_back(std::move(b)); }

std::optional<disk_completion> host_disk::complete(rng& r) {
  // A lying disk's cache writes back in the background, oldest first: only a crash in between
  // loses what it acknowledged.
  while (faults.lying && !volatile_.empty() && r.below(4) != 0) {
    persist(at(volatile_.front().group).durable, volatile_.front());
    volatile_.erase(volatile_.begin());
  }
  if (pending_.empty()) return std::nullopt;
  disk_completion done;
  std::vector<disk_batch> taken;
  const auto take = [&] {
    std::size_t i = r.below(100) < faults.reorder_percent ? r.below(pending_.size()) : 0;
    if (!may_complete(i)) i = 0;  // the oldest batch may always complete
    taken.push_back(std::move(pending_[i]));
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
  };
  take();
  if (!pending_.empty() && r.below(100) < faults.merge_percent) take();
  const bool fail = faults.fail_per_mille > 0 && r.below(1000) < faults.fail_per_mille;
  // A failure hits the append, or, when the batches carry operations, sometimes only those
  // (the append is then durable; the host fences after handling it).
  const bool has_ops = std::ranges::any_of(taken, [](const disk_batch& b) { return !b.ops.empty(); });
  const bool op_fail = fail && has_ops && r.below(2) == 0;
  const bool append_fail = fail && !op_fail;
  for (disk_batch& b : taken) {
    done.batches.push_back(b.id);
    for (group_write& w : b.writes) {
      if (append_fail) {
        volatile_.push_back(std::move(w));  // torn: it may or may not be there after a crash
        continue;
      }
      store& s = at(w.group);
      persist(s.live, w);
      if (faults.lying) volatile_.push_back(std::move(w));
      else persist(s.durable, w);
    }
    if (fail) continue;  // operations run after the append; a failed disk runs none
    for (const disk_op& op : b.ops) run(op);
  }
  if (append_fail) done.append_failed = "simulated fdatasync failure";
  if (op_fail) done.op_failed = "simulated snapshot write failure";
  return done;
}

// Batch i may complete before the older pending ones unless it shares a group with one of them
// through a removal or revival: those depend on the order of the group's writes.
bool host_disk::may_complete(std::size_t i) const {
  const auto touches = [](const disk_batch& b, std::uint64_t g) {
    return std::ranges::any_of(b.writes, [&](const group_write& w) { return w.group.value == g; }) ||
           std::ranges::any_of(b.ops, [&](const disk_op& o) { return o.group.value == g; });
  };
  const auto ordered = [](const disk_batch& b, std::set<std::uint64_t>& out) {
    for (const disk_op& o : b.ops)
      if (o.op != disk_op::kind::snapshot_and_compact) out.insert(o.group.value);
  };
  std::set<std::uint64_t> mine;
  ordered(pending_[i], mine);
  for (std::size_t j = 0; j < i; ++j) {
    std::set<std::uint64_t> theirs;
    ordered(pending_[j], theirs);
    for (std::uint64_t g : mine)
      if (touches(pending_[j], g)) return false;
    for (std::uint64_t g : theirs)
      if (touches(pending_[i], g)) return false;
  }
  return true;
}

void host_disk::run(const disk_op& op) {
  store& s = at(op.group);
  if (op.op == disk_op::kind::remove) {
    // Durable at once (the removed list is written first), then the entries go; the hard state
    // and the snapshot stay, as after the WAL's truncation.
    removed_.insert(op.group.value);
    // Unsynced writes of the group came before the removal on the disk: it truncates them too.
    std::erase_if(volatile_, [&](const group_write& w) { return w.group == op.group; });
    for (memory_storage* m : {&s.live, &s.durable}) {
      memory_storage kept;
      kept.persist(m->persisted_hard_state(), m->latest_snapshot(), {});
      *m = std::move(kept);
    }
    return;
  }
  if (op.op == disk_op::kind::revive) {
    removed_.erase(op.group.value);
    return;
  }
  s.live.compact(op.snap.meta.index, op.snap.data, op.snap.meta.conf);
  // A lying disk's durable log may lag behind the snapshot: its compaction is lost with the cache.
  if (!faults.lying) s.durable.compact(op.snap.meta.index, op.snap.data, op.snap.meta.conf);
}

void host_disk::crash(rng& r) {
  // Unsynced writes in the order they reached the disk: acknowledged-but-volatile ones, then the
  // batches still pending. A group's write lost takes its later writes with it.
  for (disk_batch& b : pending_)
    for (group_write& w : b.writes) volatile_.push_back(std::move(w));
  pending_.clear();
  std::set<std::uint64_t> torn;
  for (group_write& w : volatile_) {
    if (torn.contains(w.group.value)) continue;
    if (r.below(2) == 0) {
      torn.insert(w.group.value);
      continue;
    }
    persist(at(w.group).durable, w);
  }
  volatile_.clear();
  for (auto& [id, s] : stores_) s->live = s->durable;
}

}  // namespace chronik::sim
