// The cleaned prefix of a compacted partition (docs/kafka.md "Log compaction"): the batches log
// compaction kept (log_cleaner.h) below the cut its Raft log was compacted through, with gaps
// where records went. It travels in the partition's snapshot, so a replica that restarts or falls
// behind its leader gets it with the cut, and the index (partition_index.h) serves offsets below
// the cut from it. Immutable once built: answers share its bytes rather than copy them. Pure.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kafka/protocol/byte_chain.h"
#include "kafka/protocol/codec_error.h"

namespace chronik::kafka {

class cleaned_prefix {
 public:
  // One kept batch: its offsets and where its bytes sit in the prefix.
  struct batch {
    std::int64_t base_offset = 0;
    std::int64_t end_offset = 0;  // last offset + 1
    std::int64_t max_timestamp = -1;
    std::size_t pos = 0;
    std::size_t size = 0;
  };

  cleaned_prefix() = default;
  // Indexes `bytes`, whole magic-v2 batches with absolute base offsets in ascending, disjoint
  // order (what clean_log returns). Damage is an error: the prefix is read back from a snapshot.
  static std::expected<cleaned_prefix, codec_error> from_batches(std::string bytes);

  bool empty() const { return batches_.empty(); }
  std::size_t size_bytes() const { return bytes_ ? bytes_->size() : 0; }
  std::size_t batch_count() const { return batches_.size(); }
  const std::string& bytes() const;
  const std::vector<batch>& batches() const { return batches_; }
  // The offset after the last kept batch (0 when empty).
  std::int64_t end_offset() const { return batches_.empty() ? 0 : batches_.back().end_offset; }

  // The batches holding offsets at or after `offset`, in order, at most about max_bytes (the first
  // always comes, as Fetch requires); shared with the prefix, not copied.
  byte_chain from_offset(std::int64_t offset, std::uint64_t max_bytes) const;
  // The first batch whose max timestamp is at least `timestamp_ms` (ListOffsets by time).
  std::optional<batch> batch_for_timestamp(std::int64_t timestamp_ms) const;
  // The first batch holding the largest max timestamp (ListOffsets' max timestamp, KIP-734).
  std::optional<batch> batch_with_max_timestamp() const;
  // The bytes of one of this prefix's batches.
  std::string_view view(const batch& b) const { return std::string_view(bytes()).substr(b.pos, b.size); }
  // Drops the batches wholly below `offset` (the log start moved up: DeleteRecords, retention).
  cleaned_prefix without_below(std::int64_t offset) const;

 private:
  std::shared_ptr<const std::string> bytes_;
  std::vector<batch> batches_;
};

}  // namespace chronik::kafka
