// The WAL's in-memory index: per group the hard state, latest snapshot, compaction point and the
// location of every live entry, plus per segment how many live entries it holds. Entry payloads
// are never kept here (docs/storage.md "Memory").
//
// The same apply() interprets a record during recovery and after a live write, so what a running
// node believes and what a restarted node rebuilds cannot drift apart. apply() checks every rule
// a valid log obeys and reports a broken one as text, because at recovery the input is whatever
// the disk holds. Internal to consensus/storage; not thread-safe (wal.cc locks around it).
//
// What a successful apply() leaves true, asserted after every change (a broken one is a bug here,
// not a bad disk): per group compacted <= last and the located entries lie inside (compacted,
// last]; when they start right after the compaction point their first term is not below the
// compacted term (terms never decrease, Raft §5.3); a segment's live count never goes below zero.
// The caller must pass blob_used <= blob_size (asserted: a caller bug, not disk input).
#pragma once

#include <cstdint>
#include <deque>
#include <expected>
#include <map>
#include <optional>
#include <string>

#include "consensus/core/types.h"
#include "raft_storage.pb.h"

namespace chronik::consensus::detail {

// Where one entry's payload lives. 32 bytes, the only per-entry memory the WAL uses.
struct entry_loc {
  std::uint64_t term = 0;
  std::uint64_t segment = 0;  // sequence number of the segment file
  std::uint64_t offset = 0;   // of the payload inside that file
  std::uint32_t length = 0;
  entry_type type = entry_type::normal;
};

struct group_state {
  hard_state state;
  snapshot_meta snap;         // latest durable snapshot (index 0: none)
  log_index compacted;        // entries <= compacted are gone
  term_id compacted_term;     // term of the entry at `compacted`
  log_index last;             // last index; == compacted when the log is empty
  // Entries (last - locs.size(), last]. During recovery the range (compacted, last - size] may be
  // missing because it lived in deleted segments; later records must compact it away.
  std::deque<entry_loc> locs;

  std::uint64_t first_present() const { return last.value - locs.size() + 1; }
  // nullopt when i is compacted (below `compacted`), past `last`, or missing.
  std::optional<term_id> term_at(log_index i) const;
  const entry_loc* loc(log_index i) const;
};

using apply_result = std::expected<void, std::string>;

class wal_index {
 public:
  // Applies one record of a frame in `segment` whose blob starts at blob_offset and holds
  // blob_size bytes; blob_used counts the bytes consumed by entries records so far.
  apply_result apply(const proto::WalRecord& record, std::uint64_t segment,
                     std::uint64_t blob_offset, std::uint64_t blob_size, std::uint64_t& blob_used);
  // base: the oldest segment's checkpoint starts the state. Otherwise the checkpoint must equal
  // the state rebuilt from the older segments.
  apply_result apply_checkpoint(const proto::WalCheckpoint& cp, bool base);
  proto::WalCheckpoint checkpoint() const;
  // After the last segment: no group may still miss entries below its live range.
  apply_result check_complete() const;

  const group_state* find(group_id g) const;
  const std::map<std::uint64_t, group_state>& groups() const { return groups_; }
  std::uint64_t live_entries(std::uint64_t segment) const;

 private:
  group_state& get(std::uint64_t g) { return groups_[g]; }
  apply_result apply_entries(const proto::WalEntries& r, std::uint64_t segment,
                             std::uint64_t blob_offset, std::uint64_t blob_size,
                             std::uint64_t& blob_used);
  apply_result apply_truncate(group_state& g, std::uint64_t from);
  apply_result apply_compact(group_state& g, std::uint64_t through, std::uint64_t term);
  void check_group(const group_state& g) const;
  void pop_back(group_state& g);
  void pop_front(group_state& g);

  std::map<std::uint64_t, group_state> groups_;
  std::map<std::uint64_t, std::uint64_t> live_;  // segment -> live entries (absent: 0)
};

proto::WalHardState to_proto(const hard_state& hs);
// Node ids are 64-bit on disk and 32-bit in memory (base/node_id.h): decoding refuses an id that
// does not fit rather than truncating it into some other node's id.
std::expected<hard_state, std::string> from_proto(const proto::WalHardState& p);
proto::WalSnapshotMeta to_proto(const snapshot_meta& m);
std::expected<snapshot_meta, std::string> from_proto(const proto::WalSnapshotMeta& p);

}  // namespace chronik::consensus::detail
