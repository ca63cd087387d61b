// CreateAcls (key 30), versions 0-3: adds ACL bindings, as one `__meta` record, once the asker
// may ALTER the CLUSTER (Kafka's rule). Each creation is answered in order: INVALID_REQUEST for
// one out of shape (acl_wire.h), else the record's outcome, which every valid creation shares.
// v0 has no pattern type: its bindings are LITERAL.
#include "kafka/handlers/acl_wire.h"
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/create_acls.h"

namespace chronik::kafka {
namespace {

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_create_acls_request(body, version);
  if (!req) return out.close("CreateAcls: " + describe(req.error()));

  auto resp = std::make_shared<create_acls_response>();
  resp->results.resize(req->creations.size());
  const auto answer = [out, version, resp] {
    writer w;
    encode_create_acls_response(*resp, version, w);
    out.respond(std::move(w));
  };
  if (!authorized_on_cluster(ctx, out, acl::operation::alter)) {
    for (auto& r : resp->results) r.error = error_code::cluster_authorization_failed;
    return answer();
  }
  std::vector<acl::binding> bindings;
  std::vector<std::size_t> slots;  // the creation each binding answers
  for (std::size_t i = 0; i < req->creations.size(); ++i) {
    auto& c = req->creations[i];
    auto b = binding_of(c.resource_type, std::move(c.resource_name), c.resource_pattern_type, std::move(c.principal),
                        std::move(c.host), c.operation, c.permission_type);
    if (!b) {
      resp->results[i].error = error_code::invalid_request;
      resp->results[i].error_message = b.error();
      continue;
    }
    bindings.push_back(std::move(*b));
    slots.push_back(i);
  }
  if (bindings.empty()) return answer();
  ctx.create_acls(std::move(bindings), acl_change_timeout,
                  [resp, slots = std::move(slots), answer](acl_outcome outcome, std::string message) {
                    for (std::size_t i : slots) {
                      resp->results[i].error = to_error_code(outcome);
                      if (outcome != acl_outcome::done && !message.empty()) resp->results[i].error_message = message;
                    }
                    answer();
                  });
}

}  // namespace

const api_handler create_acls_handler{api_key::create_acls, create_acls_versions, handle};

}  // namespace chronik::kafka
