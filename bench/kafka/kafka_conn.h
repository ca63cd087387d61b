// One blocking Kafka client connection of the load generator (bench/kafka/kafka_load.cc): plain
// TCP, or TLS through Asio's ssl::stream over Debian's OpenSSL, optionally logged in with SASL
// PLAIN (RFC 4616) or SCRAM-SHA-256/512 (RFC 5802, Kafka's KIP-84 profile) over SaslHandshake v1
// and SaslAuthenticate v1 (KIP-152), as a Kafka client does on a SASL_SSL listener. The login runs
// in the constructor, so a worker's timed loop only ever sends requests on a ready connection.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>

#include "kafka/protocol/api.h"
#include "kafka/protocol/wire.h"

namespace chronik::bench {

// A client's security settings, as librdkafka's security.protocol, ssl.ca.location,
// sasl.mechanisms, sasl.username and sasl.password.
struct client_security {
  std::string protocol = "PLAINTEXT";  // PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
  std::string ca_file;                 // TLS: the CA the broker's certificate must verify against
  std::string sasl_mechanism;          // SASL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
  std::string sasl_username, sasl_password;

  bool uses_tls() const { return protocol == "SSL" || protocol == "SASL_SSL"; }
  bool uses_sasl() const { return protocol == "SASL_PLAINTEXT" || protocol == "SASL_SSL"; }
};

class kafka_conn {
 public:
  // Connects to `addr` (IP:PORT), runs the TLS handshake (the certificate must name the IP) and
  // the SASL login the settings ask for. Throws std::runtime_error naming what failed.
  kafka_conn(const std::string& addr, const client_security& security);
  kafka_conn(const kafka_conn&) = delete;
  kafka_conn& operator=(const kafka_conn&) = delete;
  ~kafka_conn();

  // Sends header + body; returns a reader over the response body (after the response header).
  // The answer is read into a buffer that is reused once nothing decoded from it holds it.
  kafka::reader call(kafka::api_key key, std::int16_t version, const std::string& body);

 private:
  template <class Buffers>
  void write(const Buffers& b);
  template <class Buffers>
  void read(const Buffers& b);
  void sasl_login(const client_security& s);
  // One SaslAuthenticate round: sends `token`, returns the server's; throws on an error answer.
  std::string authenticate(const std::string& token);

  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  std::unique_ptr<asio::ssl::context> tls_context_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  std::int32_t correlation_ = 0;
  std::shared_ptr<std::string> resp_ = std::make_shared<std::string>();
};

}  // namespace chronik::bench
