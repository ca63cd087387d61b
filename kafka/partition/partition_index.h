// The offset index of one partition (docs/design.md "One write path"; docs/kafka.md "Partitions"):
// the partition's Raft log IS its storage, and this index maps Kafka offsets onto the Raft entries
// that hold them. Pure: no I/O; the shell reads the entries' bytes from the WAL.
//
// Offsets are assigned when an entry is applied, in commit order, so every replica assigns the
// same dense offsets from the same committed log: entry k gets [next, next + records). The leader
// stamps the same base offset into the batch before proposing (it only proposes once every entry
// of earlier terms is applied, so its prediction is this very computation), and readers rewrite
// the base offset from this index anyway: it sits outside the batch CRC.
//
// The high watermark is the offset after the last applied (so committed) entry: consumers never
// read past it (docs/design.md "Reads").
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/core/types.h"
#include "kafka/partition/cleaned_prefix.h"

namespace chronik::kafka {

using consensus::log_index;

// What the index needs of an entry's record batches (kafka/protocol/record_batch.h parses them).
struct entry_summary {
  std::int32_t records = 0;         // sum of (last offset delta + 1) over the entry's batches
  std::int64_t max_timestamp = -1;  // largest batch max timestamp, ms; -1 when unknown
  std::uint64_t bytes = 0;
};

struct indexed_entry {
  log_index index;
  std::int64_t base_offset = 0;
  std::int32_t records = 0;
  std::int64_t max_timestamp = -1;
  std::uint64_t bytes = 0;
  std::int64_t end_offset() const { return base_offset + records; }
};

enum class index_errc : std::uint8_t { malformed_snapshot };

// A point of the log: everything through Raft index `index`, holding offsets below `next_offset`.
struct log_cut {
  log_index index;
  std::int64_t next_offset = 0;
};

class partition_index {
 public:
  // A committed entry with records; `index` must be above applied(). Returns its placement.
  indexed_entry append(log_index index, const entry_summary& s);
  // A committed entry without records (Raft no-op, configuration change).
  void skip(log_index index);

  log_index applied() const { return applied_; }
  std::int64_t log_start_offset() const { return log_start_; }
  // Where the Raft log's entries begin (offsets are dense across them, so the first one's base
  // offset, or the high watermark when none is left): offsets below it and at or above the log
  // start are in the cleaned prefix of a compacted partition. The log start for other partitions.
  std::int64_t head_start_offset() const {
    return std::max(log_start_, entries_.empty() ? next_ : entries_.front().base_offset);
  }
  // A compacted partition's cleaned prefix (docs/kafka.md "Log compaction"); empty otherwise.
  const cleaned_prefix& cleaned() const { return cleaned_; }
  std::int64_t high_watermark() const { return next_; }
  std::uint64_t size_bytes() const { return bytes_ + cleaned_.size_bytes(); }
  std::size_t entry_count() const { return entries_.size(); }
  // The indexed entries, oldest first (log compaction picks its stretch from the front).
  const std::deque<indexed_entry>& entries() const { return entries_; }

  // Entries holding offsets at or after `offset`, in order, stopping once max_bytes is reached
  // (the first one always comes, as Kafka's Fetch requires). Empty when offset is at or past the
  // high watermark, or before the log start (the caller answers OFFSET_OUT_OF_RANGE).
  std::vector<indexed_entry> from_offset(std::int64_t offset, std::uint64_t max_bytes) const;
  // ListOffsets by timestamp: the first entry whose max timestamp is at least `timestamp_ms`, or
  // nullopt when none is. The first record reaching it lies in this entry (the caller looks
  // inside, kafka/protocol/batch_records.h, and raises the answer to the log start).
  std::optional<indexed_entry> entry_for_timestamp(std::int64_t timestamp_ms) const;
  // ListOffsets by max timestamp (KIP-734): the first entry holding the largest max timestamp of
  // the log, or nullopt when no entry has a known one. The record carrying it lies in this entry.
  std::optional<indexed_entry> entry_with_max_timestamp() const;

  // Retention (Kafka's retention.ms and retention.bytes; < 0 disables each): the last Raft index
  // that may be dropped so that no entry whose max timestamp is older than now - retention_ms
  // remains and the retained bytes fit retention_bytes. The newest entry is always kept, so the
  // high watermark stays readable. nullopt: nothing to drop.
  std::optional<log_cut> retention_point(std::int64_t now_ms, std::int64_t retention_ms,
                                         std::int64_t retention_bytes) const;
  // Drops every entry at or below `cut.index`; the log start offset becomes cut.next_offset.
  void drop_through(const log_cut& cut);
  // Log compaction: drops every entry at or below `cut.index` and puts `cleaned` (what the cleaner
  // kept of the old prefix and those entries, all below cut.next_offset) in their place. The log
  // start offset stays: offsets in between are served from the prefix.
  void compact_through(const log_cut& cut, cleaned_prefix cleaned);
  // DeleteRecords (docs/kafka.md "Deleting records"): the log start offset moves up to `offset`
  // (never down, never past the high watermark, so every replica applying the same command ends
  // at the same start), and the entries wholly below it leave the index. The start may fall
  // inside an entry: that entry stays, and readers skip its records below the start. Returns the
  // cut through the last entry dropped, for the Raft log's compaction; nullopt when none was.
  std::optional<log_cut> delete_before(std::int64_t offset);

  // A snapshot of the partition at a cut (Raft paper §7): for the index, the state there is just
  // "offsets below next_offset are gone"; the entries after the cut come back from the log. `state`
  // is the rest of the partition's state machine at the cut (its idempotent producers), carried
  // as is. The Raft host stores the snapshot when it compacts the log through cut.index, and sends
  // it to a replica that is behind.
  static std::string snapshot_at(const log_cut& cut, std::string_view state);
  // The snapshot of a compacted partition: the cut, the log start offset, and the cleaned prefix
  // (offsets from the log start to the cut) besides the state.
  static std::string snapshot_at(const log_cut& cut, std::int64_t log_start, const cleaned_prefix& cleaned,
                                 std::string_view state);
  // Resets the index to a snapshot: applied = cut.index, high watermark = next_offset, and the
  // log start and cleaned prefix the snapshot carries (log start = next_offset when it has none).
  // Returns the snapshot's `state` (empty for a snapshot written before it had one).
  std::expected<std::string_view, index_errc> restore(std::string_view bytes);

 private:
  log_index applied_;
  std::int64_t log_start_ = 0;
  std::int64_t next_ = 0;
  std::uint64_t bytes_ = 0;
  std::deque<indexed_entry> entries_;  // ascending by index and offset
  cleaned_prefix cleaned_;
};

}  // namespace chronik::kafka
