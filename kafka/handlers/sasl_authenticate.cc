// SaslAuthenticate (key 36, v0-2; KIP-152) as the dispatcher sees it: on a SASL listener the
// exchange is over before any request reaches the dispatcher (sasl_gate.cc), so this one comes
// from an authenticated connection (chronik does not re-authenticate, KIP-368: the session
// lifetime it reports is 0) or a listener without SASL. Kafka answers ILLEGAL_SASL_STATE.
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/sasl_authenticate.h"

namespace chronik::kafka {
namespace {

void handle(broker_context&, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_sasl_authenticate_request(body, version);
  if (!req) return out.close("SaslAuthenticate: " + describe(req.error()));
  sasl_authenticate_response resp;
  resp.error = error_code::illegal_sasl_state;
  resp.error_message = "SaslAuthenticate is not expected on this connection: it is authenticated already or its listener has no SASL";
  writer w;
  encode_sasl_authenticate_response(resp, version, w);
  out.respond(std::move(w));
}

}  // namespace

const api_handler sasl_authenticate_handler{api_key::sasl_authenticate, sasl_authenticate_versions, handle};

}  // namespace chronik::kafka
