// The records of the `__consumer_offsets` topic, in Apache Kafka's own key and value formats, so
// that stock tools (kafka-console-consumer with Kafka's offsets formatter, kafka-dump-log
// --offsets-decoder) read chronik's topic as they read Kafka's (docs/kafka.md "The
// `__consumer_offsets` record formats"). A pure codec: no I/O, no clock.
//
// Each record's key is an int16 record type followed by the key struct; its value is an int16
// version followed by the value struct at that version, or null (a tombstone: the offset or the
// group was deleted). Kafka's message definitions OffsetCommitKey/Value and
// GroupMetadataKey/Value (group-coordinator/src/main/resources/common/message/) give the fields:
//
//   key type 0, 1  OffsetCommitKey:    group string | topic string | partition int32
//   key type 2     GroupMetadataKey:   group string
//   OffsetCommitValue  v0: offset int64 | metadata string | commitTimestamp int64
//                      v1: as v0, then expireTimestamp int64
//                      v2: as v0
//                      v3: offset | leaderEpoch int32 | metadata | commitTimestamp
//                      v4: as v3, flexible (KIP-482 compact strings, tagged fields)
//   GroupMetadataValue v0: protocolType string | generation int32 | protocol string? |
//                          leader string? | members [memberId string | clientId string |
//                          clientHost string | sessionTimeout int32 | subscription bytes |
//                          assignment bytes]
//                      v1: members gain rebalanceTimeout int32 after clientHost
//                      v2: currentStateTimestamp int64 after leader
//                      v3: members gain groupInstanceId string? after memberId (KIP-345)
//                      v4: as v3, flexible
//
// chronik writes key types 1 and 2 and value version 3 of both, what Kafka's classic group
// coordinator writes; it reads every version above. Key types 3 and up are KIP-848's consumer
// group records (and share groups'), which chronik does not implement: they decode as
// unknown_type so that a loader skips them, as Kafka's coordinator skips types it does not know.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kafka/protocol/codec_error.h"

namespace chronik::kafka {

// The key of an offset commit (Kafka key type 0 or 1; chronik writes 1).
struct offset_record_key {
  std::string group;
  std::string topic;
  std::int32_t partition = 0;
  bool operator==(const offset_record_key&) const = default;
};

// The key of a group's metadata (Kafka key type 2).
struct group_record_key {
  std::string group;
  bool operator==(const group_record_key&) const = default;
};

// OffsetCommitValue. Written as version 3; versions 0..4 are read.
struct offset_record_value {
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;  // -1: none (and what versions 0..2 read as)
  std::string metadata;
  std::int64_t commit_timestamp_ms = -1;
  // Only version 1 carries it (an OffsetCommit v1 with an explicit retention); read and kept, but
  // never written: version 3 has no such field, and Kafka has expired offsets by the commit
  // timestamp plus offsets.retention.minutes since KIP-211.
  std::int64_t expire_timestamp_ms = -1;
  bool operator==(const offset_record_value&) const = default;
};

// One member of GroupMetadataValue.
struct group_member_record {
  std::string member_id;
  std::optional<std::string> group_instance_id;  // KIP-345 static membership; version 3+
  std::string client_id;
  std::string client_host;
  // Version 1+. Version 0 had none; it reads as the session timeout, as Kafka loads it.
  std::int32_t rebalance_timeout_ms = 0;
  std::int32_t session_timeout_ms = 0;
  std::string subscription;  // the member's protocol metadata for the chosen protocol
  std::string assignment;
  bool operator==(const group_member_record&) const = default;
};

// GroupMetadataValue. Written as version 3; versions 0..4 are read.
struct group_record_value {
  std::string protocol_type;
  std::int32_t generation = 0;
  std::optional<std::string> protocol;  // null while the group is Empty
  std::optional<std::string> leader;
  std::int64_t current_state_timestamp_ms = -1;  // version 2+; -1 when absent
  std::vector<group_member_record> members;
  bool operator==(const group_record_value&) const = default;
};

using group_record_key_variant = std::variant<offset_record_key, group_record_key>;
using group_record_value_variant = std::variant<offset_record_value, group_record_value>;

// One record of the topic: an offset commit or a group's metadata. A null value is a tombstone
// (the offset or the group was deleted), which log compaction keeps until it removes the key.
struct group_log_record {
  group_record_key_variant key;
  // nullopt: a tombstone. Otherwise the alternative matches the key's (offset key, offset value).
  std::optional<group_record_value_variant> value;
  bool operator==(const group_log_record&) const = default;
};

// The record key's bytes. Every string must fit Kafka's int16 length (Kafka requests carry them
// so; a longer one is a broken invariant).
std::string encode_key(const group_log_record& record);
// The record value's bytes; nullopt for a tombstone. The value's alternative must match the key's.
std::optional<std::string> encode_value(const group_log_record& record);

enum class group_record_errc : std::uint8_t {
  unknown_type,  // a key type chronik does not know (KIP-848's and later records): skip it
  malformed,     // bytes that do not decode: truncated, a bad length, an unknown value version
};

struct group_record_error {
  group_record_errc code = group_record_errc::malformed;
  std::string message;  // names the record part and field, for logs
};

// Decodes one record's key and value (value nullopt = Kafka null, a tombstone). Bytes left over
// after a key or value are malformed: chronik reads what Kafka writes exactly.
std::expected<group_log_record, group_record_error> decode_group_record(std::string_view key,
                                                                        std::optional<std::string_view> value);

// One uncompressed magic-v2 batch holding `records` in order, ready for partition_replica::produce:
// base offset 0 (the leader assigns it), CreateTime timestamps all `timestamp_ms`, no producer id
// (-1), not transactional. `records` must not be empty.
std::string build_group_batch(std::span<const group_log_record> records, std::int64_t timestamp_ms);

// The same batch as part of a producer's transaction (TxnOffsetCommit, KIP-98): the transactional
// attribute, the producer's id and epoch, and no sequence (-1), as a coordinator writes it. Only
// partition_replica::produce_as_coordinator appends such a batch (a client's batch with a producer id
// must carry a sequence); the producer's transaction then stays open in the partition until the
// transaction coordinator's marker closes it.
std::string build_group_txn_batch(std::span<const group_log_record> records, std::int64_t timestamp_ms,
                                  std::int64_t producer_id, std::int16_t producer_epoch);

// One record read back from the topic, with its offset. A record that does not decode carries its
// error, so one bad record does not hide the rest of the log.
struct group_log_entry {
  std::int64_t offset = 0;
  std::expected<group_log_record, group_record_error> record;
  // A record of a transactional batch: it belongs to this producer's transaction and counts only
  // once that producer's COMMIT marker follows it in the log. -1: a plain record.
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
};

// A transaction marker (a control batch, kafka/protocol/txn_marker.h): `producer_id`'s transaction
// ends at `offset`, committed or aborted.
struct group_log_marker {
  std::int64_t offset = 0;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  bool commit = false;
  bool operator==(const group_log_marker&) const = default;
};

using group_log_item = std::variant<group_log_entry, group_log_marker>;

// Which batches read_group_log decodes: everything, or only what transactions need (the records of
// transactional batches and the markers), which the coordinator's owner reads as the log grows.
enum class group_log_filter : std::uint8_t { all, transactions };

// Every record and every transaction marker of every whole batch in `blob`, in log order, as
// partition_replica::fetch returns it (base offsets stamped; a partial batch at the end is ignored),
// decompressing where needed. A control batch that is not a transaction marker (a newer control
// record type) is skipped. Damage to a batch (its header, CRC, compression or record framing) is
// an error for the whole read: the log itself is broken there.
std::expected<std::vector<group_log_item>, codec_error> read_group_log(std::string_view blob,
                                                                       group_log_filter filter = group_log_filter::all);

// The records alone (markers skipped), for readers that need no transaction: read_group_log's
// records, each carrying its batch's producer when transactional.
std::expected<std::vector<group_log_entry>, codec_error> read_group_records(std::string_view blob);

}  // namespace chronik::kafka
