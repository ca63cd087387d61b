// What the leader checks in a produced records blob before any of it is stored: the broker-side
// validation a Kafka broker does before it appends (docs/kafka.md "Produce validation").
//
// A batch is appended as the producer sent it, so everything a reader will later trust must be
// checked here, once: a batch whose header lies about its records would otherwise be replicated,
// acknowledged and then break every consumer and every broker that looks inside it. Per batch:
//   - the frame: magic 2, batchLength covering the header and inside the blob, CRC-32C;
//   - the header: a known codec, not a control batch (only a broker writes those), baseOffset 0 (the leader assigns offsets), a producer id only with a
//     sequence number, max.message.bytes;
//   - the records, decompressed within a bound: exactly recordsCount of them, offset deltas
//     0..n-1, lastOffsetDelta n-1, every varint and length inside its record, nothing after the
//     last record;
//   - a key on every record of a compacted topic;
//   - timestamps by the topic's message.timestamp.type: CreateTime records inside the allowed
//     window, and maxTimestamp set to the largest record timestamp; LogAppendTime batches get the
//     leader's clock. Either rewrite recomputes the CRC, as Kafka's broker does.
// The first failure rejects the whole blob: nothing of a partition's records is stored.
//
// Rules that depend on the request rather than the batch (zstd only from Produce v7) are the
// Produce handler's. Pure: no clock (the caller passes now_ms), no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/protocol/batch_records.h"
#include "kafka/protocol/record_batch.h"

namespace chronik::kafka {

// Why a blob was refused; kafka/handlers picks the Kafka error code for each.
enum class batch_fault : std::uint8_t {
  corrupt,                  // not a well-formed batch: bad length, CRC-32C mismatch, cut off, unknown codec
  invalid_record,           // a well-formed batch whose header and records disagree, or that a client may not send
  unsupported_magic,        // a magic 0 or 1 message set
  too_large,                // a batch larger than max.message.bytes
  invalid_timestamp,        // a CreateTime record outside message.timestamp.before/after.max.ms
};
std::string_view to_string(batch_fault f);

struct batch_rejection {
  batch_fault fault = batch_fault::corrupt;
  std::int32_t batch = 0;          // which batch of the blob, from 0
  std::int32_t record = -1;        // which record of that batch, -1 when the batch as a whole
  std::string text;                // one line for the producer (Produce v8 error_message) and logs
};

struct batch_rules {
  // Kafka's max.message.bytes: the largest batch accepted. Default 1048588 (Kafka's).
  std::uint64_t max_batch_bytes = 1'048'588;
  // Kafka's message.timestamp.type.
  timestamp_type timestamps = timestamp_type::create_time;
  // Kafka's message.timestamp.before.max.ms / after.max.ms: how far a CreateTime record may lie
  // before / after now_ms. The defaults (int64 max) accept any timestamp, as Kafka 3 does.
  std::int64_t timestamp_before_max_ms = std::numeric_limits<std::int64_t>::max();
  std::int64_t timestamp_after_max_ms = std::numeric_limits<std::int64_t>::max();
  // The leader's wall clock in ms: LogAppendTime's value and the reference for the window above.
  std::int64_t now_ms = 0;
  // Bound on one batch's decompressed records: a bomb of a few KiB must not take gigabytes.
  std::size_t max_inflated_bytes = max_decompressed_records;
  // A transaction's coordinator writing for a producer (TxnOffsetCommit into `__consumer_offsets`,
  // partition_replica::produce_as_coordinator): a transactional batch with a producer id may carry
  // no sequence (-1), as Kafka's coordinator writes it. Never set for a client's Produce.
  bool coordinator_write = false;
  // A compacted topic (cleanup.policy=compact): every record needs a key, as compaction keeps the
  // last record per key (Kafka refuses a keyless record there with INVALID_RECORD).
  bool require_keys = false;
};

// One accepted batch: where it lies in the blob, how many records (= offsets) it holds, and its
// header as the producer sent it (the producer id and sequence decide idempotence).
struct accepted_batch {
  std::size_t offset = 0;
  std::size_t size = 0;
  std::int32_t records = 0;
  record_batch_header header;
};

struct accepted_records {
  std::vector<accepted_batch> batches;  // at least one
  std::int64_t records = 0;             // sum over the batches: the offsets the blob takes
  std::int64_t log_append_time_ms = -1;  // the time LogAppendTime stamped, else -1
};

// Checks every batch of `blob` and, when all pass, applies the timestamp rewrites in place (each
// rewritten batch gets a fresh CRC). On a rejection `blob` is unchanged.
std::expected<accepted_records, batch_rejection> validate_produced_records(std::string& blob, const batch_rules& rules);

}  // namespace chronik::kafka
