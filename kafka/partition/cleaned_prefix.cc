#include "kafka/partition/cleaned_prefix.h"

#include <algorithm>

#include "kafka/protocol/record_batch.h"

namespace chronik::kafka {

std::expected<cleaned_prefix, codec_error> cleaned_prefix::from_batches(std::string bytes) {
  // The CRCs were checked when the batches were produced or rewritten; the snapshot that carries
  // them has its own CRC (docs/storage.md), so only the framing is checked again here.
  auto split = split_record_batches(bytes, crc_check::skip);
  if (!split) return std::unexpected(split.error());
  cleaned_prefix p;
  p.batches_.reserve(split->size());
  for (const record_batch_view& v : *split) {
    const std::int64_t end = v.header.last_offset() + 1;
    if (!p.batches_.empty() && v.header.base_offset < p.batches_.back().end_offset) {
      return std::unexpected(codec_error{codec_errc::corrupt_batch, v.offset,
                                         "cleaned batch at offset " + std::to_string(v.header.base_offset) +
                                             " overlaps the one before it"});
    }
    p.batches_.push_back(batch{v.header.base_offset, end, v.header.max_timestamp, v.offset, v.bytes.size()});
  }
  if (!p.batches_.empty()) p.bytes_ = std::make_shared<const std::string>(std::move(bytes));
  return p;
}

const std::string& cleaned_prefix::bytes() const {
  static const std::string none;
  return bytes_ ? *bytes_ : none;
}

byte_chain cleaned_prefix::from_offset(std::int64_t offset, std::uint64_t max_bytes) const {
  byte_chain out;
  // The first batch ending after `offset`: it holds the offset, or the offset fell into a gap the
  // cleaner left and this is the next record's batch.
  auto it = std::ranges::upper_bound(batches_, offset, {}, &batch::end_offset);
  std::uint64_t taken = 0;
  for (; it != batches_.end(); ++it) {
    if (!out.empty() && taken + it->size > max_bytes) break;
    out.append(shared_bytes{bytes_, view(*it)});
    taken += it->size;
  }
  return out;
}

std::optional<cleaned_prefix::batch> cleaned_prefix::batch_for_timestamp(std::int64_t timestamp_ms) const {
  for (const batch& b : batches_)
    if (b.max_timestamp >= timestamp_ms) return b;
  return std::nullopt;
}

std::optional<cleaned_prefix::batch> cleaned_prefix::batch_with_max_timestamp() const {
  const batch* best = nullptr;
  for (const batch& b : batches_)
    if (b.max_timestamp >= 0 && (best == nullptr || b.max_timestamp > best->max_timestamp)) best = &b;
  if (best == nullptr) return std::nullopt;
  return *best;
}

cleaned_prefix cleaned_prefix::without_below(std::int64_t offset) const {
  cleaned_prefix p;
  auto it = std::ranges::upper_bound(batches_, offset, {}, &batch::end_offset);
  if (it == batches_.end()) return p;
  if (it == batches_.begin()) return *this;  // nothing below: the same bytes, shared
  const std::size_t from = it->pos;
  p.bytes_ = std::make_shared<const std::string>(bytes().substr(from));
  for (; it != batches_.end(); ++it) {
    batch b = *it;
    b.pos -= from;
    p.batches_.push_back(b);
  }
  return p;
}

}  // namespace chronik::kafka
