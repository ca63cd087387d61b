#include "kafka/sasl/scram_crypto.h"

#include <climits>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/assert.h"

namespace chronik::kafka::sasl {
namespace {

const EVP_MD* digest_of(scram_mechanism m) { return m == scram_mechanism::sha_256 ? EVP_sha256() : EVP_sha512(); }

int int_size(std::size_t n) {
  CHRONIK_EXPECTS(n <= static_cast<std::size_t>(INT_MAX), "SCRAM inputs are bounded by the frame size");
  return static_cast<int>(n);
}

}  // namespace

std::string_view to_string(scram_mechanism m) {
  return m == scram_mechanism::sha_256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
}

std::optional<scram_mechanism> scram_mechanism_named(std::string_view name) {
  if (name == "SCRAM-SHA-256") return scram_mechanism::sha_256;
  if (name == "SCRAM-SHA-512") return scram_mechanism::sha_512;
  return std::nullopt;
}

std::optional<scram_mechanism> scram_mechanism_of_id(std::int64_t id) {
  if (id == 1) return scram_mechanism::sha_256;
  if (id == 2) return scram_mechanism::sha_512;
  return std::nullopt;
}

std::size_t digest_bytes(scram_mechanism m) { return m == scram_mechanism::sha_256 ? 32 : 64; }

std::string scram_hash(scram_mechanism m, std::string_view data) {
  std::string out(digest_bytes(m), '\0');
  unsigned int n = 0;
  const int ok = EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &n, digest_of(m), nullptr);
  CHRONIK_ASSERT(ok == 1 && n == out.size(), "OpenSSL digests a byte string");
  return out;
}

std::string scram_hmac(scram_mechanism m, std::string_view key, std::string_view data) {
  std::string out(digest_bytes(m), '\0');
  unsigned int n = 0;
  const unsigned char* r = HMAC(digest_of(m), key.data(), int_size(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
                                data.size(), reinterpret_cast<unsigned char*>(out.data()), &n);
  CHRONIK_ASSERT(r != nullptr && n == out.size(), "OpenSSL computes an HMAC");
  return out;
}

std::string scram_salted_password(scram_mechanism m, std::string_view password, std::string_view salt,
                                  std::uint32_t iterations) {
  CHRONIK_EXPECTS(iterations >= 1 && iterations <= static_cast<std::uint32_t>(INT_MAX), "Hi needs at least one iteration");
  std::string out(digest_bytes(m), '\0');
  const int ok = PKCS5_PBKDF2_HMAC(password.data(), int_size(password.size()),
                                   reinterpret_cast<const unsigned char*>(salt.data()), int_size(salt.size()),
                                   static_cast<int>(iterations), digest_of(m), int_size(out.size()),
                                   reinterpret_cast<unsigned char*>(out.data()));
  CHRONIK_ASSERT(ok == 1, "OpenSSL runs PBKDF2");
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  const int ok = RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), int_size(n));
  CHRONIK_ASSERT(ok == 1, "OpenSSL's random generator is seeded");
  return out;
}

}  // namespace chronik::kafka::sasl
