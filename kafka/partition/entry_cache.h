// The record batches of recently applied partition entries, shared by every partition of a node
// (docs/kafka.md "Fetch without copies"): consumers mostly read near the high watermark, and the
// entries they want were applied moments ago, so a fetch there is answered from memory, not
// from the WAL. The replica stamps an entry's base offsets before it puts the entry here, so
// the bytes are exactly what Fetch sends and are shared with the answers, never copied.
//
// Only applied (so committed) entries are put, and Raft never truncates a committed entry; even
// so, a put at or below a group's newest cached index drops that suffix first, so the cache can
// never hold an entry that was replaced at its index. Compaction (retention), a snapshot install
// and the removal of a group drop the group's entries.
//
// One byte budget for the node, evicting in insertion order across partitions: the oldest entries
// go first wherever they are. Each group's entries are an ascending run of Raft indexes (Raft
// no-ops and configuration changes hold no records and are not cached).
//
// Threading: the raft_host's Asio thread, like the replicas.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "consensus/core/types.h"

namespace chronik::kafka {

class entry_cache {
 public:
  // max_bytes 0 disables the cache: nothing is kept.
  explicit entry_cache(std::uint64_t max_bytes) : max_bytes_(max_bytes) {}

  // Caches `group`'s applied entry at `index`. An index at or below the group's newest cached
  // one first drops the cached entries from there on. Then the oldest entries of the node are
  // evicted until the budget holds; an entry larger than the whole budget is not kept.
  void put(consensus::group_id group, consensus::log_index index, std::shared_ptr<const std::string> bytes);
  // The group's cached entry at `index`, or null.
  std::shared_ptr<const std::string> find(consensus::group_id group, consensus::log_index index) const;

  // Drops the group's entries at or below `index` (compaction).
  void drop_through(consensus::group_id group, consensus::log_index index);
  // Drops the group's entries at or above `index` (a replaced suffix).
  void drop_from(consensus::group_id group, consensus::log_index index);
  // Drops all of the group's entries (snapshot install, removal).
  void drop_group(consensus::group_id group);

  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t max_bytes() const { return max_bytes_; }
  std::size_t entries() const { return entries_; }
  // The group's oldest and newest cached index (0 when none): for tests and diagnostics.
  consensus::log_index first_index(consensus::group_id group) const;
  consensus::log_index last_index(consensus::group_id group) const;

 private:
  struct cached {
    consensus::log_index index;
    std::shared_ptr<const std::string> bytes;
  };
  // Insertion order across groups. A reference may be stale (its entry already dropped); it is
  // skipped when it reaches the front, and stale ones are swept when they outnumber live ones.
  struct ref {
    consensus::group_id group;
    consensus::log_index index;
  };

  bool evict_oldest();  // false when nothing is left
  void forget(std::deque<cached>& run, std::deque<cached>::iterator first, std::deque<cached>::iterator last);
  void sweep_stale_refs();

  std::uint64_t max_bytes_;
  std::uint64_t bytes_ = 0;
  std::size_t entries_ = 0;
  std::map<std::uint64_t, std::deque<cached>> groups_;  // ascending by index
  std::deque<ref> order_;
};

}  // namespace chronik::kafka
