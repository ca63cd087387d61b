// The Kafka error code AlterUserScramCredentials answers for each scram_outcome (error codes are
// chosen only in kafka/handlers), as Kafka's controller does (KIP-554).
#pragma once

#include "kafka/handlers/broker_context.h"
#include "kafka/protocol/error_code.h"

namespace chronik::kafka {

constexpr error_code to_error_code(scram_outcome o) {
  switch (o) {
    case scram_outcome::done: return error_code::none;
    case scram_outcome::unknown_credential: return error_code::resource_not_found;
    case scram_outcome::invalid: return error_code::unacceptable_credential;
    case scram_outcome::not_controller: return error_code::not_controller;
    case scram_outcome::timed_out: return error_code::request_timed_out;
  }
  return error_code::unknown_server_error;
}

}  // namespace chronik::kafka
