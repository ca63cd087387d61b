#include "kafka/sasl/sasl_session.h"

#include <algorithm>

#include "kafka/sasl/base64.h"
#include "kafka/sasl/sasl_plain.h"

namespace chronik::kafka::sasl {
namespace {

constexpr std::string_view invalid_credentials = "authentication failed: invalid credentials";

scram_mechanism scram_of(sasl_mechanism m) {
  return m == sasl_mechanism::scram_sha_256 ? scram_mechanism::sha_256 : scram_mechanism::sha_512;
}

}  // namespace

std::string_view to_string(sasl_mechanism m) {
  switch (m) {
    case sasl_mechanism::plain: return "PLAIN";
    case sasl_mechanism::scram_sha_256: return "SCRAM-SHA-256";
    case sasl_mechanism::scram_sha_512: return "SCRAM-SHA-512";
  }
  return "UNKNOWN";
}

std::optional<sasl_mechanism> sasl_mechanism_named(std::string_view name) {
  for (auto m : {sasl_mechanism::plain, sasl_mechanism::scram_sha_256, sasl_mechanism::scram_sha_512}) {
    if (to_string(m) == name) return m;
  }
  return std::nullopt;
}

std::string random_nonce() { return base64_encode(random_bytes(24)); }

sasl_session::sasl_session(std::vector<sasl_mechanism> enabled, credential_lookup lookup, nonce_source nonce)
    : enabled_(std::move(enabled)), lookup_(std::move(lookup)), nonce_(std::move(nonce)) {}

std::vector<std::string> sasl_session::enabled_names() const {
  std::vector<std::string> out;
  for (auto m : enabled_) out.emplace_back(to_string(m));
  return out;
}

std::unexpected<std::string> sasl_session::fail(std::string why) {
  state_ = state::failed;
  scram_.reset();
  return std::unexpected(std::move(why));
}

std::expected<void, std::string> sasl_session::select(std::string_view mechanism) {
  if (state_ != state::choosing) return std::unexpected("a SASL mechanism was already chosen on this connection");
  const auto m = sasl_mechanism_named(mechanism);
  if (!m || std::ranges::find(enabled_, *m) == enabled_.end()) {
    std::string names;
    for (const auto& n : enabled_names()) names += (names.empty() ? "" : ", ") + n;
    return std::unexpected("unsupported SASL mechanism '" + std::string(mechanism.substr(0, 64)) + "'; enabled: " + names);
  }
  mechanism_ = *m;
  state_ = state::exchanging;
  return {};
}

std::expected<sasl_step, std::string> sasl_session::step(std::string_view token) {
  switch (state_) {
    case state::choosing: return fail("no SASL mechanism was chosen (SaslHandshake) before authentication");
    case state::authenticated: return fail("the connection is already authenticated");
    case state::failed: return std::unexpected("the SASL exchange already failed");
    case state::exchanging: break;
  }
  return mechanism_ == sasl_mechanism::plain ? step_plain(token) : step_scram(token);
}

std::expected<sasl_step, std::string> sasl_session::step_plain(std::string_view token) {
  auto msg = parse_plain(token);
  if (!msg) return fail(msg.error());
  // Either SCRAM credential will do: both come from the same password when the CLI creates a user.
  auto cred = lookup_(msg->user, scram_mechanism::sha_512);
  if (!cred) cred = lookup_(msg->user, scram_mechanism::sha_256);
  if (!cred || !password_matches(*cred, msg->password)) return fail(std::string(invalid_credentials));
  state_ = state::authenticated;
  return sasl_step{{}, std::move(msg->user)};
}

std::expected<sasl_step, std::string> sasl_session::step_scram(std::string_view token) {
  if (!scram_) {
    scram_ = std::make_unique<scram_server>(scram_of(mechanism_), nonce_());
    auto user = scram_->client_first(token);
    if (!user) return fail(user.error());
    auto cred = lookup_(*user, scram_of(mechanism_));
    if (!cred || cred->mechanism != scram_of(mechanism_) || !check_credential(*cred)) {
      return fail(std::string(invalid_credentials));
    }
    scram_user_ = std::move(*user);
    return sasl_step{scram_->server_first(*cred), std::nullopt};
  }
  auto final_message = scram_->client_final(token);
  if (!final_message) return fail(final_message.error());
  state_ = state::authenticated;
  scram_.reset();
  return sasl_step{std::move(*final_message), std::move(scram_user_)};
}

}  // namespace chronik::kafka::sasl
