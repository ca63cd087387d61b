// DeleteAcls (key 31), versions 0-3: removes every ACL binding each filter matches, once the asker
// may ALTER the CLUSTER (Kafka's rule). After a catch-up, the filters are resolved against this
// broker's view into the exact bindings to remove, and one `__meta` record removes them all, as
// Kafka's controller resolves filters into removal records. Each filter is answered in order with
// the bindings it matched, or INVALID_REQUEST when it is out of shape. v0 filters are LITERAL.
#include <set>

#include "kafka/handlers/acl_wire.h"
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/delete_acls.h"

namespace chronik::kafka {
namespace {

delete_acls_matching_acl matching(const acl::binding& b) {
  delete_acls_matching_acl m;
  m.resource_type = code_of(b.type);
  m.resource_name = b.name;
  m.pattern_type = code_of(b.pattern);
  m.principal = b.principal;
  m.host = b.host;
  m.operation = code_of(b.op);
  m.permission_type = code_of(b.perm);
  return m;
}

struct delete_state {
  delete_acls_response resp;
  std::vector<std::optional<acl::binding_filter>> filters;  // nullopt: refused as INVALID_REQUEST
  responder out;
  explicit delete_state(responder r) : out(std::move(r)) {}

  void answer() const {
    writer w;
    encode_delete_acls_response(resp, out.header().api_version, w);
    out.respond(std::move(w));
  }
};

void resolve(broker_context& ctx, const std::shared_ptr<delete_state>& st) {
  std::set<acl::binding> doomed;
  for (std::size_t i = 0; i < st->filters.size(); ++i) {
    if (!st->filters[i]) continue;
    for (const auto& b : ctx.authorizer().bindings()) {
      if (!acl::matches(*st->filters[i], b)) continue;
      st->resp.filter_results[i].matching_acls.push_back(matching(b));
      doomed.insert(b);
    }
  }
  if (doomed.empty()) return st->answer();
  ctx.delete_acls(std::vector<acl::binding>(doomed.begin(), doomed.end()), acl_change_timeout,
                  [st](acl_outcome outcome, std::string message) {
                    if (outcome != acl_outcome::done) {
                      for (std::size_t i = 0; i < st->filters.size(); ++i) {
                        if (!st->filters[i]) continue;
                        auto& r = st->resp.filter_results[i];
                        r.error = to_error_code(outcome);
                        if (!message.empty()) r.error_message = message;
                        r.matching_acls.clear();
                      }
                    }
                    st->answer();
                  });
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  auto req = decode_delete_acls_request(body, out.header().api_version);
  if (!req) return out.close("DeleteAcls: " + describe(req.error()));
  auto st = std::make_shared<delete_state>(out);
  st->resp.filter_results.resize(req->filters.size());
  if (!authorized_on_cluster(ctx, out, acl::operation::alter)) {
    for (auto& r : st->resp.filter_results) r.error = error_code::cluster_authorization_failed;
    return st->answer();
  }
  for (std::size_t i = 0; i < req->filters.size(); ++i) {
    auto& f = req->filters[i];
    auto filter = filter_of(f.resource_type_filter, std::move(f.resource_name_filter), f.pattern_type_filter,
                            std::move(f.principal_filter), std::move(f.host_filter), f.operation, f.permission_type);
    if (!filter) {
      st->resp.filter_results[i].error = error_code::invalid_request;
      st->resp.filter_results[i].error_message = filter.error();
      st->filters.emplace_back();
      continue;
    }
    st->filters.emplace_back(std::move(*filter));
  }
  ctx.catch_up([&ctx, st] { resolve(ctx, st); });
}

}  // namespace

const api_handler delete_acls_handler{api_key::delete_acls, delete_acls_versions, handle};

}  // namespace chronik::kafka
