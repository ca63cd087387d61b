// DescribeAcls (key 29), versions 0-3: the ACL bindings a filter matches (acl::matches), grouped by
// resource pattern, once the asker may DESCRIBE the CLUSTER (Kafka's rule). The answer reads this
// broker's `__meta` view after a catch-up, so a binding created through any broker before the
// request is listed. v0 has no pattern type: its filter is LITERAL, as in Kafka.
#include <map>
#include <tuple>

#include "kafka/handlers/acl_wire.h"
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/describe_acls.h"

namespace chronik::kafka {
namespace {

void answer(const broker_context& ctx, const acl::binding_filter& f, const responder& out) {
  describe_acls_response resp;
  // Bindings are ordered by resource type, then name, then pattern type (acl::binding's order),
  // so one pass groups them.
  for (const auto& b : ctx.authorizer().bindings()) {
    if (!acl::matches(f, b)) continue;
    if (resp.resources.empty() || resp.resources.back().resource_type != code_of(b.type) ||
        resp.resources.back().resource_name != b.name || resp.resources.back().pattern_type != code_of(b.pattern)) {
      resp.resources.push_back({code_of(b.type), b.name, code_of(b.pattern), {}});
    }
    resp.resources.back().acls.push_back({b.principal, b.host, code_of(b.op), code_of(b.perm)});
  }
  writer w;
  encode_describe_acls_response(resp, out.header().api_version, w);
  out.respond(std::move(w));
}

void refuse(const responder& out, error_code e, std::string message) {
  describe_acls_response resp;
  resp.error = e;
  if (!message.empty()) resp.error_message = std::move(message);
  writer w;
  encode_describe_acls_response(resp, out.header().api_version, w);
  out.respond(std::move(w));
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  auto req = decode_describe_acls_request(body, out.header().api_version);
  if (!req) return out.close("DescribeAcls: " + describe(req.error()));
  if (!authorized_on_cluster(ctx, out, acl::operation::describe)) {
    return refuse(out, error_code::cluster_authorization_failed, {});
  }
  auto f = filter_of(req->resource_type_filter, std::move(req->resource_name_filter), req->pattern_type_filter,
                     std::move(req->principal_filter), std::move(req->host_filter), req->operation,
                     req->permission_type);
  if (!f) return refuse(out, error_code::invalid_request, f.error());
  ctx.catch_up([&ctx, f = std::move(*f), out] { answer(ctx, f, out); });
}

}  // namespace

const api_handler describe_acls_handler{api_key::describe_acls, describe_acls_versions, handle};

}  // namespace chronik::kafka
