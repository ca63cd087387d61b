#include "kafka/protocol/keyed_records.h"

#include <algorithm>
#include <utility>

#include "base/assert.h"
#include "kafka/protocol/batch_records.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {

namespace {

// One magic-v2 record: length | attributes | timestampDelta | offsetDelta | key | value | headers.
void write_record(writer& out, std::int32_t offset_delta, const keyed_record& record) {
  writer body;
  body.write_int8(0);
  body.write_varlong(0);
  body.write_varint(offset_delta);
  body.write_varint(static_cast<std::int32_t>(record.key.size()));
  body.write_raw(record.key);
  body.write_varint(record.value ? static_cast<std::int32_t>(record.value->size()) : -1);
  if (record.value) body.write_raw(*record.value);
  body.write_varint(0);
  out.write_varint(static_cast<std::int32_t>(body.buffer().size()));
  out.write_raw(body.buffer());
}

codec_error batch_error(codec_errc code, const record_batch_view& batch, const std::string& text) {
  return codec_error{code, batch.offset, "batch at offset " + std::to_string(batch.header.base_offset) + ": " + text};
}

}  // namespace

std::string build_keyed_batch(std::span<const keyed_record> records, std::int64_t timestamp_ms,
                              batch_producer producer) {
  CHRONIK_EXPECTS(!records.empty(), "a record batch holds at least one record");
  CHRONIK_EXPECTS(!producer.transactional() || producer.epoch >= 0, "a transactional batch names its producer's epoch");
  writer payload;
  for (std::size_t i = 0; i < records.size(); ++i) write_record(payload, static_cast<std::int32_t>(i), records[i]);
  record_batch_header h;
  h.base_offset = 0;
  h.partition_leader_epoch = -1;
  // No compression, CreateTime, not control; 0x10 marks a transactional batch.
  h.attributes = producer.transactional() ? std::int16_t{0x10} : std::int16_t{0};
  h.last_offset_delta = static_cast<std::int32_t>(records.size() - 1);
  h.base_timestamp = timestamp_ms;
  h.max_timestamp = timestamp_ms;
  h.producer_id = producer.transactional() ? producer.id : -1;
  h.producer_epoch = producer.transactional() ? producer.epoch : std::int16_t{-1};
  h.base_sequence = -1;  // a coordinator's write: no client sequence to continue
  h.records_count = static_cast<std::int32_t>(records.size());
  return build_record_batch(h, payload.buffer());
}

std::expected<void, codec_error> for_each_keyed_record(const record_batch_view& batch,
                                                       const std::function<void(const keyed_record_view&)>& each) {
  const record_batch_header& h = batch.header;
  if (!h.has_known_compression()) {
    return std::unexpected(batch_error(codec_errc::invalid_value, batch, "unknown compression"));
  }
  const std::string_view section = batch.bytes.substr(record_batch_header_size);
  std::string inflated;
  std::string_view records = section;
  if (h.compression() != compression_type::none) {
    auto d = decompress_records(h.compression(), section);
    if (!d) return std::unexpected(batch_error(d.error().code, batch, d.error().text));
    inflated = std::move(*d);
    records = inflated;
  }
  const auto claimed = static_cast<std::size_t>(std::max<std::int32_t>(h.records_count, 0));
  reader r(records);
  for (std::size_t i = 0; i < claimed; ++i) {
    // Built only on an error: a log load reads millions of records.
    const auto which = [i](std::string_view what) { return "record " + std::to_string(i) + ": " + std::string(what); };
    auto rec = read_record(r);
    if (!rec) return std::unexpected(batch_error(rec.error().code, batch, which(rec.error().text)));
    std::int64_t offset = 0;
    if (__builtin_add_overflow(h.base_offset, std::int64_t{rec->offset_delta}, &offset)) {
      return std::unexpected(batch_error(codec_errc::invalid_value, batch, which("offset overflows")));
    }
    keyed_record_view view{offset, std::nullopt, std::nullopt};
    if (rec->key_bytes >= 0) view.key = rec->key;
    if (rec->value_bytes >= 0) view.value = rec->value;
    each(view);
  }
  if (r.remaining() != 0) {
    return std::unexpected(batch_error(codec_errc::corrupt_batch, batch,
                                       std::to_string(r.remaining()) + " bytes after the batch's records"));
  }
  return {};
}

}  // namespace chronik::kafka
