// What a connection on a SASL listener (security_protocol.h uses_sasl) runs before any request
// reaches the request handler, as Kafka's SaslServerAuthenticator does (KIP-43, KIP-152): every
// frame goes to the connection's authenticator until it reports a principal. The authenticator
// decides (it lives in kafka/handlers, sasl_gate.h, where Kafka's codecs and error codes are);
// the connection only carries its decisions out: forward a request (ApiVersions), answer, answer
// and close, and read the next frame as a request or as a raw SASL token (after SaslHandshake v0).
//
// Frames are bounded by max_unauthenticated_frame_bytes until authentication succeeds, as Kafka
// bounds them by sasl.server.max.receive.size: a client that has not logged in cannot make the
// node buffer a 100 MiB request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "kafka/server/request_handler.h"

namespace chronik::kafka {

// Kafka's sasl.server.max.receive.size default.
inline constexpr std::size_t max_unauthenticated_frame_bytes = 512u << 10;

// How the next frame of a connection is framed: a Kafka request (header and body), or a raw SASL
// token with only its size in front (the legacy exchange after SaslHandshake v0).
enum class frame_kind : std::uint8_t { request, sasl_token };

struct auth_decision;

// Work too slow for the connection's thread, which also ticks Raft: a PLAIN login's PBKDF2.
// `work` runs on the server's auth worker (auth_worker.h) and touches only what it captured;
// `finish` runs on the connection's thread afterwards and decides, as on_frame would have.
struct deferred_auth {
  std::function<void()> work;
  std::function<auth_decision()> finish;
};

struct auth_decision {
  enum class action : std::uint8_t {
    forward,  // a request allowed before authentication (ApiVersions): to the request handler
    respond,  // `reply` answers the frame
    close,    // `reply` answers the frame (unless it is close_connection), then the connection closes
    defer,    // run `deferred`; its finish() gives the decision. No frame is read meanwhile.
  };
  action what = action::respond;
  handler_reply reply = handler_reply::no_response();
  frame_kind next = frame_kind::request;
  // Set once: the client is authenticated as this principal ("User:alice"), and every later frame
  // is a request for the request handler.
  std::optional<std::string> principal;
  std::optional<deferred_auth> deferred;  // with action::defer only
};

class authenticator {
 public:
  virtual ~authenticator() = default;
  // One complete frame (size prefix excluded), in arrival order; answered at once.
  virtual auth_decision on_frame(const client_info& client, frame_kind kind, std::string_view frame) = 0;
};

}  // namespace chronik::kafka
