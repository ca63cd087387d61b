// The Kafka error code for each topic outcome of broker_context, shared by CreateTopics,
// DeleteTopics and Metadata's auto-creation (error codes are chosen only in kafka/handlers).
#pragma once

#include "kafka/handlers/broker_context.h"
#include "kafka/protocol/error_code.h"

namespace chronik::kafka {

constexpr error_code to_error_code(topic_outcome o) {
  switch (o) {
    case topic_outcome::done: return error_code::none;
    case topic_outcome::already_exists: return error_code::topic_already_exists;
    case topic_outcome::unknown_topic: return error_code::unknown_topic_or_partition;
    case topic_outcome::invalid_name: return error_code::invalid_topic_exception;
    case topic_outcome::invalid_partitions: return error_code::invalid_partitions;
    case topic_outcome::invalid_replication_factor: return error_code::invalid_replication_factor;
    case topic_outcome::invalid_assignment: return error_code::invalid_replica_assignment;
    case topic_outcome::invalid_config: return error_code::invalid_config;
    // Clients retry NOT_CONTROLLER after refreshing Metadata, whose controller id points at the
    // `__meta` leader.
    case topic_outcome::not_controller: return error_code::not_controller;
    case topic_outcome::timed_out: return error_code::request_timed_out;
  }
  return error_code::unknown_server_error;
}

}  // namespace chronik::kafka
