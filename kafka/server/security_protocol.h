// Kafka's security protocols (Kafka's SecurityProtocol; KIP-103 "Separation of Internal and External
// traffic"): what a listener speaks below the Kafka framing. A listener has a name ("PLAINTEXT",
// "SSL", or a custom one such as "INTERNAL" mapped to a protocol) and exactly one protocol; every
// connection it accepts carries both in its client_info (request_handler.h).
//
// TLS is done in the connection (kafka/server/connection.cc); SASL's exchange runs in the
// connection too, before any request reaches the dispatcher (docs/security.md).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace chronik::kafka {

enum class security_protocol : std::uint8_t { plaintext, ssl, sasl_plaintext, sasl_ssl };

inline constexpr std::array<std::pair<std::string_view, security_protocol>, 4> security_protocol_names{{
    {"PLAINTEXT", security_protocol::plaintext},
    {"SSL", security_protocol::ssl},
    {"SASL_PLAINTEXT", security_protocol::sasl_plaintext},
    {"SASL_SSL", security_protocol::sasl_ssl},
}};

// Kafka's spelling: "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL".
constexpr std::string_view to_string(security_protocol p) {
  for (const auto& [name, value] : security_protocol_names) {
    if (value == p) return name;
  }
  return "PLAINTEXT";
}

// Exact, upper-case names only (Kafka's listener.security.protocol.map is case-sensitive too).
constexpr std::optional<security_protocol> parse_security_protocol(std::string_view text) {
  for (const auto& [name, value] : security_protocol_names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

// The connection runs a TLS handshake before the first Kafka byte.
constexpr bool uses_tls(security_protocol p) {
  return p == security_protocol::ssl || p == security_protocol::sasl_ssl;
}

// Requests other than ApiVersions, SaslHandshake and SaslAuthenticate wait for SASL (KIP-43).
constexpr bool uses_sasl(security_protocol p) {
  return p == security_protocol::sasl_plaintext || p == security_protocol::sasl_ssl;
}

}  // namespace chronik::kafka
