#include "kafka/partition/log_cleaner.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "kafka/protocol/batch_records.h"
#include "kafka/protocol/record_batch.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {
namespace {

codec_error batch_error(codec_errc code, const record_batch_header& h, std::string_view what) {
  return codec_error{code, 0, "batch at offset " + std::to_string(h.base_offset) + ": " + std::string(what)};
}

// One record of a batch as the cleaner needs it: where it sits among the batch's (decompressed)
// record bytes, and what decides whether it stays.
struct record_at {
  std::string_view raw;  // the whole record, length prefix included
  std::int64_t offset = 0;
  std::int64_t timestamp = 0;
  std::optional<std::string_view> key;
  bool tombstone = false;
};

// Walks the records of one batch. `inflated` receives the decompressed records when the batch is
// compressed, and must outlive the views passed to `each`.
template <typename Fn>
std::expected<void, codec_error> for_each_record(const record_batch_view& batch, std::string& inflated, Fn&& each) {
  const record_batch_header& h = batch.header;
  if (!h.has_known_compression()) return std::unexpected(batch_error(codec_errc::invalid_value, h, "unknown compression"));
  std::string_view records = batch.bytes.substr(record_batch_header_size);
  if (h.compression() != compression_type::none) {
    auto d = decompress_records(h.compression(), records);
    if (!d) return std::unexpected(batch_error(d.error().code, h, d.error().text));
    inflated = std::move(*d);
    records = inflated;
  }
  reader r(records);
  // The header's count is a claim: the loop also ends when the bytes do (read_record fails).
  for (std::int32_t i = 0; i < h.records_count; ++i) {
    const std::size_t start = r.offset();
    auto rec = read_record(r);
    if (!rec) return std::unexpected(batch_error(rec.error().code, h, "record " + std::to_string(i) + ": " + rec.error().text));
    record_at at;
    at.raw = records.substr(start, r.offset() - start);
    if (__builtin_add_overflow(h.base_offset, std::int64_t{rec->offset_delta}, &at.offset) ||
        __builtin_add_overflow(h.base_timestamp, rec->timestamp_delta, &at.timestamp)) {
      return std::unexpected(batch_error(codec_errc::invalid_value, h, "record " + std::to_string(i) + " overflows"));
    }
    if (rec->key_bytes >= 0) at.key = rec->key;
    at.tombstone = rec->value_bytes < 0;
    each(at);
  }
  if (r.remaining() != 0) {
    return std::unexpected(batch_error(codec_errc::corrupt_batch, h, std::to_string(r.remaining()) + " bytes after the records"));
  }
  return {};
}

// The aborted transactions by producer, for "is this transactional batch's data aborted".
class aborted_lookup {
 public:
  explicit aborted_lookup(std::span<const aborted_txn> aborted) {
    for (const aborted_txn& a : aborted) by_producer_[a.producer_id].emplace_back(a.first_offset, a.last_offset);
  }
  bool covers(const record_batch_header& h) const {
    if (!h.is_transactional() || h.is_control()) return false;
    const auto it = by_producer_.find(h.producer_id);
    if (it == by_producer_.end()) return false;
    return std::ranges::any_of(it->second, [&](const auto& r) { return r.first <= h.base_offset && h.base_offset <= r.second; });
  }

 private:
  std::map<std::int64_t, std::vector<std::pair<std::int64_t, std::int64_t>>> by_producer_;
};

// Keys are looked up by view: no string is built per record, only per distinct key.
struct key_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
};

std::int64_t saturating_sub(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (__builtin_sub_overflow(a, b, &out)) return b > 0 ? std::numeric_limits<std::int64_t>::min() : std::numeric_limits<std::int64_t>::max();
  return out;
}

}  // namespace

std::expected<cleaned_log, codec_error> clean_log(std::span<const std::string_view> pieces,
                                                  std::span<const aborted_txn> aborted, const cleaner_rules& rules) {
  std::vector<record_batch_view> batches;
  for (const std::string_view piece : pieces) {
    auto split = split_record_batches(piece, crc_check::skip);
    if (!split) return std::unexpected(split.error());
    batches.insert(batches.end(), split->begin(), split->end());
  }
  const aborted_lookup is_aborted(aborted);
  // Batches older than this lose their tombstones and markers.
  const std::int64_t horizon = saturating_sub(rules.now_ms, rules.delete_retention_ms);

  // Pass 1: the last offset of every key, over the records that count (not aborted, not control).
  std::unordered_map<std::string, std::int64_t, key_hash, std::equal_to<>> last_of_key;
  std::string inflated;
  std::int64_t previous_end = std::numeric_limits<std::int64_t>::min();
  cleaned_log out;
  for (const record_batch_view& b : batches) {
    // The stretch is a log: batches in offset order, never overlapping.
    if (b.header.base_offset < previous_end) {
      return std::unexpected(batch_error(codec_errc::corrupt_batch, b.header, "batch overlaps the one before it"));
    }
    previous_end = b.header.last_offset() + 1;
    if (b.header.is_control() || is_aborted.covers(b.header)) continue;
    auto r = for_each_record(b, inflated, [&](const record_at& rec) {
      if (!rec.key) return;
      if (auto it = last_of_key.find(*rec.key); it != last_of_key.end()) {
        it->second = rec.offset;
      } else {
        last_of_key.emplace(std::string(*rec.key), rec.offset);
      }
    });
    if (!r) return std::unexpected(r.error());
  }

  // Pass 2: every batch keeps the records the rules keep.
  std::string kept_records;
  for (const record_batch_view& b : batches) {
    const record_batch_header& h = b.header;
    if (h.is_control()) {
      out.records_in += h.records_count;
      if (h.max_timestamp >= horizon) {
        out.batches.append(b.bytes);
        out.records_kept += h.records_count;
      }
      continue;
    }
    const bool aborted_data = is_aborted.covers(h);
    kept_records.clear();
    std::int32_t total = 0;
    std::int32_t kept = 0;
    std::int64_t max_timestamp = std::numeric_limits<std::int64_t>::min();
    auto r = for_each_record(b, inflated, [&](const record_at& rec) {
      ++total;
      if (aborted_data || !rec.key) return;
      const auto it = last_of_key.find(*rec.key);
      CHRONIK_ASSERT(it != last_of_key.end(), "pass 1 saw every counted key");
      if (it->second != rec.offset) return;
      if (rec.tombstone && h.max_timestamp < horizon) return;
      ++kept;
      kept_records.append(rec.raw);
      max_timestamp = std::max(max_timestamp, rec.timestamp);
    });
    if (!r) return std::unexpected(r.error());
    out.records_in += total;
    out.records_kept += kept;
    if (kept == 0) continue;
    if (kept == total) {
      out.batches.append(b.bytes);  // byte for byte, compression and CRC as they were
      continue;
    }
    record_batch_header rewritten = h;
    rewritten.attributes = static_cast<std::int16_t>(h.attributes & ~std::int16_t{0x7});  // uncompressed
    rewritten.records_count = kept;
    // LogAppendTime batches carry their time in the header, not in the records.
    if (h.timestamp() == timestamp_type::create_time) rewritten.max_timestamp = max_timestamp;
    const std::string batch = build_record_batch(rewritten, kept_records);
    // After the rewrite: the same offsets as the original batch, fewer records (build_record_batch
    // computed the CRC over exactly these bytes).
    auto check = parse_record_batch_header(batch);
    CHRONIK_ASSERT(check && check->base_offset == h.base_offset && check->last_offset() == h.last_offset() &&
                       check->records_count == kept,
                   "a rewritten batch keeps its offsets");
    out.batches += batch;
    ++out.batches_rewritten;
  }
  return out;
}

}  // namespace chronik::kafka
