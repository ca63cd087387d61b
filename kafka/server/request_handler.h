// What the Kafka server hands each request to (kafka/server/connection.h): one complete request
// frame, the bytes after the 4-byte size prefix. The handler answers through `reply` exactly once,
// now or later (acks=all waits for a Raft commit, Fetch long-polls), on the io thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "kafka/protocol/byte_chain.h"
#include "kafka/server/security_protocol.h"

namespace chronik::kafka {

struct handler_reply {
  enum class kind : std::uint8_t {
    respond,  // send `frame` (response header + body, without the size prefix)
    none,     // no response on the wire (Produce with acks=0)
    close,    // the request was malformed: log `why` and close the connection
  };
  kind what = kind::respond;
  // The answer is `prefix` then `frame`, written as separate buffers of one gathering write: a
  // handler puts the response header in `prefix`, and the frame's pieces (a Fetch body links
  // record batches from shared memory, kafka/protocol/byte_chain.h) are never copied together.
  byte_chain frame;
  std::string why;
  std::string prefix;

  static handler_reply respond(byte_chain f) { return {kind::respond, std::move(f), {}, {}}; }
  static handler_reply respond(std::string header, byte_chain body) {
    return {kind::respond, std::move(body), {}, std::move(header)};
  }
  static handler_reply no_response() { return {kind::none, {}, {}, {}}; }
  static handler_reply close_connection(std::string why) { return {kind::close, {}, std::move(why), {}}; }
};

using reply_fn = std::function<void(handler_reply)>;

// Who sent a request, for handlers that care (logging, the listener's endpoints in Metadata,
// authorization). Fixed per connection once its TLS handshake (and SASL exchange) is done.
struct client_info {
  std::string peer;  // "ip:port"
  std::uint64_t connection_id = 0;
  // The listener the connection arrived on (Kafka's listener name, e.g. "PLAINTEXT", "SSL",
  // "INTERNAL") and what it speaks. Metadata, FindCoordinator and DescribeCluster answer each
  // broker's endpoint of this listener (KIP-103). Empty only in tests that build one by hand.
  std::string listener;
  security_protocol protocol = security_protocol::plaintext;
  // Who the client is, as Kafka's KafkaPrincipal prints it: "User:ANONYMOUS" until authenticated;
  // "User:<name>" after SASL; "User:<subject CN>" for a TLS client certificate verified against
  // kafka_tls_ca_file (docs/security.md "Kafka listeners and TLS").
  std::string principal = "User:ANONYMOUS";
};

class authenticator;  // kafka/server/authenticator.h

class request_handler {
 public:
  virtual ~request_handler() = default;
  virtual void handle(const client_info& client, std::string frame, reply_fn reply) = 0;
  // Runs a connection's SASL exchange before any of its requests reach handle(), on a listener
  // whose protocol uses_sasl (authenticator.h). nullptr: no SASL here; such a listener then closes
  // every connection at its first request.
  // Default: nullptr (authenticator.cc).
  virtual std::unique_ptr<authenticator> new_authenticator(const client_info& client);
};

}  // namespace chronik::kafka
