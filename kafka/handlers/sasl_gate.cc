#include "kafka/handlers/sasl_gate.h"

#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/sasl_authenticate.h"
#include "kafka/protocol/messages/sasl_handshake.h"

namespace chronik::kafka {
namespace {

using action = auth_decision::action;

auth_decision close_now(std::string why) { return {action::close, handler_reply::close_connection(std::move(why)), {}, {}}; }

// The response header for `h` and the encoded body, as one reply.
handler_reply reply_of(const request_header& h, writer body) {
  writer head;
  encode_response_header(h.correlation_id, h.key, h.api_version, head);
  return handler_reply::respond(head.take(), body.take_chain());
}

std::string principal_of(const std::string& user) { return "User:" + user; }

}  // namespace

sasl_gate::sasl_gate(const broker_context& ctx, std::shared_ptr<spdlog::logger> log)
    : log_(std::move(log)),
      session_(ctx.sasl_mechanisms(), [&ctx](std::string_view user, sasl::scram_mechanism m) {
        return ctx.scram_credential(user, m);
      }) {}

auth_decision sasl_gate::on_frame(const client_info& client, frame_kind kind, std::string_view frame) {
  if (kind == frame_kind::sasl_token) return on_raw_token(client, frame);
  reader r(frame);
  auto header = decode_request_header(r);
  if (!header) return close_now("malformed request header before SASL authentication: " + describe(header.error()));
  switch (header->key) {
    case api_key::api_versions:
      // Allowed before the handshake only, as in Kafka; the dispatcher answers it.
      if (session_.mechanism_selected()) break;
      return {action::forward, handler_reply::no_response(), frame_kind::request, {}};
    case api_key::sasl_handshake: return on_handshake(client, *header, r);
    case api_key::sasl_authenticate: return on_authenticate(client, *header, r);
    default: break;
  }
  return close_now(std::string(to_string(header->key)) + " request before SASL authentication completed");
}

auth_decision sasl_gate::on_handshake(const client_info& client, const request_header& h, reader& body) {
  if (handshake_version_ >= 0) return close_now("a second SaslHandshake on one connection");
  if (!sasl_handshake_versions.contains(h.api_version)) {
    return close_now("SaslHandshake v" + std::to_string(h.api_version) + " is not supported");
  }
  auto req = decode_sasl_handshake_request(body, h.api_version);
  if (!req) return close_now("SaslHandshake: " + describe(req.error()));
  sasl_handshake_response resp;
  resp.mechanisms = session_.enabled_names();
  auto chosen = session_.select(req->mechanism);
  if (!chosen) {
    resp.error = error_code::unsupported_sasl_mechanism;
    log_->info("kafka: connection {} from {}: {}", client.connection_id, client.peer, chosen.error());
  }
  writer w;
  encode_sasl_handshake_response(resp, h.api_version, w);
  if (!chosen) return {action::close, reply_of(h, std::move(w)), frame_kind::request, {}};
  handshake_version_ = h.api_version;
  // After v0 the tokens come raw, without Kafka headers (KIP-43's original exchange).
  return {action::respond, reply_of(h, std::move(w)), h.api_version == 0 ? frame_kind::sasl_token : frame_kind::request, {}};
}

auth_decision sasl_gate::on_authenticate(const client_info& client, const request_header& h, reader& body) {
  if (handshake_version_ < 1) return close_now("SaslAuthenticate without a SaslHandshake v1 before it");
  if (!sasl_authenticate_versions.contains(h.api_version)) {
    return close_now("SaslAuthenticate v" + std::to_string(h.api_version) + " is not supported");
  }
  auto req = decode_sasl_authenticate_request(body, h.api_version);
  if (!req) return close_now("SaslAuthenticate: " + describe(req.error()));
  if (session_.plain_pending()) {
    return defer_plain(req->auth_bytes, [this, client, h](step_result step) { return answer_authenticate(client, h, std::move(step)); });
  }
  return answer_authenticate(client, h, session_.step(req->auth_bytes));
}

auth_decision sasl_gate::defer_plain(std::string_view token, std::function<auth_decision(step_result)> answer) {
  auto begun = session_.begin_plain(token);
  if (!begun) return answer(std::unexpected(begun.error()));
  auto check = std::make_shared<sasl::plain_check>(std::move(*begun));
  // The PBKDF2 runs on the auth worker with its own copy of the credential; the session is only
  // touched again by finish, back on the connection's thread (which reads no frame meanwhile).
  deferred_auth deferred{[check] { sasl::check_plain(*check); },
                         [this, check, answer = std::move(answer)] {
                           return answer(session_.finish_plain(std::move(*check)));
                         }};
  return {action::defer, handler_reply::no_response(), frame_kind::request, {}, std::move(deferred)};
}

auth_decision sasl_gate::answer_authenticate(const client_info& client, const request_header& h, step_result step) {
  sasl_authenticate_response resp;
  if (!step) {
    resp.error = error_code::sasl_authentication_failed;
    resp.error_message = "Authentication failed: " + step.error();
    log_->warn("kafka: connection {} from {}: SASL authentication failed: {}", client.connection_id, client.peer,
               step.error());
    writer w;
    encode_sasl_authenticate_response(resp, h.api_version, w);
    return {action::close, reply_of(h, std::move(w)), frame_kind::request, {}};
  }
  resp.auth_bytes = std::move(step->challenge);
  // 0: the broker does not ask for re-authentication (KIP-368).
  resp.session_lifetime_ms = 0;
  writer w;
  encode_sasl_authenticate_response(resp, h.api_version, w);
  auth_decision d{action::respond, reply_of(h, std::move(w)), frame_kind::request, {}};
  if (step->authenticated_user) d.principal = principal_of(*step->authenticated_user);
  return d;
}

auth_decision sasl_gate::on_raw_token(const client_info& client, std::string_view token) {
  if (session_.plain_pending()) {
    return defer_plain(token, [this, client](step_result step) { return answer_raw(client, std::move(step)); });
  }
  return answer_raw(client, session_.step(token));
}

auth_decision sasl_gate::answer_raw(const client_info& client, step_result step) {
  if (!step) {
    // The legacy exchange has no way to say why: Kafka closes the connection, and so do we.
    log_->warn("kafka: connection {} from {}: SASL authentication failed: {}", client.connection_id, client.peer,
               step.error());
    return close_now("SASL authentication failed");
  }
  // The server's token goes back raw (for PLAIN an empty one, which kafka-python waits for).
  auth_decision d{action::respond, handler_reply::respond({}, byte_chain(std::move(step->challenge))),
                  frame_kind::sasl_token, {}};
  if (step->authenticated_user) {
    d.principal = principal_of(*step->authenticated_user);
    d.next = frame_kind::request;
  }
  return d;
}

}  // namespace chronik::kafka
