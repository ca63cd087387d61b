// DescribeCluster (key 60, KIP-700): the brokers, the controller (the `__meta` leader) and the
// cluster id, as Metadata reports them. Admin clients use it instead of Metadata to describe the
// cluster. Every chronik node is both broker and controller, so the controllers asked for by v1's
// endpoint type 2 (KIP-919) are the `__meta` voters' brokers; a fenced broker (v2) is one whose
// storage failed, which chronik reports offline rather than listing it.
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/listener_endpoints.h"
#include "kafka/protocol/messages/describe_cluster.h"

namespace chronik::kafka {
namespace {

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_describe_cluster_request(body, version);
  if (!req) {
    out.close("DescribeCluster: " + describe(req.error()));
    return;
  }
  describe_cluster_response resp;
  if (auto id = ctx.cluster_id()) {
    resp.cluster_id = std::move(*id);
  } else {
    // Before `__meta` has formed there is no cluster to describe yet; the client retries.
    resp.error = error_code::coordinator_not_available;
    resp.error_message = "the cluster has not formed yet";
  }
  resp.controller_id = kafka_id(ctx.controller_id());
  if (req->endpoint_type != 1 && req->endpoint_type != 2) {
    resp.error = error_code::unsupported_endpoint_type;
    resp.error_message = "endpoint type " + std::to_string(req->endpoint_type) + " is neither brokers (1) nor controllers (2)";
  } else {
    resp.endpoint_type = req->endpoint_type;
    for (const auto& b : on_listener(ctx.brokers(), out.listener())) {
      resp.brokers.push_back({kafka_id(b.id), b.host, b.port, b.rack, false});
    }
  }
  // No authorizer: the operations are not computed (INT32_MIN, KIP-430), whatever was asked.
  if (!authorized_on_cluster(ctx, out, acl::operation::describe)) {  // DESCRIBE on the cluster (Kafka's rule)
    resp = describe_cluster_response{};
    resp.error = error_code::cluster_authorization_failed;
  }
  writer w;
  encode_describe_cluster_response(resp, version, w);
  out.respond(std::move(w));
}

}  // namespace

const api_handler describe_cluster_handler{api_key::describe_cluster, describe_cluster_versions, handle};

}  // namespace chronik::kafka
