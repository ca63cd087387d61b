// DescribeUserScramCredentials (key 50, v0; KIP-554): which SCRAM mechanisms each user has a
// credential for, with the iteration count; never the salt or the keys. A null or empty list
// describes every user. As Kafka does, a user named twice is answered once with
// DUPLICATE_RESOURCE, and a user without credentials with RESOURCE_NOT_FOUND.
//
// Answered from this node's `__meta` state after catch_up(), so a user created through another
// broker a moment ago is listed (`chronik-server user list` relies on it).
//
// It needs DESCRIBE on the cluster (Kafka's rule, KIP-554); without it the whole request is
// answered CLUSTER_AUTHORIZATION_FAILED with no user, so the user names stay unknown.
#include <map>
#include <set>
#include <string>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/describe_user_scram_credentials.h"

namespace chronik::kafka {
namespace {

user_scram_credentials_result described(const scram_user_info& u) {
  user_scram_credentials_result r;
  r.user = u.user;
  for (const auto& c : u.credentials) {
    r.credential_infos.push_back({static_cast<std::int8_t>(c.mechanism), c.iterations});
  }
  return r;
}

describe_user_scram_credentials_response answer(const std::vector<scram_user_info>& users,
                                                const describe_user_scram_credentials_request& req) {
  describe_user_scram_credentials_response resp;
  if (!req.users || req.users->empty()) {
    for (const auto& u : users) resp.results.push_back(described(u));
    return resp;
  }
  std::map<std::string, std::size_t, std::less<>> asked;
  for (const auto& n : *req.users) ++asked[n.name];
  std::set<std::string, std::less<>> answered;
  for (const auto& n : *req.users) {
    if (!answered.insert(n.name).second) continue;
    user_scram_credentials_result r;
    r.user = n.name;
    if (asked[n.name] > 1) {
      r.error = error_code::duplicate_resource;
      r.error_message = "Cannot describe SCRAM credentials for the same user twice in a single request: " + n.name;
    } else if (auto it = std::ranges::find(users, n.name, &scram_user_info::user); it != users.end()) {
      r = described(*it);
    } else {
      r.error = error_code::resource_not_found;
      r.error_message = "Attempt to describe a user credential that does not exist: " + n.name;
    }
    resp.results.push_back(std::move(r));
  }
  return resp;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_describe_user_scram_credentials_request(body, version);
  if (!req) return out.close("DescribeUserScramCredentials: " + describe(req.error()));
  if (!authorized_on_cluster(ctx, out, acl::operation::describe)) {
    describe_user_scram_credentials_response refused;
    refused.error = error_code::cluster_authorization_failed;
    refused.error_message = "Cluster authorization failed";
    writer w;
    encode_describe_user_scram_credentials_response(refused, version, w);
    return out.respond(std::move(w));
  }
  ctx.catch_up([&ctx, req = std::move(*req), out, version] {
    writer w;
    encode_describe_user_scram_credentials_response(answer(ctx.scram_users(), req), version, w);
    out.respond(std::move(w));
  });
}

}  // namespace

const api_handler describe_user_scram_credentials_handler{
    api_key::describe_user_scram_credentials, describe_user_scram_credentials_versions, handle};

}  // namespace chronik::kafka
