// Log compaction of one partition replica (docs/kafka.md "Log compaction"): when its topic has
// cleanup.policy=compact, the retention check cleans instead of cutting by time and size. A pass
// takes the cleaned prefix and the oldest entries of the Raft log that are due, keeps what Kafka's
// cleaner rules keep (log_cleaner.h), and compacts the Raft log through those entries with a
// snapshot that carries the new prefix (Raft paper §7). Each replica cleans on its own, as each
// Kafka broker runs its own cleaner; a replica that falls behind the cut receives the leader's
// snapshot, prefix included.
#include <algorithm>
#include <limits>
#include <optional>

#include <spdlog/spdlog.h>

#include "base/assert.h"
#include "kafka/partition/log_cleaner.h"
#include "kafka/partition/partition_replica.h"
#include "kafka/protocol/batch_records.h"

namespace chronik::kafka {

std::string partition_replica::snapshot_for(const log_cut& cut, std::int64_t start) const {
  const std::string producers = producers_.at(cut.index).encode();
  if (!cfg_.compact && index_.cleaned().empty()) return partition_index::snapshot_at(cut, producers);
  return partition_index::snapshot_at(cut, start, index_.cleaned().without_below(start), producers);
}

bool partition_replica::expire_prefix(std::int64_t now_ms) {
  // Kafka deletes a compacted topic's expired segments from the front: here the prefix's batches,
  // then (once they have all gone) the entries. A batch goes while it is older than retention.ms or
  // the partition holds more than retention.bytes.
  const cleaned_prefix& prefix = index_.cleaned();
  std::int64_t threshold = 0;
  const bool by_time = cfg_.retention_ms >= 0 && !__builtin_sub_overflow(now_ms, cfg_.retention_ms, &threshold);
  std::uint64_t held = index_.size_bytes();
  std::int64_t start = index_.log_start_offset();
  std::size_t expired = 0;
  for (const auto& b : prefix.batches()) {
    const bool old = by_time && b.max_timestamp >= 0 && b.max_timestamp < threshold;
    const bool over = cfg_.retention_bytes >= 0 && held > static_cast<std::uint64_t>(cfg_.retention_bytes);
    if (!old && !over) break;
    held -= b.size;
    start = std::max(start, b.end_offset);
    ++expired;
  }
  const bool all = expired == prefix.batch_count();
  if (start > index_.log_start_offset()) {
    // The log start moves here now, and the next snapshot (a retention cut's or a cleaning pass's)
    // records it. A restart before that finds the older start in its snapshot, and the next
    // retention check moves it again (retention depends only on the clock and the records).
    index_.delete_before(start);
    epochs_.truncate_from_start(index_.log_start_offset());
    log_->debug("[{}-{} g{}] retention: log start offset now {} (in the cleaned prefix)", topic_, ref_.partition,
                ref_.group.value, start);
  }
  return all;
}

void partition_replica::clean_if_due(std::int64_t now_ms) {
  const auto& entries = index_.entries();
  if (entries.size() < 2) return;
  // The stretch that may be cleaned: the oldest entries, each wholly below the last stable offset
  // (every transaction in it decided, as clean_log requires), older than min.compaction.lag.ms and
  // with a known timestamp, within one pass's read budget. The newest entry always stays, as with
  // retention, so the high watermark's entry remains readable.
  const std::int64_t stable = last_stable_offset();
  std::int64_t lag_floor = 0;
  if (__builtin_sub_overflow(now_ms, cfg_.min_compaction_lag_ms, &lag_floor)) return;
  std::size_t n = 0;
  std::uint64_t dirty = 0;
  while (n + 1 < entries.size() && entries[n].end_offset() <= stable && entries[n].max_timestamp >= 0 &&
         entries[n].max_timestamp <= lag_floor && (n == 0 || dirty + entries[n].bytes <= cfg_.max_clean_pass_bytes)) {
    dirty += entries[n].bytes;
    ++n;
  }
  if (n == 0) return;
  // Kafka cleans only rolled segments, when the dirty share reaches min.cleanable.dirty.ratio or
  // a record waited max.compaction.lag.ms.
  const std::int64_t age = now_ms - entries.front().max_timestamp;
  const bool rolled = dirty >= static_cast<std::uint64_t>(cfg_.segment_bytes) || age >= cfg_.segment_ms;
  const double ratio = static_cast<double>(dirty) / static_cast<double>(dirty + index_.cleaned().size_bytes());
  const bool overdue = age >= cfg_.max_compaction_lag_ms;
  if (!overdue && (!rolled || ratio < cfg_.min_cleanable_dirty_ratio)) return;

  const std::vector<indexed_entry> stretch(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(n));
  byte_chain read;
  if (!read_from_log(stretch, 0, n, read)) return;  // logged there; the next check tries again
  const log_cut cut{stretch.back().index, stretch.back().end_offset()};
  std::vector<std::string_view> pieces;
  pieces.push_back(index_.cleaned().bytes());
  for (const shared_bytes& b : read.pieces()) pieces.push_back(b.view);
  const auto aborted = producers_.current().aborted_between(index_.log_start_offset(), cut.next_offset);
  auto cleaned = clean_log(pieces, aborted, cleaner_rules{now_ms, cfg_.delete_retention_ms});
  if (!cleaned) {
    log_->error("[{}-{} g{}] compaction: cannot clean through offset {}: {}", topic_, ref_.partition,
                ref_.group.value, cut.next_offset, cleaned.error().text);
    return;
  }
  if (cleaned->batches.size() > cfg_.max_cleaned_prefix_bytes) {
    if (!cleaned_prefix_full_logged_) {
      log_->warn("[{}-{} g{}] compaction: the cleaned log would hold {} bytes, over the bound of {}; "
                 "the partition keeps every record from now on", topic_, ref_.partition, ref_.group.value,
                 cleaned->batches.size(), cfg_.max_cleaned_prefix_bytes);
      cleaned_prefix_full_logged_ = true;
    }
    return;
  }
  auto parsed = cleaned_prefix::from_batches(std::move(cleaned->batches));
  if (!parsed) {
    log_->error("[{}-{} g{}] compaction: the cleaned batches do not parse: {}", topic_, ref_.partition,
                ref_.group.value, parsed.error().text);
    return;
  }
  // An entry may hold batches wholly below the log start (DeleteRecords moved it inside the entry
  // before the topic became compacted): they go, as a reader never reaches them.
  auto prefix = std::optional(parsed->without_below(index_.log_start_offset()));
  // Before the compaction: what the cleaner returns is a prefix of whole batches below the cut,
  // at or after the log start.
  CHRONIK_ASSERT(prefix && prefix->end_offset() <= cut.next_offset &&
                     (prefix->empty() || prefix->batches().front().end_offset > index_.log_start_offset()),
                 "the cleaned prefix lies between the log start and the cut");
  const std::string snapshot =
      partition_index::snapshot_at(cut, index_.log_start_offset(), *prefix, producers_.at(cut.index).encode());
  if (auto r = host_.compact(ref_.group, cut.index, snapshot); !r) {
    log_->warn("[{}-{} g{}] compaction at {} refused: {}", topic_, ref_.partition, ref_.group.value, cut.index.value,
               r.error().text);
    return;
  }
  const std::int64_t start = index_.log_start_offset();
  index_.compact_through(cut, std::move(*prefix));
  producers_.drop_through(cut.index, start);
  if (cache_ != nullptr) cache_->drop_through(ref_.group, cut.index);
  // After it: the log start did not move, and the index serves the prefix up to the cut.
  CHRONIK_ASSERT(index_.log_start_offset() == start && index_.head_start_offset() == cut.next_offset,
                 "compaction keeps the log start and moves the head to the cut");
  log_->debug("[{}-{} g{}] compaction: {} of {} records kept below offset {} ({} batches rewritten)", topic_,
              ref_.partition, ref_.group.value, cleaned->records_kept, cleaned->records_in, cut.next_offset,
              cleaned->batches_rewritten);
}

offset_answer partition_replica::first_record_in_cleaned(const cleaned_prefix::batch& b,
                                                         std::int64_t timestamp_ms) const {
  const std::int64_t floor = std::max(b.base_offset, index_.log_start_offset());
  const offset_answer whole{floor, b.max_timestamp};
  auto split = split_record_batches(index_.cleaned().view(b), crc_check::skip);
  if (!split || split->size() != 1) return whole;
  auto records = record_positions(split->front());
  if (!records) return whole;
  for (const auto& r : *records) {
    if (r.timestamp >= timestamp_ms && r.offset >= floor) return offset_answer{r.offset, r.timestamp};
  }
  return whole;
}

}  // namespace chronik::kafka
