// The records of the `__transaction_state` topic, in Apache Kafka's own key and value formats, so
// that stock tools (kafka-dump-log --transaction-log-decoder) read chronik's topic as they read
// Kafka's (docs/transactions.md "The `__transaction_state` record formats"). A pure codec: no I/O,
// no clock.
//
// Kafka's message definitions TransactionLogKey and TransactionLogValue
// (transaction-coordinator/src/main/resources/common/message/) give the fields:
//
//   key:   int16 version (0) | transactional_id string
//   value: int16 version, then
//     v0: producer_id int64 | producer_epoch int16 | transaction_timeout_ms int32 |
//         transaction_status int8 | transaction_partitions [topic string | partition_ids [int32]]? |
//         transaction_last_update_timestamp_ms int64 | transaction_start_timestamp_ms int64
//     v1: the same fields, flexible (KIP-482 compact strings and arrays, a tagged-field section
//         after each partition entry and after the value), with tagged PreviousProducerId (tag 0,
//         int64), NextProducerId (tag 1, int64), ClientTransactionVersion (tag 2, int16): KIP-890
//         part 2's, which chronik does not implement.
//
// chronik writes version 0, what Kafka writes for transaction version 1 clients; it reads 0 and 1
// (unknown tags skipped, as a flexible reader must). A null value is a tombstone: the
// transactional id expired (Kafka's Dead state is never written as a value).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/protocol/codec_error.h"

namespace chronik::kafka {

// Kafka's TransactionState ids, as transaction_status stores them.
enum class txn_status : std::int8_t {
  empty = 0,
  ongoing = 1,
  prepare_commit = 2,
  prepare_abort = 3,
  complete_commit = 4,
  complete_abort = 5,
  dead = 6,
  prepare_epoch_fence = 7,
};

// The state's name as Kafka prints it (DescribeTransactions, ListTransactions, kafka-transactions.sh).
std::string_view to_string(txn_status s);
// The state a ListTransactions state filter names, or nothing for an unknown name.
std::optional<txn_status> txn_status_from_string(std::string_view name);

// One topic of a transaction: the partitions of it the transaction wrote to.
struct txn_topic_partitions {
  std::string topic;
  std::vector<std::int32_t> partitions;
  bool operator==(const txn_topic_partitions&) const = default;
};

// TransactionLogValue. Written as version 0; versions 0 and 1 are read.
struct txn_record_value {
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t timeout_ms = 0;
  txn_status status = txn_status::empty;
  // Null is what Kafka writes for Empty; an empty array is read as is.
  std::optional<std::vector<txn_topic_partitions>> partitions;
  std::int64_t last_update_ms = -1;
  std::int64_t start_ms = -1;
  // Version 1's tagged fields (KIP-890 part 2). Read and kept; never written (version 0 has none).
  std::int64_t previous_producer_id = -1;
  std::int64_t next_producer_id = -1;
  std::int16_t client_transaction_version = 0;
  bool operator==(const txn_record_value&) const = default;
};

// One record of the topic. nullopt value: a tombstone (the transactional id expired).
struct txn_log_record {
  std::string transactional_id;
  std::optional<txn_record_value> value;
  bool operator==(const txn_log_record&) const = default;
};

// The record key's bytes. The id must fit Kafka's int16 string length (requests carry it so; a
// longer one is a broken invariant).
std::string encode_txn_key(const txn_log_record& record);
// The record value's bytes (version 0); nullopt for a tombstone. Topic names must fit int16 lengths.
std::optional<std::string> encode_txn_value(const txn_log_record& record);

struct txn_record_error {
  std::string message;  // names the record part and field, for logs
};

// Decodes one record's key and value (value nullopt = Kafka null, a tombstone). Refused: every
// truncation, bytes left over, an unknown key or value version, an unknown transaction status.
std::expected<txn_log_record, txn_record_error> decode_txn_record(std::string_view key,
                                                                  std::optional<std::string_view> value);

// One uncompressed magic-v2 batch holding `records` in order, ready for the partition's produce
// path: base offset 0 (the leader assigns it), CreateTime `timestamp_ms`, no producer id, not
// transactional (what Kafka's coordinator appends). `records` must not be empty.
std::string build_txn_batch(std::span<const txn_log_record> records, std::int64_t timestamp_ms);

// One record read back from the topic, with its offset. A record that does not decode carries its
// error, so one bad record does not hide the rest of the log.
struct txn_log_entry {
  std::int64_t offset = 0;
  std::expected<txn_log_record, txn_record_error> record;
};

// Every record of every whole batch in `blob`, as a partition fetch returns it (base offsets
// stamped; a partial batch at the end is ignored), decompressing where needed. Control batches are
// skipped (the topic is never transactional; a marker carries no coordinator state). Damage to a
// batch (header, CRC, compression, record framing) fails the whole read: the log itself is broken.
std::expected<std::vector<txn_log_entry>, codec_error> read_txn_records(std::string_view blob);

}  // namespace chronik::kafka
