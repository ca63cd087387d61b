#include "kafka/sasl/scram_credential.h"

#include "base/assert.h"

namespace chronik::kafka::sasl {

scram_credential credential_from_salted_password(scram_mechanism m, std::string_view salted_password,
                                                 std::string salt, std::uint32_t iterations) {
  scram_credential c;
  c.mechanism = m;
  c.salt = std::move(salt);
  c.iterations = iterations;
  c.stored_key = scram_hash(m, scram_hmac(m, salted_password, "Client Key"));
  c.server_key = scram_hmac(m, salted_password, "Server Key");
  return c;
}

scram_credential make_credential(scram_mechanism m, std::string_view password, std::string salt,
                                 std::uint32_t iterations) {
  CHRONIK_EXPECTS(iterations >= scram_min_iterations && iterations <= scram_max_iterations,
                  "the iteration count is within Kafka's bounds");
  const std::string salted = scram_salted_password(m, password, salt, iterations);
  return credential_from_salted_password(m, salted, std::move(salt), iterations);
}

bool password_matches(const scram_credential& c, std::string_view password) {
  // A stored credential passed check_credential; a corrupt one matches no password rather than
  // costing an unbounded PBKDF2.
  if (!check_credential(c)) return false;
  const std::string salted = scram_salted_password(c.mechanism, password, c.salt, c.iterations);
  const scram_credential mine = credential_from_salted_password(c.mechanism, salted, c.salt, c.iterations);
  // Both keys: each is a one-way function of the password, and checking both costs one compare more.
  const bool stored = constant_time_equal(mine.stored_key, c.stored_key);
  const bool server = constant_time_equal(mine.server_key, c.server_key);
  return stored && server;
}

std::expected<void, std::string> check_credential(const scram_credential& c) {
  if (c.iterations < scram_min_iterations) {
    return std::unexpected("too few iterations: at least " + std::to_string(scram_min_iterations));
  }
  if (c.iterations > scram_max_iterations) {
    return std::unexpected("too many iterations: at most " + std::to_string(scram_max_iterations));
  }
  if (c.salt.empty() || c.salt.size() > scram_max_salt_bytes) {
    return std::unexpected("the salt must have 1 to " + std::to_string(scram_max_salt_bytes) + " bytes");
  }
  const std::size_t n = digest_bytes(c.mechanism);
  if (c.stored_key.size() != n || c.server_key.size() != n) {
    return std::unexpected("stored and server keys must have " + std::to_string(n) + " bytes");
  }
  return {};
}

}  // namespace chronik::kafka::sasl
