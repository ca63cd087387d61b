// Configuration of the multi-Raft host (docs/design.md "Config": every field documents its meaning,
// unit, default and formula). Raft timing lives in raft_config, per group.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>

#include "consensus/core/types.h"
#include "consensus/storage/wal.h"

namespace chronik::consensus {

struct host_config {
  // This node. Required (non-zero); messages addressed to another node are dropped.
  node_id self;

  // The node's data directory. The WAL lives in <data_dir>/raft/ (docs/storage.md) and the host's
  // list of removed groups in <data_dir>/raft-host/. Required.
  std::filesystem::path data_dir;

  // Write batches handed to the disk thread and not yet completed. While the disk is busy, readies
  // wait in the cores and leave together in the next batch, so a small number already gives full
  // group commit; the bound keeps memory finite when the disk is slower than the proposals.
  // Default 4.
  std::size_t max_disk_batches_in_flight = 4;

  // Entry and snapshot bytes the host puts into one write batch before it starts another; the disk
  // thread also merges queued batches only up to this size. Must stay well below
  // wal.max_record_bytes, because one merged batch is one WAL frame. Default 64 MiB.
  std::uint64_t max_batch_bytes = 64ull << 20;

  // Seed of the per-group PRNGs (randomized election timeouts, Raft paper §5.2). Each group's core
  // gets a seed mixed from this, the node id and the group id, so replicas of a group differ.
  // Default 1; the daemon passes a value derived from node_uuid.
  std::uint64_t rng_seed = 1;

  // Options of the shared WAL. Its sink is filled in by the host when empty.
  wal_options wal;

  std::expected<void, std::string> validate() const;
};

}  // namespace chronik::consensus
