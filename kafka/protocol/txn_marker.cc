#include "kafka/protocol/txn_marker.h"

#include "kafka/protocol/batch_records.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {
namespace {

constexpr std::int16_t attribute_transactional = 0x10;
constexpr std::int16_t attribute_control = 0x20;
constexpr std::int16_t marker_type_abort = 0;
constexpr std::int16_t marker_type_commit = 1;

codec_error marker_error(std::string text) { return codec_error{codec_errc::invalid_value, 0, "marker: " + text}; }

}  // namespace

std::string build_txn_marker_batch(std::int64_t producer_id, std::int16_t producer_epoch, const txn_marker& m,
                                   std::int64_t timestamp_ms) {
  writer key;
  key.write_int16(0);
  key.write_int16(m.commit ? marker_type_commit : marker_type_abort);
  writer value;
  value.write_int16(0);
  value.write_int32(m.coordinator_epoch);
  // One record: length | attributes | timestampDelta | offsetDelta | key | value | headers.
  writer body;
  body.write_int8(0);
  body.write_varlong(0);
  body.write_varint(0);
  body.write_varint(static_cast<std::int32_t>(key.buffer().size()));
  body.write_raw(key.buffer());
  body.write_varint(static_cast<std::int32_t>(value.buffer().size()));
  body.write_raw(value.buffer());
  body.write_varint(0);
  writer record;
  record.write_varint(static_cast<std::int32_t>(body.buffer().size()));
  record.write_raw(body.buffer());

  record_batch_header h;
  h.attributes = attribute_control | attribute_transactional;
  h.last_offset_delta = 0;
  h.base_timestamp = timestamp_ms;
  h.max_timestamp = timestamp_ms;
  h.producer_id = producer_id;
  h.producer_epoch = producer_epoch;
  h.base_sequence = -1;
  h.records_count = 1;
  return build_record_batch(h, record.buffer());
}

std::expected<txn_marker, codec_error> read_txn_marker(const record_batch_view& batch) {
  if (!batch.header.is_control()) return std::unexpected(marker_error("not a control batch"));
  if (batch.header.compression() != compression_type::none) return std::unexpected(marker_error("compressed"));
  if (batch.header.records_count != 1) return std::unexpected(marker_error("not exactly one record"));
  reader records(batch.bytes.substr(record_batch_header_size));
  auto r = read_record(records);
  if (!r) return std::unexpected(r.error());
  if (r->key_bytes != 4 || r->value_bytes < 6) return std::unexpected(marker_error("key or value of the wrong size"));
  reader key(r->key);
  const std::int16_t key_version = key.read_int16();
  const std::int16_t type = key.read_int16();
  // Kafka reads newer key versions by their leading fields; so do we.
  if (key_version < 0 || (type != marker_type_abort && type != marker_type_commit)) {
    return std::unexpected(marker_error("control record type " + std::to_string(type) + " is no transaction marker"));
  }
  reader value(r->value);
  const std::int16_t value_version = value.read_int16();
  const std::int32_t coordinator_epoch = value.read_int32();
  if (value_version < 0 || !value.ok()) return std::unexpected(marker_error("malformed value"));
  return txn_marker{type == marker_type_commit, coordinator_epoch};
}

}  // namespace chronik::kafka
