#include "kafka/protocol/batch_validation.h"

#include <algorithm>
#include <utility>

#include "base/assert.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {
namespace {

constexpr std::size_t max_timestamp_offset = 35;
constexpr std::int16_t log_append_time_bit = 0x08;

std::unexpected<batch_rejection> reject(batch_fault f, std::int32_t batch, std::string text, std::int32_t record = -1) {
  return std::unexpected(batch_rejection{f, batch, record, std::move(text)});
}

// A batch that passed, and the timestamp fields its stored form must carry.
struct checked_batch {
  record_batch_header header;
  std::int16_t attributes = 0;    // with the topic's timestamp type
  std::int64_t max_timestamp = 0;  // the largest record timestamp, or the leader's clock
};

// The header rules, before any record is read.
std::expected<void, batch_rejection> check_header(const record_batch_header& h, std::int32_t index,
                                                  const batch_rules& rules) {
  if (h.size_bytes() > rules.max_batch_bytes) {
    return reject(batch_fault::too_large, index,
                  "batch of " + std::to_string(h.size_bytes()) + " bytes exceeds max.message.bytes " +
                      std::to_string(rules.max_batch_bytes));
  }
  if (!h.has_known_compression()) {
    return reject(batch_fault::corrupt, index, "unknown compression codec id " + std::to_string(h.compression_bits()));
  }
  if (h.is_control()) return reject(batch_fault::invalid_record, index, "clients may not write control batches");
  if (h.base_offset != 0) {
    return reject(batch_fault::invalid_record, index, "baseOffset must be 0, is " + std::to_string(h.base_offset));
  }
  if (h.producer_id >= 0 && h.base_sequence < 0 && !(rules.coordinator_write && h.is_transactional())) {
    return reject(batch_fault::invalid_record, index, "producer id without a sequence number");
  }
  if (h.records_count <= 0) return reject(batch_fault::invalid_record, index, "recordsCount must be positive");
  if (h.last_offset_delta != h.records_count - 1) {
    return reject(batch_fault::invalid_record, index,
                  "lastOffsetDelta " + std::to_string(h.last_offset_delta) + " does not match recordsCount " +
                      std::to_string(h.records_count));
  }
  return {};
}

// A CreateTime record's timestamp against the topic's window around the leader's clock. The
// differences are computed without overflow: a timestamp may be any int64.
bool inside_window(std::int64_t ts, const batch_rules& rules) {
  std::int64_t diff = 0;
  if (ts > rules.now_ms) {
    return !__builtin_sub_overflow(ts, rules.now_ms, &diff) && diff <= rules.timestamp_after_max_ms;
  }
  return !__builtin_sub_overflow(rules.now_ms, ts, &diff) && diff <= rules.timestamp_before_max_ms;
}

// Walks the records section: exactly recordsCount well-formed records with offset deltas 0..n-1
// and nothing after them. Returns the largest record timestamp.
std::expected<std::int64_t, batch_rejection> check_records(const record_batch_header& h, std::string_view records,
                                                           std::int32_t index, const batch_rules& rules) {
  reader r(records);
  std::int64_t max_ts = std::numeric_limits<std::int64_t>::min();
  // recordsCount is positive (check_header) but only a claim: the loop also ends at the first
  // record that is not there, so it runs at most records.size() / min_record_bytes times.
  for (std::int32_t i = 0; i < h.records_count; ++i) {
    auto rec = read_record(r);
    if (!rec) {
      return reject(batch_fault::invalid_record, index, "record " + std::to_string(i) + ": " + describe(rec.error()), i);
    }
    if (rec->offset_delta != i) {
      return reject(batch_fault::invalid_record, index,
                    "record " + std::to_string(i) + " has offset delta " + std::to_string(rec->offset_delta), i);
    }
    if (rules.require_keys && rec->key_bytes < 0) {
      return reject(batch_fault::invalid_record, index,
                    "record " + std::to_string(i) + " has no key: a compacted topic needs one on every record", i);
    }
    std::int64_t ts = 0;
    if (__builtin_add_overflow(h.base_timestamp, rec->timestamp_delta, &ts)) {
      return reject(batch_fault::invalid_record, index, "record " + std::to_string(i) + " timestamp overflows", i);
    }
    if (rules.timestamps == timestamp_type::create_time && !inside_window(ts, rules)) {
      return reject(batch_fault::invalid_timestamp, index,
                    "record " + std::to_string(i) + " timestamp " + std::to_string(ts) +
                        " is outside message.timestamp.before/after.max.ms of " + std::to_string(rules.now_ms),
                    i);
    }
    max_ts = std::max(max_ts, ts);
  }
  if (r.remaining() != 0) {
    return reject(batch_fault::invalid_record, index,
                  std::to_string(r.remaining()) + " bytes after record " + std::to_string(h.records_count - 1));
  }
  return max_ts;
}

std::expected<checked_batch, batch_rejection> check_batch(std::string_view rest, std::int32_t index,
                                                          const batch_rules& rules) {
  auto header = parse_record_batch_header(rest);
  if (!header) {
    const auto fault = header.error().code == codec_errc::unsupported_magic ? batch_fault::unsupported_magic
                                                                             : batch_fault::corrupt;
    return reject(fault, index, describe(header.error()));
  }
  const record_batch_header& h = *header;
  const std::string_view bytes = rest.substr(0, h.size_bytes());
  if (compute_record_batch_crc(bytes) != h.crc) return reject(batch_fault::corrupt, index, "batch CRC-32C mismatch");
  if (auto ok = check_header(h, index, rules); !ok) return std::unexpected(ok.error());

  const std::string_view section = bytes.substr(record_batch_header_size);
  std::string inflated;
  std::string_view records = section;
  if (h.compression() != compression_type::none) {
    auto d = decompress_records(h.compression(), section, rules.max_inflated_bytes);
    if (!d) {
      // Over the bound is a batch we will not take; anything else is a damaged payload.
      const auto fault = d.error().code == codec_errc::too_large ? batch_fault::invalid_record : batch_fault::corrupt;
      return reject(fault, index, d.error().text);
    }
    inflated = std::move(*d);
    records = inflated;
  }
  auto max_ts = check_records(h, records, index, rules);
  if (!max_ts) return std::unexpected(max_ts.error());

  checked_batch out{h, h.attributes, *max_ts};
  if (rules.timestamps == timestamp_type::log_append_time) {
    out.attributes = static_cast<std::int16_t>(h.attributes | log_append_time_bit);
    out.max_timestamp = rules.now_ms;
  } else {
    out.attributes = static_cast<std::int16_t>(h.attributes & ~log_append_time_bit);
  }
  return out;
}

void put_be(std::string& out, std::size_t at, std::uint64_t value, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    out[at + i] = static_cast<char>(static_cast<std::uint8_t>(value >> (8 * (size - 1 - i))));
  }
}

// Writes the stored timestamp fields of one batch and its new CRC (both fields sit inside it).
void stamp_timestamps(std::string& blob, const accepted_batch& b, const checked_batch& c) {
  put_be(blob, b.offset + record_batch_attributes_offset, static_cast<std::uint16_t>(c.attributes), 2);
  put_be(blob, b.offset + max_timestamp_offset, static_cast<std::uint64_t>(c.max_timestamp), 8);
  const std::string_view bytes = std::string_view(blob).substr(b.offset, b.size);
  put_be(blob, b.offset + record_batch_crc_offset, compute_record_batch_crc(bytes), 4);
  CHRONIK_ASSERT(parse_record_batch_header(std::string_view(blob).substr(b.offset))->max_timestamp == c.max_timestamp,
                 "timestamp rewrite did not land");
}

}  // namespace

std::string_view to_string(batch_fault f) {
  switch (f) {
    case batch_fault::corrupt: return "corrupt";
    case batch_fault::invalid_record: return "invalid_record";
    case batch_fault::unsupported_magic: return "unsupported_magic";
    case batch_fault::too_large: return "too_large";
    case batch_fault::invalid_timestamp: return "invalid_timestamp";
  }
  return "unknown";
}

std::expected<accepted_records, batch_rejection> validate_produced_records(std::string& blob, const batch_rules& rules) {
  accepted_records out;
  std::vector<checked_batch> checked;
  std::size_t pos = 0;
  // Every pass consumes a whole batch of at least a header's size, so the loop is bounded by
  // blob.size() / record_batch_header_size.
  while (pos < blob.size()) {
    const auto index = static_cast<std::int32_t>(out.batches.size());
    auto c = check_batch(std::string_view(blob).substr(pos), index, rules);
    if (!c) return std::unexpected(c.error());
    const std::size_t size = c->header.size_bytes();
    CHRONIK_ASSERT(size >= record_batch_header_size && pos + size <= blob.size(), "accepted batch outside the blob");
    out.batches.push_back({pos, size, c->header.records_count, c->header});
    out.records += c->header.records_count;
    checked.push_back(*c);
    pos += size;
  }
  if (out.batches.empty()) return reject(batch_fault::corrupt, 0, "no record batch");
  // As Kafka's Produce v3+: an idempotent producer sends one batch per partition and request, so
  // the partition checks and remembers its sequence as one unit (kafka/partition/producer_state.h).
  if (out.batches.size() > 1) {
    for (std::size_t i = 0; i < checked.size(); ++i) {
      if (checked[i].header.producer_id >= 0) {
        return reject(batch_fault::invalid_record, static_cast<std::int32_t>(i),
                      "a batch with a producer id must be the only batch for its partition");
      }
    }
  }
  if (rules.timestamps == timestamp_type::log_append_time) out.log_append_time_ms = rules.now_ms;
  // Only now that every batch passed is the blob touched: a rejection leaves it as it came.
  for (std::size_t i = 0; i < checked.size(); ++i) {
    const checked_batch& c = checked[i];
    if (c.attributes != c.header.attributes || c.max_timestamp != c.header.max_timestamp) {
      stamp_timestamps(blob, out.batches[i], c);
    }
  }
  return out;
}

}  // namespace chronik::kafka
