// Magic-v2 record batches (https://kafka.apache.org/documentation/#recordbatch), the unit Produce
// carries in and Fetch carries out. The broker never decodes individual records: it validates the
// 61-byte batch header and the CRC, assigns the base offset and the partition leader epoch, and
// stores the batch bytes as they are (docs/design.md "One write path").
//
// Layout (big-endian):
//   0 baseOffset int64 | 8 batchLength int32 (bytes after it) | 12 partitionLeaderEpoch int32
//   16 magic int8 | 17 crc uint32 | 21 attributes int16 | 23 lastOffsetDelta int32
//   27 baseTimestamp int64 | 35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16
//   53 baseSequence int32 | 57 recordsCount int32 | 61 records...
// The CRC is CRC-32C (Castagnoli) over bytes 21..end, so rewriting baseOffset and
// partitionLeaderEpoch keeps it valid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/protocol/codec_error.h"

namespace chronik::kafka {

inline constexpr std::size_t record_batch_header_size = 61;
// batchLength counts the bytes after itself: the header minus baseOffset and batchLength.
inline constexpr std::int32_t record_batch_min_length = record_batch_header_size - 12;
inline constexpr std::size_t record_batch_crc_offset = 17;
inline constexpr std::size_t record_batch_attributes_offset = 21;

enum class compression_type : std::uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };
enum class timestamp_type : std::uint8_t { create_time = 0, log_append_time = 1 };

struct record_batch_header {
  std::int64_t base_offset = 0;
  std::int32_t batch_length = 0;
  std::int32_t partition_leader_epoch = -1;
  std::int8_t magic = 2;
  std::uint32_t crc = 0;
  std::int16_t attributes = 0;
  std::int32_t last_offset_delta = 0;
  std::int64_t base_timestamp = 0;
  std::int64_t max_timestamp = 0;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  std::int32_t records_count = 0;

  // Attribute bits 0-2. Values 5-7 are not defined by Kafka; callers treat them as unsupported.
  std::uint8_t compression_bits() const { return static_cast<std::uint8_t>(attributes & 0x7); }
  bool has_known_compression() const { return compression_bits() <= 4; }
  compression_type compression() const { return static_cast<compression_type>(compression_bits()); }
  timestamp_type timestamp() const {
    return (attributes & 0x8) ? timestamp_type::log_append_time : timestamp_type::create_time;
  }
  bool is_transactional() const { return (attributes & 0x10) != 0; }
  bool is_control() const { return (attributes & 0x20) != 0; }
  // The whole batch: 12 bytes of baseOffset and batchLength plus batchLength.
  std::size_t size_bytes() const { return 12 + static_cast<std::size_t>(batch_length); }
  std::int64_t last_offset() const { return base_offset + last_offset_delta; }
  bool operator==(const record_batch_header&) const = default;
};

// Reads and checks the header at the start of `batch` (which may extend past this batch): magic
// must be 2 (0 and 1 give unsupported_magic), batchLength must cover the header and fit in the
// input, and recordsCount and lastOffsetDelta must not be negative. Does not check the CRC.
std::expected<record_batch_header, codec_error> parse_record_batch_header(std::string_view batch);

// CRC-32C of bytes 21..end of one whole batch (what the crc field must hold).
std::uint32_t compute_record_batch_crc(std::string_view batch);

enum class crc_check : std::uint8_t { verify, skip };
// A partial batch at the end of the blob: an error (Produce) or ignored, as Fetch responses may
// end with one (the broker cuts at max bytes).
enum class trailing_partial : std::uint8_t { reject, ignore };

struct record_batch_view {
  record_batch_header header;
  std::string_view bytes;  // the whole batch, a view into the split input
  std::size_t offset = 0;  // where the batch starts in the input
};

// Splits a records blob into its batches, checking every header and (by default) every CRC. An
// empty blob gives no batches. Errors carry the byte offset in the blob.
std::expected<std::vector<record_batch_view>, codec_error> split_record_batches(
    std::string_view records, crc_check crc = crc_check::verify,
    trailing_partial partial = trailing_partial::reject);

// Rewrites fields outside the CRC in place. `batch` must hold at least a whole batch header.
void set_base_offset(std::string& records, std::size_t batch_offset, std::int64_t base_offset);
void set_partition_leader_epoch(std::string& records, std::size_t batch_offset, std::int32_t epoch);

// Serializes a header followed by `records_payload` (already encoded records), computing
// batchLength and the CRC. For tests and the bench client; the broker never builds batches.
std::string build_record_batch(record_batch_header header, std::string_view records_payload);

}  // namespace chronik::kafka
