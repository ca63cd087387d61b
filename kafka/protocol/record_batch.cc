#include "kafka/protocol/record_batch.h"

#include <limits>

#include "base/assert.h"
#include "base/crc32c.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {

namespace {

codec_error batch_error(codec_errc code, std::size_t offset, std::string text) {
  return codec_error{code, offset, std::move(text)};
}

void put_be(std::string& out, std::size_t at, std::uint64_t value, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    out[at + i] = static_cast<char>(static_cast<std::uint8_t>(value >> (8 * (size - 1 - i))));
  }
}

}  // namespace

std::expected<record_batch_header, codec_error> parse_record_batch_header(std::string_view batch) {
  // Magic sits at byte 16 in every message format (v0/v1: offset 8, size 4, crc 4, then magic),
  // so the format is known before the rest of the header is interpreted.
  if (batch.size() < 17) {
    return std::unexpected(batch_error(codec_errc::truncated, 0, "batch header"));
  }
  const auto magic = static_cast<std::int8_t>(batch[16]);
  if (magic == 0 || magic == 1) {
    return std::unexpected(batch_error(codec_errc::unsupported_magic, 16,
                                       "legacy message set (magic " + std::to_string(magic) + ")"));
  }
  if (magic != 2) {
    return std::unexpected(
        batch_error(codec_errc::corrupt_batch, 16, "unknown magic " + std::to_string(magic)));
  }
  reader r(batch.substr(0, std::min(batch.size(), record_batch_header_size)));
  record_batch_header h;
  h.base_offset = r.read_int64();
  h.batch_length = r.read_int32();
  h.partition_leader_epoch = r.read_int32();
  h.magic = r.read_int8();
  h.crc = r.read_uint32();
  h.attributes = r.read_int16();
  h.last_offset_delta = r.read_int32();
  h.base_timestamp = r.read_int64();
  h.max_timestamp = r.read_int64();
  h.producer_id = r.read_int64();
  h.producer_epoch = r.read_int16();
  h.base_sequence = r.read_int32();
  h.records_count = r.read_int32();
  if (!r.ok()) return std::unexpected(*r.error());
  if (h.batch_length < record_batch_min_length) {
    return std::unexpected(batch_error(codec_errc::corrupt_batch, 8, "batch length below header"));
  }
  if (h.size_bytes() > batch.size()) {
    return std::unexpected(batch_error(codec_errc::truncated, 8, "batch length exceeds the input"));
  }
  if (h.records_count < 0 || h.last_offset_delta < 0) {
    return std::unexpected(
        batch_error(codec_errc::corrupt_batch, 23, "negative record count or offset delta"));
  }
  return h;
}

std::uint32_t compute_record_batch_crc(std::string_view batch) {
  CHRONIK_ASSERT(batch.size() >= record_batch_header_size, "CRC of a batch shorter than a header");
  return crc32c(batch.substr(record_batch_attributes_offset));
}

std::expected<std::vector<record_batch_view>, codec_error> split_record_batches(
    std::string_view records, crc_check crc, trailing_partial partial) {
  std::vector<record_batch_view> out;
  std::size_t pos = 0;
  while (pos < records.size()) {
    const std::string_view rest = records.substr(pos);
    auto header = parse_record_batch_header(rest);
    if (!header) {
      // A cut-off last batch: too short for its header or for its declared length.
      if (header.error().code == codec_errc::truncated && partial == trailing_partial::ignore) {
        break;
      }
      header.error().offset += pos;
      return std::unexpected(header.error());
    }
    const std::string_view bytes = rest.substr(0, header->size_bytes());
    if (crc == crc_check::verify && compute_record_batch_crc(bytes) != header->crc) {
      return std::unexpected(
          batch_error(codec_errc::crc_mismatch, pos + record_batch_crc_offset, "batch CRC-32C"));
    }
    out.push_back({*header, bytes, pos});
    pos += bytes.size();
  }
  return out;
}

void set_base_offset(std::string& records, std::size_t batch_offset, std::int64_t base_offset) {
  CHRONIK_ASSERT(batch_offset + record_batch_header_size <= records.size(),
                 "set_base_offset outside the records");
  put_be(records, batch_offset, static_cast<std::uint64_t>(base_offset), 8);
}

void set_partition_leader_epoch(std::string& records, std::size_t batch_offset,
                                std::int32_t epoch) {
  CHRONIK_ASSERT(batch_offset + record_batch_header_size <= records.size(),
                 "set_partition_leader_epoch outside the records");
  put_be(records, batch_offset + 12, static_cast<std::uint32_t>(epoch), 4);
}

std::string build_record_batch(record_batch_header header, std::string_view records_payload) {
  const std::size_t length = record_batch_header_size - 12 + records_payload.size();
  CHRONIK_ASSERT(length <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
                 "record batch too large");
  writer w;
  w.write_int64(header.base_offset);
  w.write_int32(static_cast<std::int32_t>(length));
  w.write_int32(header.partition_leader_epoch);
  w.write_int8(header.magic);
  w.write_uint32(0);  // the CRC, filled in below
  w.write_int16(header.attributes);
  w.write_int32(header.last_offset_delta);
  w.write_int64(header.base_timestamp);
  w.write_int64(header.max_timestamp);
  w.write_int64(header.producer_id);
  w.write_int16(header.producer_epoch);
  w.write_int32(header.base_sequence);
  w.write_int32(header.records_count);
  w.write_raw(records_payload);
  std::string out = w.take();
  put_be(out, record_batch_crc_offset, compute_record_batch_crc(out), 4);
  return out;
}

}  // namespace chronik::kafka
