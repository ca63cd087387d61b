// What the host's core hands its disk (consensus/groups/host_core.h): group writes appended with
// one fsync (group commit), then snapshot, compaction and removal operations. Plain data, shared
// by the core, the disk thread and the simulated disk of tests/sim.
#pragma once

#include <cstdint>
#include <vector>

#include "consensus/core/types.h"
#include "consensus/storage/wal.h"

namespace chronik::consensus {

struct disk_op {
  enum class kind : std::uint8_t {
    snapshot_and_compact,  // save `snap` as the group's latest snapshot, then drop entries <= it
    remove,                // record the removal durably, then drop the group's entries
    revive,                // the group is hosted again: drop it from the durable removed list
  };
  kind op = kind::snapshot_and_compact;
  group_id group;
  snapshot snap;
};

struct disk_batch {
  std::uint64_t id = 0;  // unique per core, from 1: named again in its disk_completion
  std::vector<group_write> writes;
  std::vector<disk_op> ops;
  std::uint64_t bytes = 0;  // entry and snapshot payload bytes, for merging limits
  bool empty() const { return writes.empty() && ops.empty(); }
};

}  // namespace chronik::consensus
