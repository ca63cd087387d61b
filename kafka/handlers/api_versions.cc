// ApiVersions (key 18): the versions of every API this broker handles, from the handlers' own
// declarations, so what is advertised is exactly what is dispatched; from v4, the Kafka features
// (KIP-584) and the levels chronik supports (docs/kafka.md "Features").
#include <array>
#include <string_view>

#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/api_versions.h"

namespace chronik::kafka {
namespace {

// Kafka 4's production features a client may look at, each supported at level 0 only: chronik has
// none of what their higher levels turn on (KIP-848's consumer groups, KIP-890's second
// transaction protocol, KIP-853's voter changes through the Kafka API, eligible leader replicas,
// share groups, KIP-1071's streams groups). Listing them, rather than nothing, tells a client and
// `kafka-features describe` so. A feature at level 0 is off, and Kafka finalizes only levels above
// 0, so `finalized_features` stays empty. `metadata.version` is left out: it versions KRaft's
// metadata records, which chronik does not have.
constexpr std::array<std::string_view, 6> level_zero_features{
    "eligible.leader.replicas.version", "group.version", "kraft.version",
    "share.version", "streams.version", "transaction.version"};

// The first version whose clients accept a supported range starting at 0 (KAFKA-17011).
constexpr std::int16_t features_from_version = 4;

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
  if (version >= features_from_version) {
    for (const auto name : level_zero_features) resp.supported_features.push_back({std::string(name), 0, 0});
  }
  writer w;
  encode_api_versions_response(resp, version, w);
  out.respond(std::move(w));
}

}  // namespace

const api_handler api_versions_handler{api_key::api_versions, {0, 4}, handle};

}  // namespace chronik::kafka
