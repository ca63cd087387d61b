// AlterUserScramCredentials (key 51, v0; KIP-554): deletes and sets SCRAM credentials. The client
// sends SaltedPassword = Hi(password, salt, iterations) (RFC 5802), never the password; the
// handler derives StoredKey and ServerKey from it (kafka/sasl/scram_credential.h), and only those
// reach `__meta` (docs/security.md "Client authentication: SASL").
//
// One result per user, as Kafka's controller answers: a user whose part of the request is bad is
// refused whole and the others go on. The checks are Kafka's: an empty name and an iteration count
// outside 4096..16384 are UNACCEPTABLE_CREDENTIAL, an unknown mechanism UNSUPPORTED_SASL_MECHANISM,
// one (user, mechanism) named twice DUPLICATE_RESOURCE, and deleting a credential that does not
// exist RESOURCE_NOT_FOUND. Each remaining user becomes one `__meta` record, applied all or none.
//
// It needs ALTER on the cluster (Kafka's rule, KIP-554): without it every user is answered
// CLUSTER_AUTHORIZATION_FAILED and nothing changes. Otherwise any authenticated user could set the
// password of a super user and log in as one.
#include <chrono>
#include <map>
#include <set>
#include <string>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/scram_errors.h"
#include "kafka/protocol/messages/alter_user_scram_credentials.h"

namespace chronik::kafka {
namespace {

// Kafka's request has no timeout of its own; its controller answers within its request timeout.
constexpr std::chrono::milliseconds alter_timeout{30'000};

struct user_part {
  scram_alteration change;
  std::set<std::int8_t> mechanisms;
  error_code error = error_code::none;
  std::string message;
};

void refuse(user_part& p, error_code e, std::string message) {
  if (p.error != error_code::none) return;  // the first problem found is the one reported
  p.error = e;
  p.message = std::move(message);
}

// The user's entry, in order of first mention.
user_part& part_of(std::vector<user_part>& parts, const std::string& user) {
  for (auto& p : parts)
    if (p.change.user == user) return p;
  auto& p = parts.emplace_back();
  p.change.user = user;
  if (user.empty()) refuse(p, error_code::unacceptable_credential, "Username must not be empty");
  return p;
}

// The mechanism, or nullopt after recording why not; also catches one mechanism named twice.
std::optional<sasl::scram_mechanism> mechanism_of(user_part& p, std::int8_t id) {
  if (!p.mechanisms.insert(id).second) {
    refuse(p, error_code::duplicate_resource, "A user credential cannot be altered twice in the same request");
    return std::nullopt;
  }
  auto m = sasl::scram_mechanism_of_id(id);
  if (!m) refuse(p, error_code::unsupported_sasl_mechanism, "Unknown SCRAM mechanism");
  return m;
}

void add_upsertion(user_part& p, const scram_credential_upsertion& u) {
  auto m = mechanism_of(p, u.mechanism);
  if (!m) return;
  if (u.iterations < static_cast<std::int32_t>(sasl::scram_min_iterations)) {
    return refuse(p, error_code::unacceptable_credential, "Too few iterations");
  }
  if (u.iterations > static_cast<std::int32_t>(sasl::scram_max_iterations)) {
    return refuse(p, error_code::unacceptable_credential, "Too many iterations");
  }
  if (u.salt.empty() || u.salt.size() > sasl::scram_max_salt_bytes) {
    return refuse(p, error_code::unacceptable_credential,
                  "The salt must have 1 to " + std::to_string(sasl::scram_max_salt_bytes) + " bytes");
  }
  if (u.salted_password.size() != sasl::digest_bytes(*m)) {
    return refuse(p, error_code::unacceptable_credential,
                  "The salted password must have " + std::to_string(sasl::digest_bytes(*m)) + " bytes for " +
                      std::string(sasl::to_string(*m)));
  }
  p.change.upsertions.push_back(sasl::credential_from_salted_password(*m, u.salted_password, u.salt,
                                                                      static_cast<std::uint32_t>(u.iterations)));
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_alter_user_scram_credentials_request(body, version);
  if (!req) return out.close("AlterUserScramCredentials: " + describe(req.error()));
  std::vector<user_part> parts;
  for (const auto& d : req->deletions) {
    auto& p = part_of(parts, d.name);
    if (auto m = mechanism_of(p, d.mechanism)) p.change.deletions.push_back(*m);
  }
  for (const auto& u : req->upsertions) add_upsertion(part_of(parts, u.name), u);
  if (!authorized_on_cluster(ctx, out, acl::operation::alter)) {
    for (auto& p : parts) {
      p.error = error_code::cluster_authorization_failed;
      p.message = "Cluster authorization failed";
    }
  }

  std::vector<scram_alteration> wanted;
  std::vector<std::size_t> slot_of;  // wanted[i] answers parts[slot_of[i]]
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].error != error_code::none) continue;
    wanted.push_back(parts[i].change);
    slot_of.push_back(i);
  }
  auto finish = [parts = std::move(parts), slot_of, out, version](std::vector<scram_result> results) mutable {
    for (std::size_t i = 0; i < results.size() && i < slot_of.size(); ++i) {
      auto& p = parts[slot_of[i]];
      p.error = to_error_code(results[i].outcome);
      p.message = std::move(results[i].message);
    }
    alter_user_scram_credentials_response resp;
    for (auto& p : parts) {
      alter_user_scram_credentials_result r;
      r.user = p.change.user;
      r.error = p.error;
      if (p.error != error_code::none) r.error_message = std::move(p.message);
      resp.results.push_back(std::move(r));
    }
    writer w;
    encode_alter_user_scram_credentials_response(resp, version, w);
    out.respond(std::move(w));
  };
  if (wanted.empty()) return finish({});
  ctx.alter_scram_credentials(std::move(wanted), alter_timeout, std::move(finish));
}

}  // namespace

const api_handler alter_user_scram_credentials_handler{api_key::alter_user_scram_credentials,
                                                       alter_user_scram_credentials_versions, handle};

}  // namespace chronik::kafka
