// Kafka error codes for partition outcomes (kafka/partition/partition_replica.h), shared by
// Produce, Fetch and ListOffsets: error codes are chosen only in kafka/handlers (docs/design.md
// "Errors").
#pragma once

#include <cstdint>
#include <string_view>

#include "kafka/handlers/broker_context.h"
#include "kafka/partition/partition_manager.h"
#include "kafka/protocol/error_code.h"

namespace chronik::kafka {

constexpr error_code to_error_code(partition_errc e) {
  switch (e) {
    // Clients refresh Metadata and retry at the leader it shows (docs/design.md "Leadership
    // errors").
    case partition_errc::not_leader: return error_code::not_leader_or_follower;
    case partition_errc::corrupt_batch: return error_code::corrupt_message;
    // Produce before v8 predates INVALID_RECORD (KIP-467): produce.cc answers CORRUPT_MESSAGE there.
    case partition_errc::invalid_record: return error_code::invalid_record;
    case partition_errc::invalid_timestamp: return error_code::invalid_timestamp;
    case partition_errc::unsupported_magic: return error_code::unsupported_for_message_format;
    case partition_errc::too_large: return error_code::message_too_large;
    case partition_errc::timed_out: return error_code::request_timed_out;
    case partition_errc::offset_out_of_range: return error_code::offset_out_of_range;
    // Refused before anything was written. Every client retries NOT_ENOUGH_REPLICAS, and
    // librdkafka takes it as not persisted; REQUEST_TIMED_OUT would read as possibly persisted,
    // which librdkafka 2.0 counts as acknowledged once a later batch of its producer is
    // (docs/kafka.md "Idempotent producers").
    case partition_errc::busy: return error_code::not_enough_replicas;
    case partition_errc::storage_failed: return error_code::kafka_storage_error;
    // An idempotent producer's gap: the client bumps its epoch (KIP-360) or fails the batch.
    case partition_errc::out_of_order_sequence: return error_code::out_of_order_sequence_number;
    case partition_errc::invalid_producer_epoch: return error_code::invalid_producer_epoch;
    case partition_errc::invalid_txn_state: return error_code::invalid_txn_state;
    case partition_errc::coordinator_fenced: return error_code::transaction_coordinator_fenced;
    case partition_errc::unknown_producer: return error_code::unknown_producer_id;
  }
  return error_code::unknown_server_error;
}

// The error for a partition this node has no replica of: NOT_LEADER_OR_FOLLOWER when the topic
// and partition exist (the client's Metadata is stale), else UNKNOWN_TOPIC_OR_PARTITION.
inline error_code missing_partition_error(const broker_context& ctx, std::string_view topic, std::int32_t partition) {
  const auto t = ctx.topic(topic);
  if (t && partition >= 0 && static_cast<std::size_t>(partition) < t->partitions.size()) {
    return error_code::not_leader_or_follower;
  }
  return error_code::unknown_topic_or_partition;
}

// KIP-320 fencing: a client that names a leader epoch (the Raft term, docs/design.md "Leader
// epoch") newer than ours is ahead of this replica (UNKNOWN_LEADER_EPOCH, retriable); an older one
// has stale Metadata (FENCED_LEADER_EPOCH). -1 skips the check.
inline error_code check_leader_epoch(std::int32_t requested, const partition_replica& r) {
  if (requested < 0) return error_code::none;
  const auto ours = static_cast<std::int64_t>(r.leader_epoch().value);
  if (requested > ours) return error_code::unknown_leader_epoch;
  if (requested < ours) return error_code::fenced_leader_epoch;
  return error_code::none;
}

}  // namespace chronik::kafka
