// SaslHandshake (key 17, v0-1; KIP-43) as the dispatcher sees it. On a SASL listener the
// handshake is over before any request reaches the dispatcher (sasl_gate.cc runs it), so a
// SaslHandshake here comes from a connection that is authenticated already or on a listener
// without SASL; Kafka answers both with ILLEGAL_SASL_STATE, and so does chronik. ApiVersions
// advertises the versions below, which are the ones the gate speaks.
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/sasl_handshake.h"

namespace chronik::kafka {
namespace {

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_sasl_handshake_request(body, version);
  if (!req) return out.close("SaslHandshake: " + describe(req.error()));
  sasl_handshake_response resp;
  resp.error = error_code::illegal_sasl_state;
  for (auto m : ctx.sasl_mechanisms()) resp.mechanisms.emplace_back(sasl::to_string(m));
  writer w;
  encode_sasl_handshake_response(resp, version, w);
  out.respond(std::move(w));
}

}  // namespace

const api_handler sasl_handshake_handler{api_key::sasl_handshake, sasl_handshake_versions, handle};

}  // namespace chronik::kafka
