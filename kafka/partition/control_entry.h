// Control entries of a partition's Raft log (docs/kafka.md "Deleting records"): entries that hold
// a command for every replica's state machine instead of record batches.
//
// A partition's normal entries are record batches whose first field is the int64 base offset,
// which is never negative in a stored batch: producers must send 0 (batch_validation.h) and the
// leader stamps the offsets it predicts, from 0 up. A control entry therefore starts with eight
// 0xFF bytes (base offset -1), which no batch stored now or before has, so a log written before
// control entries existed decodes exactly as it did. A binary that predates them sees "no valid
// record batch" and skips the entry; every replica of one version applies it alike.
//
// Layout: 8 x 0xFF, one kind byte, then the kind's fields (big-endian).
//   kind 1, delete_records: int64 offset. Every offset below it is deleted (Kafka's DeleteRecords,
//   KIP-107): the log start offset moves there, and the entries wholly below it are compacted away
//   as retention does (Raft paper §7).
//   kind 2, expire_producers: uint32 count, then count x (int64 producer id, int64 Raft index of
//   the producer's newest batch when the leader decided). Idempotent producers idle beyond
//   producer.id.expiration.ms are forgotten (producer_state.h). The leader decides by its clock and
//   every replica applies the same list, so replicas never disagree about which producers they
//   remember; one that appended after the decision (its newest batch moved) stays.
// Pure: no I/O.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace chronik::kafka {

enum class control_errc : std::uint8_t {
  unknown_kind,  // a control entry of a kind this version does not know (written by a newer one)
  malformed,     // the kind is known but the fields do not fit it
};

struct delete_records_command {
  std::int64_t offset = 0;  // the new log start offset asked for (the leader resolved -1 already)
};

struct expire_producers_command {
  struct producer {
    std::int64_t id = 0;
    std::int64_t last_index = 0;  // the Raft index of its newest batch when decided
    bool operator==(const producer&) const = default;
  };
  std::vector<producer> producers;
};

enum class control_kind : std::uint8_t { delete_records = 1, expire_producers = 2 };

// The kind byte of a control entry (is_control_entry(data) holds); unknown_kind for one this version
// does not know.
std::expected<control_kind, control_errc> control_kind_of(std::string_view data);

// True when `data` is a control entry rather than record batches.
bool is_control_entry(std::string_view data);

std::string encode_delete_records(const delete_records_command& c);
// Decodes a control entry (is_control_entry(data) holds) of kind delete_records.
std::expected<delete_records_command, control_errc> decode_delete_records(std::string_view data);

std::string encode_expire_producers(const expire_producers_command& c);
std::expected<expire_producers_command, control_errc> decode_expire_producers(std::string_view data);

}  // namespace chronik::kafka
