#include "consensus/transport/transport_config.h"

namespace chronik::consensus {

std::string_view to_string(transport_errc code) {
  switch (code) {
    case transport_errc::invalid_config: return "invalid_config";
    case transport_errc::bind_failed: return "bind_failed";
    case transport_errc::malformed: return "malformed";
    case transport_errc::oversized: return "oversized";
    case transport_errc::identity_mismatch: return "identity_mismatch";
    case transport_errc::not_running: return "not_running";
  }
  return "unknown";
}

transport_config transport_config::lan() { return {}; }

std::uint64_t call_deadline_ms(const transport_config& cfg, std::size_t bytes_ahead) {
  const std::uint64_t rate = cfg.call_timeout_floor_bytes_per_s;
  if (rate == 0) return cfg.call_timeout_ms;
  // Rounded up: a byte ahead never costs nothing. bytes_ahead is at most a few batches (the
  // bytes in flight stay within max_batch_bytes), so the product cannot overflow.
  const std::uint64_t transfer_ms = (static_cast<std::uint64_t>(bytes_ahead) * 1000 + rate - 1) / rate;
  return std::uint64_t{cfg.call_timeout_ms} + transfer_ms;
}

transport_config transport_config::wan() {
  transport_config c;
  c.call_timeout_ms = 5000;
  c.reconnect_backoff_min_ms = 100;
  c.reconnect_backoff_max_ms = 5000;
  return c;
}

transport_config transport_config::local() {
  transport_config c;
  c.call_timeout_ms = 1000;
  c.reconnect_backoff_max_ms = 1000;
  return c;
}

std::expected<void, transport_error> transport_config::validate() const {
  auto fail = [](std::string key, std::string why) {
    return std::unexpected(transport_error{transport_errc::invalid_config, key + ": " + why});
  };
  constexpr std::size_t traversal_headroom_bytes = 48u << 20;
  // More calls than this buy nothing (a heartbeat every 50 ms over a 2 s call timeout is 40) and
  // each one holds a request and its promise chain on the KJ thread.
  constexpr std::uint32_t max_calls_in_flight_limit = 64;
  if (self == no_node) return fail("self", "must be a non-zero node id");
  if (node_uuid.empty()) return fail("node_uuid", "must not be empty");
  if (listen_address.find(':') == std::string::npos)
    return fail("listen_address", "must be ip:port");
  if (max_batch_bytes < 1024) return fail("max_batch_bytes", "must be at least 1024");
  if (max_message_bytes < max_batch_bytes || max_message_bytes > traversal_headroom_bytes)
    return fail("max_message_bytes", "must be in max_batch_bytes..48 MiB");
  if (max_calls_in_flight == 0 || max_calls_in_flight > max_calls_in_flight_limit)
    return fail("max_calls_in_flight", "must be in 1..64");
  if (outbox_max_messages == 0) return fail("outbox_max_messages", "must be positive");
  if (outbox_max_bytes < max_message_bytes)
    return fail("outbox_max_bytes", "must be >= max_message_bytes");
  if (inbound_max_pending_batches == 0)
    return fail("inbound_max_pending_batches", "must be positive");
  if (call_timeout_ms == 0) return fail("call_timeout_ms", "must be positive");
  if (reconnect_backoff_min_ms == 0 || reconnect_backoff_max_ms < reconnect_backoff_min_ms)
    return fail("reconnect_backoff_min_ms", "must be in 1..reconnect_backoff_max_ms");
  if (tls) {
    if (tls->ca_pem.empty()) return fail("tls.ca_pem", "must not be empty");
    if (tls->cert_pem.empty()) return fail("tls.cert_pem", "must not be empty");
    if (tls->key_pem.empty()) return fail("tls.key_pem", "must not be empty");
    if (!tls->verify_outgoing && tls->verify_incoming)
      return fail("tls.verify_outgoing", "false needs verify_incoming = false too");
    if (tls_handshake_timeout_ms == 0) return fail("tls_handshake_timeout_ms", "must be positive");
  }
  return {};
}

}  // namespace chronik::consensus
