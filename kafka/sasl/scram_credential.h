// A SCRAM credential as the server keeps it (RFC 5802 section 3): the salt, the iteration count,
// StoredKey = H(HMAC(SaltedPassword, "Client Key")) and ServerKey = HMAC(SaltedPassword, "Server
// Key"). Never the password, nor SaltedPassword: StoredKey checks a client's proof and ServerKey
// signs the server's answer, and neither lets anyone log in (a stolen StoredKey is not a proof).
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "kafka/sasl/scram_crypto.h"

namespace chronik::kafka::sasl {

// Kafka's bounds on the iteration count (ScramMechanism: 4096 minimum, RFC 7677's recommendation,
// and 16384 maximum, which bounds the work one login costs the broker).
inline constexpr std::uint32_t scram_min_iterations = 4096;
inline constexpr std::uint32_t scram_max_iterations = 16384;
// Salts longer than this are refused: Kafka's clients send 32 random bytes or fewer.
inline constexpr std::size_t scram_max_salt_bytes = 128;

struct scram_credential {
  scram_mechanism mechanism = scram_mechanism::sha_512;
  std::string salt;
  std::uint32_t iterations = scram_min_iterations;
  std::string stored_key;
  std::string server_key;
  bool operator==(const scram_credential&) const = default;
};

// The credential for SaltedPassword = Hi(password, salt, iterations), which Kafka's
// AlterUserScramCredentials carries already computed by the client.
scram_credential credential_from_salted_password(scram_mechanism m, std::string_view salted_password,
                                                 std::string salt, std::uint32_t iterations);
// The credential for `password`; `iterations` within the bounds above.
scram_credential make_credential(scram_mechanism m, std::string_view password, std::string salt,
                                 std::uint32_t iterations);
// Whether `password` is the one `c` was made from (SASL/PLAIN checks passwords this way, against
// the same store: docs/security.md "Client authentication: SASL"). Compared in constant time.
bool password_matches(const scram_credential& c, std::string_view password);
// Why `c` cannot be stored, or nothing: iterations out of bounds, empty or long salt, keys of the
// wrong size for the mechanism.
std::expected<void, std::string> check_credential(const scram_credential& c);

}  // namespace chronik::kafka::sasl
