// Looking inside a magic-v2 record batch: the one place the broker reads individual records.
//
// Batches are stored and served as they came (record_batch.h). Two readers look inside: produce
// validation (batch_validation.h), which walks every record of a batch before it is stored, and
// ListOffsets by timestamp, because Kafka answers with the first *record* whose timestamp is at or
// after the target, which may lie inside a batch. A compressed batch is decompressed with the
// Debian libraries (zlib, snappy, lz4, zstd) in the framings Kafka clients send: gzip, snappy
// raw or xerial-framed, the LZ4 frame format, and zstd frames.
//
// Record layout (https://kafka.apache.org/documentation/#record), all varints zigzag:
//   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint
//   keyLength varint | key | valueLength varint | value | headerCount varint | headers
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/protocol/codec_error.h"
#include "kafka/protocol/record_batch.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {

// The decompressed records section of a batch may not grow beyond this: a bound against
// decompression bombs (a few KiB of zeros expanding to gigabytes).
inline constexpr std::size_t max_decompressed_records = 64u << 20;

// Decompresses a records section. `none` returns the input; `limit` bounds the output (an input
// that would exceed it is too_large).
std::expected<std::string, codec_error> decompress_records(compression_type codec, std::string_view payload,
                                                           std::size_t limit = max_decompressed_records);

// The fewest bytes a record takes: a one-byte length, attributes, timestamp delta, offset delta,
// key length, value length and header count. A records section of n bytes holds at most
// n / min_record_bytes records, whatever a batch header claims.
inline constexpr std::size_t min_record_bytes = 7;

// One record's fields, structure checked: the length prefix covers exactly the fields, key and
// value lengths are -1 (null) or lie inside the record, header keys are not null and header values
// are null or inside the record. Headers are skipped; the key and value are views into the
// reader's input (valid as long as it is), for the readers of internal topics (the
// `__consumer_offsets` codec, kafka/groups/group_records.h).
struct record_fields {
  std::int8_t attributes = 0;
  std::int64_t timestamp_delta = 0;
  std::int32_t offset_delta = 0;
  std::int32_t key_bytes = -1;    // -1: null
  std::int32_t value_bytes = -1;  // -1: null
  std::int32_t headers = 0;
  std::string_view key;    // empty when null (key_bytes -1)
  std::string_view value;  // empty when null (value_bytes -1)
};

// Reads the record at `r`'s position and moves past it. A damaged record is an error naming the
// field; `r` is then failed too.
std::expected<record_fields, codec_error> read_record(reader& r);

struct record_position {
  std::int64_t offset = 0;     // base offset + offsetDelta
  std::int64_t timestamp = 0;  // base timestamp + delta, or the batch's max timestamp for LogAppendTime
};

// Every record's offset and timestamp in one whole batch (a record_batch_view from
// split_record_batches), decompressing when needed. Keys, values and headers are skipped.
std::expected<std::vector<record_position>, codec_error> record_positions(const record_batch_view& batch);

}  // namespace chronik::kafka
