#include "kafka/partition/partition_index.h"

#include <algorithm>

#include "base/assert.h"

namespace chronik::kafka {
namespace {

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::uint64_t get_u64(std::string_view in, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(in[at + i]);
  return v;
}

// Version 1: the cut alone. Version 2: the cut, then the state of the partition's other state
// machines at the cut (the idempotent producers, kafka/partition/producer_state.h) to the end.
// Version 3 (compacted partitions only, so a node that predates it never meets one from a topic
// it could create): the cut, the log start offset, the cleaned prefix's length and bytes, then the
// state to the end.
constexpr std::uint8_t snapshot_version_cut = 1;
constexpr std::uint8_t snapshot_version = 2;
constexpr std::uint8_t snapshot_version_cleaned = 3;
constexpr std::size_t snapshot_size = 1 + 2 * 8;
constexpr std::size_t snapshot_cleaned_size = snapshot_size + 2 * 8;

}  // namespace

indexed_entry partition_index::append(log_index index, const entry_summary& s) {
  CHRONIK_ASSERT(index > applied_, "partition entries are indexed once, in log order");
  CHRONIK_ASSERT(s.records > 0, "an entry with records has at least one");
  applied_ = index;
  indexed_entry e{index, next_, s.records, s.max_timestamp, s.bytes};
  next_ += s.records;
  bytes_ += s.bytes;
  entries_.push_back(e);
  return e;
}

void partition_index::skip(log_index index) {
  CHRONIK_ASSERT(index > applied_, "partition entries are indexed once, in log order");
  applied_ = index;
}

std::vector<indexed_entry> partition_index::from_offset(std::int64_t offset, std::uint64_t max_bytes) const {
  std::vector<indexed_entry> out;
  if (offset < log_start_ || offset >= next_) return out;
  // The entry holding `offset` is the last one whose base offset is at or before it.
  auto it = std::upper_bound(entries_.begin(), entries_.end(), offset,
                             [](std::int64_t o, const indexed_entry& e) { return o < e.base_offset; });
  if (it != entries_.begin()) --it;
  std::uint64_t taken = 0;
  for (; it != entries_.end(); ++it) {
    if (!out.empty() && taken + it->bytes > max_bytes) break;
    out.push_back(*it);
    taken += it->bytes;
  }
  return out;
}

std::optional<indexed_entry> partition_index::entry_for_timestamp(std::int64_t timestamp_ms) const {
  // Timestamps need not grow with offsets (producers set them), so this is a scan, not a search.
  for (const auto& e : entries_)
    if (e.max_timestamp >= timestamp_ms) return e;
  return std::nullopt;
}

std::optional<indexed_entry> partition_index::entry_with_max_timestamp() const {
  // A scan like entry_for_timestamp's; a tie goes to the earlier entry, as Kafka's segments keep
  // the first batch reaching their largest timestamp.
  const indexed_entry* best = nullptr;
  for (const auto& e : entries_)
    if (e.max_timestamp >= 0 && (best == nullptr || e.max_timestamp > best->max_timestamp)) best = &e;
  if (best == nullptr) return std::nullopt;
  return *best;
}

std::optional<log_cut> partition_index::retention_point(std::int64_t now_ms, std::int64_t retention_ms,
                                                          std::int64_t retention_bytes) const {
  if (entries_.size() < 2) return std::nullopt;
  std::size_t drop = 0;  // entries to drop from the front; the newest always stays
  const std::size_t last_droppable = entries_.size() - 1;
  if (retention_ms >= 0) {
    while (drop < last_droppable && entries_[drop].max_timestamp >= 0 &&
           entries_[drop].max_timestamp < now_ms - retention_ms)
      ++drop;
  }
  if (retention_bytes >= 0) {
    std::uint64_t kept = bytes_;
    for (std::size_t i = 0; i < drop; ++i) kept -= entries_[i].bytes;
    while (drop < last_droppable && kept > static_cast<std::uint64_t>(retention_bytes)) kept -= entries_[drop++].bytes;
  }
  if (drop == 0) return std::nullopt;
  return log_cut{entries_[drop - 1].index, entries_[drop - 1].end_offset()};
}

void partition_index::drop_through(const log_cut& cut) {
  while (!entries_.empty() && entries_.front().index <= cut.index) {
    bytes_ -= entries_.front().bytes;
    entries_.pop_front();
  }
  log_start_ = std::max(log_start_, cut.next_offset);
  if (!cleaned_.empty()) cleaned_ = cleaned_.without_below(log_start_);
}

std::optional<log_cut> partition_index::delete_before(std::int64_t offset) {
  log_start_ = std::max(log_start_, std::min(offset, next_));
  if (!cleaned_.empty()) cleaned_ = cleaned_.without_below(log_start_);
  std::optional<log_cut> cut;
  while (!entries_.empty() && entries_.front().end_offset() <= log_start_) {
    cut = log_cut{entries_.front().index, entries_.front().end_offset()};
    bytes_ -= entries_.front().bytes;
    entries_.pop_front();
  }
  return cut;
}

std::string partition_index::snapshot_at(const log_cut& cut, std::string_view state) {
  std::string out;
  out.reserve(snapshot_size + state.size());
  out.push_back(static_cast<char>(snapshot_version));
  put_u64(out, cut.index.value);
  put_u64(out, static_cast<std::uint64_t>(cut.next_offset));
  out.append(state);
  return out;
}

std::string partition_index::snapshot_at(const log_cut& cut, std::int64_t log_start, const cleaned_prefix& cleaned,
                                         std::string_view state) {
  CHRONIK_ASSERT(log_start >= 0 && log_start <= cut.next_offset, "the log start lies at or below the cut");
  CHRONIK_ASSERT(cleaned.end_offset() <= cut.next_offset, "the cleaned prefix lies below the cut");
  std::string out;
  out.reserve(snapshot_cleaned_size + cleaned.size_bytes() + state.size());
  out.push_back(static_cast<char>(snapshot_version_cleaned));
  put_u64(out, cut.index.value);
  put_u64(out, static_cast<std::uint64_t>(cut.next_offset));
  put_u64(out, static_cast<std::uint64_t>(log_start));
  put_u64(out, cleaned.size_bytes());
  out.append(cleaned.bytes());
  out.append(state);
  return out;
}

std::expected<std::string_view, index_errc> partition_index::restore(std::string_view bytes) {
  if (bytes.size() < snapshot_size) return std::unexpected(index_errc::malformed_snapshot);
  const auto version = static_cast<std::uint8_t>(bytes[0]);
  if (version != snapshot_version && version != snapshot_version_cleaned &&
      (version != snapshot_version_cut || bytes.size() != snapshot_size))
    return std::unexpected(index_errc::malformed_snapshot);
  const auto applied = get_u64(bytes, 1);
  const auto next = static_cast<std::int64_t>(get_u64(bytes, 9));
  if (next < 0) return std::unexpected(index_errc::malformed_snapshot);
  std::int64_t start = next;
  cleaned_prefix cleaned;
  std::size_t state_at = snapshot_size;
  if (version == snapshot_version_cleaned) {
    if (bytes.size() < snapshot_cleaned_size) return std::unexpected(index_errc::malformed_snapshot);
    start = static_cast<std::int64_t>(get_u64(bytes, 17));
    const std::uint64_t length = get_u64(bytes, 25);
    if (start < 0 || start > next || length > bytes.size() - snapshot_cleaned_size)
      return std::unexpected(index_errc::malformed_snapshot);
    auto parsed = cleaned_prefix::from_batches(std::string(bytes.substr(snapshot_cleaned_size, length)));
    // The prefix lies within [log start, cut): anything else is a snapshot some bug wrote.
    if (!parsed || (!parsed->empty() && (parsed->batches().front().end_offset <= start || parsed->end_offset() > next)))
      return std::unexpected(index_errc::malformed_snapshot);
    cleaned = std::move(*parsed);
    state_at = snapshot_cleaned_size + length;
  }
  applied_ = log_index{applied};
  log_start_ = start;
  next_ = next;
  bytes_ = 0;
  entries_.clear();
  cleaned_ = std::move(cleaned);
  return bytes.substr(state_at);
}

void partition_index::compact_through(const log_cut& cut, cleaned_prefix cleaned) {
  CHRONIK_ASSERT(cut.index <= applied_ && cut.next_offset <= next_, "compaction cuts what was applied");
  CHRONIK_ASSERT(cleaned.end_offset() <= cut.next_offset, "the cleaned prefix lies below the cut");
  while (!entries_.empty() && entries_.front().index <= cut.index) {
    bytes_ -= entries_.front().bytes;
    entries_.pop_front();
  }
  cleaned_ = std::move(cleaned);
  // After it: the entries left begin at the cut (offsets are dense), and the prefix lies below it.
  CHRONIK_ASSERT(entries_.empty() || entries_.front().base_offset == cut.next_offset, "entries start at the cut");
}

}  // namespace chronik::kafka
