// Log compaction's record rules (Kafka's log cleaner, for topics with cleanup.policy=compact;
// docs/kafka.md "Log compaction"): given a stretch of a partition's log, which records stay. Pure:
// no I/O, no clock (the caller passes the time), so every replica cleaning the same stretch at the
// same time keeps the same records, and tests replay it exactly.
//
// The rules, Kafka's:
//   - a keyed record stays when it is the last record of its key in the stretch;
//   - a tombstone (null value) that is the last of its key stays only while its batch is younger
//     than delete.retention.ms, so consumers that read the key earlier see its deletion;
//   - a record without a key goes (a compacted topic refuses them at produce; older data may hold
//     some);
//   - records of aborted transactions go, and never count as the last of their key: a committed
//     value must not be lost to a later aborted one;
//   - transaction markers (control batches) stay while younger than delete.retention.ms. The
//     partition's transaction state (producer_state.h) is kept apart from the log, so no reader
//     depends on an old marker: read_committed consumers learn aborted ranges from it, not from
//     markers, and an aborted range's records are gone.
//
// Offsets never change: a kept record keeps its offset, so a stretch has gaps where records went
// (consumers skip them, as with Kafka). A batch whose records all stay is kept byte for byte; one
// that lost some is written again, uncompressed, with its base offset, base timestamp, last offset
// delta, producer fields and leader epoch as they were, and its kept records' bytes as they were
// (their offset and timestamp deltas are relative to those unchanged bases); one that lost all
// goes.
//
// Precondition: every transaction with records in the stretch is decided (the caller cleans only
// below the last stable offset), so the aborted list is complete for it.
#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>

#include "kafka/partition/producer_state.h"
#include "kafka/protocol/codec_error.h"

namespace chronik::kafka {

struct cleaner_rules {
  std::int64_t now_ms = 0;  // the wall clock the ages of tombstones and markers are measured at
  // Kafka's delete.retention.ms: how long a tombstone or a transaction marker outlives the batch
  // max timestamp it carries. Default 86400000 (1 day, Kafka's).
  std::int64_t delete_retention_ms = 86'400'000;
};

struct cleaned_log {
  std::string batches;  // the kept batches, in offset order, base offsets as they were
  std::int64_t records_in = 0;
  std::int64_t records_kept = 0;
  std::int64_t batches_rewritten = 0;  // batches that lost some records and were written again
};

// Cleans the stretch whose whole magic-v2 batches (base offsets stamped, ascending) are the
// concatenation of `pieces`; `aborted` lists the aborted transactions overlapping it. A damaged
// batch fails the whole clean (the stretch is read back from the log as it was produced and
// validated, so damage means a broken log, never something to drop quietly).
std::expected<cleaned_log, codec_error> clean_log(std::span<const std::string_view> pieces,
                                                  std::span<const aborted_txn> aborted, const cleaner_rules& rules);

}  // namespace chronik::kafka
