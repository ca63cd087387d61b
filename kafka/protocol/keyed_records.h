// Key/value records in magic-v2 batches, as the coordinators write and read their internal topics
// (`__consumer_offsets`, kafka/groups/group_records.h; `__transaction_state`,
// kafka/txn/txn_records.h). Those codecs say what a key and a value hold; this one says how they
// sit in a batch, so both topics are framed the one way Kafka's coordinators frame them:
// uncompressed on write, no headers, timestamp and offset deltas from the record's position.
//
// Reading accepts what any Kafka tool may have written there (compressed batches, headers), since a
// topic's log is read back after restarts and replica moves. A pure codec: no I/O, no clock.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "kafka/protocol/codec_error.h"
#include "kafka/protocol/record_batch.h"

namespace chronik::kafka {

// One record to write. A null value is a tombstone (what compaction keeps last for the key).
struct keyed_record {
  std::string key;
  std::optional<std::string> value;
};

// The producer a batch is written for: none for a coordinator's own state, or the transaction's
// producer when the records only count once its marker commits them (TxnOffsetCommit, KIP-98).
struct batch_producer {
  std::int64_t id = -1;
  std::int16_t epoch = -1;
  bool transactional() const { return id >= 0; }
};

// One uncompressed magic-v2 batch holding `records` in order, ready for the partition's produce
// path: base offset 0 (the leader assigns it), CreateTime `timestamp_ms`, no client sequence.
// Transactional exactly when `producer` names one. `records` must not be empty.
std::string build_keyed_batch(std::span<const keyed_record> records, std::int64_t timestamp_ms,
                              batch_producer producer = {});

// One record read back: its offset and its key and value (nullopt when null). The views live only
// for the callback (they may point into a decompressed copy of the batch).
struct keyed_record_view {
  std::int64_t offset = 0;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
};

// Calls `each` for every record of one whole batch (from split_record_batches), in order,
// decompressing where needed. Damage to the batch (compression, record framing, an offset that
// overflows, bytes after the last record) is an error naming the batch's offset: the log itself is
// broken. The header's record count is a claim: a count beyond the records present fails once the
// bytes run out, so the loop is bounded by the batch's size, not by the claim.
std::expected<void, codec_error> for_each_keyed_record(const record_batch_view& batch,
                                                       const std::function<void(const keyed_record_view&)>& each);

}  // namespace chronik::kafka
