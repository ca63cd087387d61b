// A simulated disk for the multi-Raft host simulation (tests/sim/host_sim_test.cc): it takes the
// production host_core's disk batches, completes them late, in any order and several at once,
// fails some, and on a crash keeps only what was synced plus any subset of what was not (the
// contract of docs/storage.md "Disk faults": an unacknowledged write may or may not survive).
// Snapshot-and-compact, removal and revival operations run after a batch's append, as on the disk
// thread; a removal or revival is never completed ahead of an earlier batch of its group (the
// production disk thread completes in order, and a removal's truncation follows the group's last
// write). A removal keeps the group's hard state and snapshot, as the WAL's truncation does.
//
// Each group's storage is a memory_storage (the consensus core's in-memory log_reader). `live` is
// what readers see while the host runs; `durable` is what survives a crash. With an honest disk a
// batch is durable the moment it reports success. A lying disk (the unsafe twin: a write cache
// that acknowledges fsync and loses the data on power loss) reports success while its writes are
// still volatile; the simulation must then catch acknowledged entries being lost.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "base/rng.h"
#include "consensus/core/memory_storage.h"
#include "consensus/groups/disk_batch.h"
#include "consensus/groups/host_core.h"

namespace chronik::sim {

struct disk_faults {
  std::uint32_t fail_per_mille = 0;    // each completion fails with this probability
  std::uint32_t reorder_percent = 50;  // a completion picks a random pending batch, not the oldest
  std::uint32_t merge_percent = 25;    // a completion also covers a second pending batch
  bool lying = false;                  // acknowledges writes before they are durable (unsafe)
};

class host_disk {
 public:
  host_disk() = default;
  host_disk(const host_disk&) = delete;
  host_disk& operator=(const host_disk&) = delete;

  disk_faults faults;

  // A reader of `group`'s live storage for a core; valid until the next crash().
  std::unique_ptr<consensus::log_reader> reader(consensus::group_id group);
  // Groups with durable state that are not removed, ascending (host_core's `recovered`).
  std::vector<consensus::group_id> recovered() const;
  // The durable removed list (raft_host's removed-groups file).
  const std::set<std::uint64_t>& removed() const { return removed_; }

  void submit(consensus::disk_batch b);
  // Completes at most one pending batch (possibly two, merged) if the disk is ready to; nullopt
  // when nothing is pending.
  std::optional<consensus::disk_completion> complete(rng& r);
  // Power loss: every write not yet durable survives or not, per group in order (a write is lost
  // with all the group's later ones); live storage becomes the durable one.
  void crash(rng& r);
  std::size_t pending() const { return pending_.size(); }

  // What survives a crash right now, for the checker.
  const consensus::memory_storage* durable(consensus::group_id group) const;

 private:
  struct store {
    consensus::memory_storage live;
    consensus::memory_storage durable;
  };
  store& at(consensus::group_id group);
  static void persist(consensus::memory_storage& s, const consensus::group_write& w);
  void run(const consensus::disk_op& op);
  bool may_complete(std::size_t i) const;

  std::map<std::uint64_t, std::unique_ptr<store>> stores_;  // stable addresses for readers
  std::vector<consensus::disk_batch> pending_;               // submitted, not completed
  std::vector<consensus::group_write> volatile_;             // acknowledged by a lying disk only
  std::set<std::uint64_t> removed_;                          // durable, like the removed-groups file
};

}  // namespace chronik::sim
