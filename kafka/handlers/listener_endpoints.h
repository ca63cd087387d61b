// Which endpoint of a broker a client is told (KIP-103, Kafka's rule): the one of the listener its
// request arrived on, so a client that came in over SSL is sent to SSL ports and one on an
// internal listener stays on it. A broker without that listener is left out of Metadata's broker
// list, and a coordinator without it is COORDINATOR_NOT_AVAILABLE. Pure.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "kafka/handlers/broker_context.h"

namespace chronik::kafka {

// `b` with host and port of its `listener` endpoint; nullopt when it has no such listener. A
// broker without endpoints has one PLAINTEXT listener at host:port (registered before listeners
// existed); an empty `listener` (a request built by hand in a test) keeps host:port.
inline std::optional<broker_info> on_listener(const broker_info& b, std::string_view listener) {
  if (listener.empty()) return b;
  if (b.endpoints.empty()) {
    if (listener == "PLAINTEXT") return b;
    return std::nullopt;
  }
  for (const auto& e : b.endpoints) {
    if (e.listener != listener) continue;
    broker_info out = b;
    out.host = e.host;
    out.port = e.port;
    return out;
  }
  return std::nullopt;
}

inline std::vector<broker_info> on_listener(const std::vector<broker_info>& brokers, std::string_view listener) {
  std::vector<broker_info> out;
  out.reserve(brokers.size());
  for (const auto& b : brokers) {
    if (auto e = on_listener(b, listener)) out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace chronik::kafka
