// Where each leader epoch begins in a partition's log, for OffsetForLeaderEpoch (docs/kafka.md
// "Leader epochs"; KIP-101, KIP-279, KIP-320). Pure: no I/O.
//
// The leader epoch is the Raft term (docs/design.md "Leader epoch"), so the epochs of a partition
// are the terms of its committed entries, and every replica sees the same ones in the same order
// (Raft's log matching, §5.3). The replica tells this map about every entry it applies, with the
// Kafka offset the entry starts at: a term's first entry marks where the term begins. A new
// leader's first entry is its no-op (Raft §8), so the current leader's epoch is here as soon as it
// serves, starting at the high watermark of its election, as a Kafka leader records its epoch at
// its log end offset when elected.
//
// Only committed entries reach the map, and Raft never truncates those, so a new leader's
// truncation of an old leader's uncommitted tail never shows here. Where the log's start moves
// (retention, a snapshot, records deleted), the epoch holding the new log start begins there and
// the ones wholly before it go, as Kafka's epoch cache does when segments are deleted.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>

namespace chronik::kafka {

// Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET.
inline constexpr std::int32_t undefined_epoch = -1;
inline constexpr std::int64_t undefined_epoch_offset = -1;

struct epoch_start {
  std::int32_t epoch = 0;
  std::int64_t start_offset = 0;
  bool operator==(const epoch_start&) const = default;
};

// The answer for one requested epoch: the largest epoch at or below it that the log has, and
// the offset after that epoch's last record.
struct epoch_end {
  std::int32_t epoch = undefined_epoch;
  std::int64_t end_offset = undefined_epoch_offset;
  bool operator==(const epoch_end&) const = default;
};

// A Raft term as a Kafka leader epoch (an int32 on the wire); terms beyond it stay at the largest.
constexpr std::int32_t epoch_of_term(std::uint64_t term) {
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max());
  return static_cast<std::int32_t>(term < max ? term : max);
}

class leader_epochs {
 public:
  // An applied entry of `epoch` that starts at Kafka offset `offset` (the high watermark before
  // it). Entries come in log order, so epochs never decrease; an epoch that took no offsets before
  // the next one began is replaced by it, as Kafka's cache does, which also bounds the map by the
  // number of entries with records (plus one) however many elections there were.
  void observe(std::int32_t epoch, std::int64_t offset);

  // The answer for `requested` over a log holding offsets [log_start, log_end) (Kafka's
  // LeaderEpochFileCache.endOffsetFor):
  // - the latest epoch: its end is log_end (it is still being written);
  // - an older epoch: the largest epoch at or below it, ending where the next larger one starts;
  // - older than every epoch the log still holds: the requested epoch itself, ending where the
  //   first kept epoch starts (its records are gone; Kafka answers so too: "undefined" here would
  //   make consumers reset their position although nothing they read was truncated);
  // - undefined (-1), newer than the latest, or no epoch known: undefined / -1.
  // Epochs before log_start are read as truncate_from_start(log_start) would leave them, so the
  // answer is right even before the caller pruned.
  epoch_end end_offset_for(std::int32_t requested, std::int64_t log_start, std::int64_t log_end) const;

  // The epoch of the record at `offset` (Kafka's epochForOffset, which ListOffsets answers with):
  // the latest epoch starting at or before it; the first kept epoch for an offset before every
  // start; undefined when no epoch is known or the offset is negative.
  std::int32_t epoch_at(std::int64_t offset) const;

  // The log now starts at `log_start`: the epoch holding it begins there, the earlier ones go.
  void truncate_from_start(std::int64_t log_start);
  // Forgets everything (a snapshot replaced the log; the entries after it come again).
  void clear() { epochs_.clear(); }

  const std::deque<epoch_start>& entries() const { return epochs_; }
  std::int32_t latest_epoch() const { return epochs_.empty() ? undefined_epoch : epochs_.back().epoch; }

 private:
  std::deque<epoch_start> epochs_;  // ascending in both epoch and start offset
};

}  // namespace chronik::kafka
