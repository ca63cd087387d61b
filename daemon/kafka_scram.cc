// kafka_service's SASL and SCRAM calls (docs/security.md "Client authentication: SASL"): the
// mechanisms a SASL listener offers (sasl_enabled_mechanisms), credentials read from this node's
// `__meta` state, and AlterUserScramCredentials as one MetaAlterScramCredentials record per user,
// waiting on the same path as topic commands (propose_for, pending_, on_applied) with a hook that
// keeps the state machine's verdict. Kept apart from kafka_service.cc.
#include <memory>
#include <optional>
#include <utility>

#include "daemon/kafka_service.h"
#include "metadata/meta_commands.h"

namespace chronik::daemon {
namespace {

kafka::scram_outcome outcome_of(metadata::meta_errc e) {
  return e == metadata::meta_errc::unknown_scram_credential ? kafka::scram_outcome::unknown_credential
                                                             : kafka::scram_outcome::invalid;
}

std::string message_of(metadata::meta_errc e) {
  if (e == metadata::meta_errc::unknown_scram_credential) return "Attempt to delete a user credential that does not exist";
  return std::string(metadata::to_string(e));
}

}  // namespace

std::vector<kafka::sasl::sasl_mechanism> kafka_service::sasl_mechanisms() const { return cfg_.sasl_enabled_mechanisms; }

std::optional<kafka::sasl::scram_credential> kafka_service::scram_credential(std::string_view user,
                                                                             kafka::sasl::scram_mechanism m) const {
  const auto& users = meta_.state().scram_users();
  auto u = users.find(user);
  if (u == users.end()) return std::nullopt;
  auto c = u->second.find(static_cast<std::int8_t>(m));
  if (c == u->second.end()) return std::nullopt;
  return kafka::sasl::scram_credential{m, c->second.salt, c->second.iterations, c->second.stored_key, c->second.server_key};
}

std::vector<kafka::scram_user_info> kafka_service::scram_users() const {
  std::vector<kafka::scram_user_info> out;
  for (const auto& [user, creds] : meta_.state().scram_users()) {
    auto& u = out.emplace_back();
    u.user = user;
    for (const auto& [id, r] : creds) {
      auto m = kafka::sasl::scram_mechanism_of_id(id);
      if (m) u.credentials.push_back({*m, static_cast<std::int32_t>(r.iterations)});
    }
  }
  return out;
}

void kafka_service::alter_scram_credentials(std::vector<kafka::scram_alteration> users,
                                            std::chrono::milliseconds timeout, scram_done done) {
  using applied_result = std::expected<metadata::apply_result, metadata::meta_errc>;
  if (users.empty()) return done({});
  // What `__meta` said of each user's record, when it applied here before the deadline.
  auto verdicts = std::make_shared<std::vector<std::optional<applied_result>>>(users.size());
  auto req = std::make_shared<request_state>();
  req->results.resize(users.size());
  req->open = users.size();
  req->done = [verdicts, done = std::move(done)](std::vector<kafka::topic_result> results) {
    std::vector<kafka::scram_result> out(results.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
      const auto& v = (*verdicts)[i];
      if (v && *v) continue;  // applied: done
      if (v) {
        out[i] = {outcome_of(v->error()), message_of(v->error())};
      } else if (results[i].outcome == kafka::topic_outcome::timed_out) {
        out[i] = {kafka::scram_outcome::timed_out, results[i].message};
      } else {
        out[i] = {kafka::scram_outcome::not_controller, results[i].message};
      }
    }
    done(std::move(out));
  };
  for (std::size_t i = 0; i < users.size(); ++i) {
    const auto& u = users[i];
    std::vector<metadata::scram_record> upserts;
    for (const auto& c : u.upsertions) {
      upserts.push_back({static_cast<std::int8_t>(c.mechanism), c.salt, c.iterations, c.stored_key, c.server_key});
    }
    std::vector<std::int8_t> deletions;
    for (auto m : u.deletions) deletions.push_back(static_cast<std::int8_t>(m));
    propose_for(req, i, metadata::commands::alter_scram_credentials(u.user, upserts, deletions, random_()), timeout,
                [verdicts, i](const applied_result& r) { (*verdicts)[i] = r; });
  }
}

}  // namespace chronik::daemon
