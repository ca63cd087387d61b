// The hash functions SCRAM is built from (RFC 5802 section 2.2: H, HMAC, Hi), for the two
// mechanisms Kafka defines (KIP-84): SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-512. The one file of
// kafka/sasl that calls OpenSSL; everything above it is plain byte strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chronik::kafka::sasl {

// The values are Kafka's mechanism type ids (ScramMechanism: 1 and 2), which
// Describe/AlterUserScramCredentials carry as INT8.
enum class scram_mechanism : std::uint8_t { sha_256 = 1, sha_512 = 2 };

// "SCRAM-SHA-256", "SCRAM-SHA-512".
std::string_view to_string(scram_mechanism m);
std::optional<scram_mechanism> scram_mechanism_named(std::string_view name);
std::optional<scram_mechanism> scram_mechanism_of_id(std::int64_t id);
// 32 or 64: the size of H's output, of StoredKey and of ServerKey.
std::size_t digest_bytes(scram_mechanism m);

// H(data).
std::string scram_hash(scram_mechanism m, std::string_view data);
// HMAC(key, data).
std::string scram_hmac(scram_mechanism m, std::string_view key, std::string_view data);
// Hi(password, salt, iterations): PBKDF2 with HMAC-H, one block of H's size (RFC 5802 section 2.2).
// `iterations` >= 1.
std::string scram_salted_password(scram_mechanism m, std::string_view password, std::string_view salt,
                                  std::uint32_t iterations);
// Equal in time that depends only on the sizes, so a proof check tells nothing by its timing.
bool constant_time_equal(std::string_view a, std::string_view b);
// `n` bytes from OpenSSL's CSPRNG (nonces, salts).
std::string random_bytes(std::size_t n);

}  // namespace chronik::kafka::sasl
