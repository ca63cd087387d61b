// The Kafka error code InitProducerId answers for each producer_id_outcome (error codes are chosen
// only in kafka/handlers). Every refusal but `exhausted` is one clients retry: InitProducerId's
// retriable errors are the coordinator ones and REQUEST_TIMED_OUT.
#pragma once

#include "kafka/handlers/broker_context.h"
#include "kafka/protocol/error_code.h"

namespace chronik::kafka {

constexpr error_code to_error_code(producer_id_outcome o) {
  switch (o) {
    case producer_id_outcome::not_available: return error_code::coordinator_not_available;
    // Kafka's brokers answer this while their next producer id block is not there yet.
    case producer_id_outcome::busy: return error_code::coordinator_load_in_progress;
    case producer_id_outcome::timed_out: return error_code::request_timed_out;
    // Kafka fails the request with an unexpected error once its counter is exhausted.
    case producer_id_outcome::exhausted: return error_code::unknown_server_error;
  }
  return error_code::unknown_server_error;
}

}  // namespace chronik::kafka
