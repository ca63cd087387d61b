// ApiVersions (key 18): the versions of every API this broker handles, from the handlers' own
// declarations, so what is advertised is exactly what is dispatched.
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/api_versions.h"

namespace chronik::kafka {
namespace {

void handle(broker_context&, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  // The request body is read only to reject garbage; its fields (client name and version, v3)
  // change nothing in the answer.
  if (auto req = decode_api_versions_request(body, version); !req) {
    out.close("ApiVersions: " + describe(req.error()));
    return;
  }
  api_versions_response resp;
  for (const auto& h : all_handlers()) resp.api_keys.push_back({h.key, h.versions.min, h.versions.max});
  writer w;
  encode_api_versions_response(resp, version, w);
  out.respond(std::move(w));
}

}  // namespace

const api_handler api_versions_handler{api_key::api_versions, {0, 3}, handle};

}  // namespace chronik::kafka
