// The SASL exchange of one connection on a SASL_PLAINTEXT or SASL_SSL listener (KIP-43, KIP-152;
// docs/security.md "Client authentication: SASL"): the kafka/server authenticator the dispatcher
// hands each such connection. It speaks Kafka's framing around kafka/sasl's sasl_session:
//
//   ApiVersions                 forwarded to the dispatcher (clients ask before the handshake)
//   SaslHandshake v0/v1         picks the mechanism; UNSUPPORTED_SASL_MECHANISM (33) with the
//                               enabled list, then close, for any other
//   SaslAuthenticate v0-2       (after a v1 handshake) one token each; a failure answers
//                               SASL_AUTHENTICATION_FAILED (58) with a message, then closes
//   raw size-prefixed tokens    (after a v0 handshake, as kafka-python 2.0 sends them) answered
//                               raw; a failure closes without an answer, as Kafka does
//   anything else               closes the connection (Kafka: IllegalSaslStateException)
//
// On success the connection's principal is "User:<name>" and every later request goes to the
// dispatcher. The handshake-before-authenticate order and one exchange per connection are
// enforced here; the messages themselves are checked by sasl_session. A PLAIN token is answered
// by a deferred decision: its PBKDF2 runs off the connection's thread (authenticator.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <spdlog/logger.h>

#include "kafka/handlers/broker_context.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/wire.h"
#include "kafka/sasl/sasl_session.h"
#include "kafka/server/authenticator.h"

namespace chronik::kafka {

class sasl_gate : public authenticator {
 public:
  sasl_gate(const broker_context& ctx, std::shared_ptr<spdlog::logger> log);
  auth_decision on_frame(const client_info& client, frame_kind kind, std::string_view frame) override;

 private:
  auth_decision on_handshake(const client_info& client, const request_header& h, reader& body);
  auth_decision on_authenticate(const client_info& client, const request_header& h, reader& body);
  auth_decision on_raw_token(const client_info& client, std::string_view token);
  using step_result = std::expected<sasl::sasl_step, std::string>;
  // How a step's outcome is answered: a SaslAuthenticate response, or a raw token (v0 exchange).
  auth_decision answer_authenticate(const client_info& client, const request_header& h, step_result step);
  auth_decision answer_raw(const client_info& client, step_result step);
  // A PLAIN token: parsed and looked up now, checked on the auth worker, answered by `answer`.
  auth_decision defer_plain(std::string_view token, std::function<auth_decision(step_result)> answer);

  std::shared_ptr<spdlog::logger> log_;
  sasl::sasl_session session_;
  std::int16_t handshake_version_ = -1;  // -1: no handshake yet
};

}  // namespace chronik::kafka
