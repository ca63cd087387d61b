#include "kafka/sasl/sasl_session.h"

#include <algorithm>

#include "kafka/sasl/base64.h"
#include "kafka/sasl/sasl_plain.h"

namespace chronik::kafka::sasl {
namespace {

constexpr std::string_view invalid_credentials = "authentication failed: invalid credentials";

// What PLAIN checks an unknown user's password against, so that the login costs the same PBKDF2
// as a known user's with default iterations (`chronik-server user create` and Kafka's clients use
// 4096): the time of a failure does not tell whether the user exists. The stored key matches no
// password (it is not even the size of a SHA-512 digest).
const scram_credential& stand_in_credential() {
  static const scram_credential c{scram_mechanism::sha_512, "chronik-unknown-user-salt", scram_min_iterations,
                                  "no-user", "no-user"};
  return c;
}

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
  if (mechanism_ != sasl_mechanism::plain) return step_scram(token);
  auto check = begin_plain(token);
  if (!check) return std::unexpected(check.error());
  check_plain(*check);
  return finish_plain(std::move(*check));
}

void check_plain(plain_check& check) {
  check.password_matches = password_matches(check.credential, check.password) && check.known_user;
}

std::expected<plain_check, std::string> sasl_session::begin_plain(std::string_view token) {
  if (!plain_pending() || plain_begun_) return fail("no PLAIN login is expected now");
  auto msg = parse_plain(token);
  if (!msg) return fail(msg.error());
  // Either SCRAM credential will do: both come from the same password when the CLI creates a user.
  auto cred = lookup_(msg->user, scram_mechanism::sha_512);
  if (!cred) cred = lookup_(msg->user, scram_mechanism::sha_256);
  plain_begun_ = true;
  const bool known = cred.has_value();
  return plain_check{std::move(msg->user), std::move(msg->password), known ? std::move(*cred) : stand_in_credential(),
                     known, false};
}

std::expected<sasl_step, std::string> sasl_session::finish_plain(plain_check&& check) {
  if (!plain_pending() || !plain_begun_) return fail("no PLAIN login was begun");
  plain_begun_ = false;
  if (!check.password_matches) return fail(std::string(invalid_credentials));
  state_ = state::authenticated;
  return sasl_step{{}, std::move(check.user)};
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
