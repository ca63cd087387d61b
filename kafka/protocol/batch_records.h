// Looking inside a magic-v2 record batch: the one place the broker reads individual records.
//
// Batches are stored and served as they came (record_batch.h); only ListOffsets by timestamp needs
// the records' own timestamps, because Kafka answers with the first *record* whose timestamp is at
// or after the target, which may lie inside a batch. A compressed batch is decompressed with the
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

namespace chronik::kafka {

// The decompressed records section of a batch may not grow beyond this: a bound against
// decompression bombs (a few KiB of zeros expanding to gigabytes).
inline constexpr std::size_t max_decompressed_records = 64u << 20;

// Decompresses a records section. `none` returns the input; `limit` bounds the output (an input
// that would exceed it is invalid_length).
std::expected<std::string, codec_error> decompress_records(compression_type codec, std::string_view payload,
                                                           std::size_t limit = max_decompressed_records);

struct record_position {
  std::int64_t offset = 0;     // base offset + offsetDelta
  std::int64_t timestamp = 0;  // base timestamp + delta, or the batch's max timestamp for LogAppendTime
};

// Every record's offset and timestamp in one whole batch (a record_batch_view from
// split_record_batches), decompressing when needed. Keys, values and headers are skipped.
std::expected<std::vector<record_position>, codec_error> record_positions(const record_batch_view& batch);

}  // namespace chronik::kafka
