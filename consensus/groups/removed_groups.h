// The durable list of groups this node has removed. The WAL keeps every group it ever saw (its
// checkpoints carry them), so without this list a removed group would come back at restart as a
// recovered group. Written only on the disk thread; read once at open.
//
// File: <data_dir>/raft-host/removed-groups, a header line and one decimal group id per line. It
// is replaced atomically (write .tmp, fdatasync, rename, fsync the directory), so after a crash
// it holds either the old or the new list, never a mix.
#pragma once

#include <expected>
#include <filesystem>
#include <set>

#include "consensus/core/types.h"
#include "consensus/storage/storage_error.h"

namespace chronik::consensus {

class removed_groups {
 public:
  // Reads the list (empty when the file does not exist yet) and removes a stale .tmp.
  static std::expected<removed_groups, storage_error> open(const std::filesystem::path& data_dir);

  bool contains(group_id g) const { return ids_.contains(g.value); }
  const std::set<std::uint64_t>& ids() const { return ids_; }

  // Adds `g` and makes the new list durable before returning.
  std::expected<void, storage_error> add(group_id g);
  // Drops `g` (the node hosts the group again, raft_host::revive_group) and makes the new list
  // durable before returning.
  std::expected<void, storage_error> erase(group_id g);

 private:
  // Replaces the file with `ids` atomically; the list in memory changes only after it succeeded.
  std::expected<void, storage_error> write(const std::set<std::uint64_t>& ids) const;

  std::filesystem::path dir_;
  std::set<std::uint64_t> ids_;
};

}  // namespace chronik::consensus
