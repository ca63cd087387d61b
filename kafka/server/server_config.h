// Limits of the Kafka listener (docs/kafka.md "Server"). Every bound is per connection unless
// said otherwise, so that one client cannot take the node's memory, its descriptors or its io
// thread. The daemon sets each from a config key (docs/config.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "kafka/server/security_protocol.h"

namespace chronik::kafka {

// One listener: an acceptor on bind_ip:port whose connections speak `protocol` (Kafka's
// `listeners` entry "NAME://host:port" with NAME mapped to its protocol; KIP-103).
struct listener_spec {
  std::string name = "PLAINTEXT";
  security_protocol protocol = security_protocol::plaintext;
  std::string bind_ip = "127.0.0.1";  // "0.0.0.0": every IPv4 interface
  std::uint16_t port = 9092;          // 0: any free port (tests)
};

// Kafka's ssl.client.auth: whether a TLS listener asks for a client certificate.
enum class tls_client_auth : std::uint8_t {
  none,       // no certificate asked for
  requested,  // asked for; a client without one is still accepted, one with a bad one is not
  required,   // a client without a certificate that verifies against ca_file is refused
};

// The server side of TLS (PEM files, read once at start). Shared by every TLS listener.
struct tls_config {
  std::string cert_file;  // the node's certificate chain (leaf first)
  std::string key_file;   // its private key, unencrypted
  std::string ca_file;    // CAs that client certificates must chain to; needed unless auth is none
  tls_client_auth client_auth = tls_client_auth::none;
  // A TLS handshake that has not completed this long after the TCP connection is closed, so a
  // client that connects and sends nothing (or a byte a minute) holds no descriptor for long.
  std::uint32_t handshake_timeout_ms = 10'000;
};

struct server_config {
  // At least one; names and ports distinct. Default: one PLAINTEXT listener on 127.0.0.1:9092.
  std::vector<listener_spec> listeners{listener_spec{}};
  tls_config tls;  // used when a listener's protocol uses_tls
  // Largest request frame accepted, size prefix excluded. Kafka's socket.request.max.bytes
  // defaults to 100 MiB; a larger prefix is a malformed frame and closes the connection. The
  // frame's buffer grows as its bytes arrive (read_chunk_bytes at a time), never from the prefix.
  // 64..1 GiB, default 100 MiB.
  std::size_t max_request_bytes = 100u << 20;
  // Node-wide: bytes of requests read but not yet answered, summed over every connection,
  // including the part of a frame read so far. At the bound connections stop reading (TCP then
  // pushes back on the clients) and resume as answers leave; nothing is dropped. At least
  // max_request_bytes, so that one request of the largest size always fits. Default 256 MiB:
  // two largest requests and change, the same order as the fetch cache (fetch_cache_bytes).
  std::size_t max_queued_request_bytes = 256u << 20;
  // Requests read but not yet answered. At the bound the connection stops reading, and TCP
  // pushes back on the client; answers still leave in request order (the Kafka protocol's rule).
  // Default 8: above the 5 an idempotent client keeps in flight, and low enough that a client
  // pipelining without limit (librdkafka's default, up to 1 MB a request) cannot park dozens of
  // megabytes in the node while the groups commit: it batches more per request instead. With 64,
  // librdkafka's load held 60 MB of queued requests at a broker's peak; with 8 the peak RSS fell
  // by a quarter and its throughput rose (docs/performance.md). Kafka reads one request per
  // connection at a time.
  std::size_t max_in_flight = 8;
  // Open connections; beyond this, new ones are accepted and closed at once. Default 4096.
  std::size_t max_connections = 4096;
  // Open connections from one client IP address (Kafka's max.connections.per.ip, whose default
  // is unlimited); beyond this, new ones from that address are accepted and closed at once.
  // Default 1024: no single host can hold more than a quarter of the default max_connections.
  std::size_t max_connections_per_ip = 1024;
  // A connection with no request in flight and no byte received or sent for this long is
  // closed (Kafka's connections.max.idle.ms, 10 minutes). A frame whose bytes stopped arriving
  // counts as idle too; a connection paused by the node (the bounds above) never does. One
  // sweep every idle_sweep_ms() finds them, so a close comes within 1.1 x this. Default 600000.
  std::uint32_t connections_max_idle_ms = 600'000;

  // Bytes read from a socket per read into a request frame's buffer.
  static constexpr std::size_t read_chunk_bytes = 64u << 10;
  std::uint32_t idle_sweep_ms() const;
  std::expected<void, std::string> validate() const;
};

}  // namespace chronik::kafka
