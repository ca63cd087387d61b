// Limits of the Kafka listener (docs/kafka.md "Server"). Every bound is per connection unless
// said otherwise, so that one client cannot take the node's memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>

namespace chronik::kafka {

struct server_config {
  std::string bind_ip = "127.0.0.1";
  std::uint16_t port = 9092;  // 0: any free port (tests)
  // Largest request frame accepted, size prefix excluded. Kafka's socket.request.max.bytes
  // defaults to 100 MiB; a larger prefix is a malformed frame and closes the connection.
  std::size_t max_request_bytes = 100u << 20;
  // Requests read but not yet answered. At the bound the connection stops reading, and TCP
  // pushes back on the client; answers still leave in request order (the Kafka protocol's rule).
  std::size_t max_in_flight = 64;
  // Open connections; beyond this, new ones are accepted and closed at once.
  std::size_t max_connections = 4096;

  std::expected<void, std::string> validate() const;
};

}  // namespace chronik::kafka
