// AES-256-GCM sealing for gossip (see keyring.h), on OpenSSL's EVP interface.
#include "gossip/keyring/keyring.h"

#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <memory>

#include "base/assert.h"

namespace chronik::gossip {
namespace {

struct ctx_deleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, ctx_deleter>;

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// The additional authenticated data: the version byte, then the label. Binding the version means
// a future format cannot be confused with this one; binding the label keeps clusters apart.
std::string aad_of(std::string_view label) {
  std::string aad(1, static_cast<char>(sealed_version));
  aad.append(label);
  return aad;
}

int int_size(std::size_t n) {
  CHRONIK_EXPECTS(n <= static_cast<std::size_t>(INT_MAX), "gossip message larger than INT_MAX");
  return static_cast<int>(n);
}

// One GCM decryption attempt with one key; false when the tag does not verify.
bool open_with(const gossip_key& key, std::string_view sealed, const std::string& aad, std::string& out) {
  cipher_ctx ctx(EVP_CIPHER_CTX_new());
  CHRONIK_ASSERT(ctx != nullptr, "EVP_CIPHER_CTX_new failed");
  const auto* nonce = bytes(sealed.substr(1, nonce_bytes));
  const std::string_view body = sealed.substr(1 + nonce_bytes, sealed.size() - sealed_overhead);
  std::string tag(sealed.substr(sealed.size() - tag_bytes));
  out.assign(body.size(), '\0');
  int len = 0;
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  const bool ok =
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(aad), int_size(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), dst, &len, bytes(body), int_size(body.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes), tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), dst + len, &len) == 1;
  return ok;
}

}  // namespace

std::string_view to_string(keyring_errc code) {
  switch (code) {
    case keyring_errc::bad_key: return "bad_key";
    case keyring_errc::unknown_key: return "unknown_key";
    case keyring_errc::remove_primary: return "remove_primary";
    case keyring_errc::full: return "full";
    case keyring_errc::too_short: return "too_short";
    case keyring_errc::not_sealed: return "not_sealed";
    case keyring_errc::auth_failed: return "auth_failed";
  }
  return "unknown";
}

std::expected<void, keyring_errc> keyring::install(const gossip_key& key) {
  if (std::ranges::find(keys_, key) != keys_.end()) return {};
  if (keys_.size() >= max_keyring_keys) return std::unexpected(keyring_errc::full);
  keys_.push_back(key);
  return {};
}

std::expected<void, keyring_errc> keyring::use(const gossip_key& key) {
  auto it = std::ranges::find(keys_, key);
  if (it == keys_.end()) return std::unexpected(keyring_errc::unknown_key);
  std::rotate(keys_.begin(), it, it + 1);  // the others keep their order
  return {};
}

std::expected<void, keyring_errc> keyring::remove(const gossip_key& key) {
  auto it = std::ranges::find(keys_, key);
  if (it == keys_.end()) return std::unexpected(keyring_errc::unknown_key);
  if (it == keys_.begin()) return std::unexpected(keyring_errc::remove_primary);
  keys_.erase(it);
  return {};
}

std::string keyring::seal(std::string_view plaintext, const gossip_nonce& nonce, std::string_view label) const {
  const std::string aad = aad_of(label);
  std::string out;
  out.resize(sealed_overhead + plaintext.size());
  out[0] = static_cast<char>(sealed_version);
  std::copy(nonce.begin(), nonce.end(), out.begin() + 1);
  auto* dst = reinterpret_cast<unsigned char*>(out.data()) + 1 + nonce_bytes;
  cipher_ctx ctx(EVP_CIPHER_CTX_new());
  CHRONIK_ASSERT(ctx != nullptr, "EVP_CIPHER_CTX_new failed");
  int len = 0, tail = 0;
  const bool ok =
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, primary().data(), nonce.data()) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(aad), int_size(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), dst, &len, bytes(plaintext), int_size(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), dst + len, &tail) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_bytes),
                          dst + plaintext.size()) == 1;
  // GCM encryption with a valid key cannot fail short of memory exhaustion.
  CHRONIK_ASSERT(ok && static_cast<std::size_t>(len + tail) == plaintext.size(), "AES-GCM seal failed");
  return out;
}

std::expected<std::string, keyring_errc> keyring::open(std::string_view sealed, std::string_view label) const {
  if (sealed.empty() || static_cast<std::uint8_t>(sealed[0]) != sealed_version) {
    return std::unexpected(keyring_errc::not_sealed);
  }
  if (sealed.size() < sealed_overhead) return std::unexpected(keyring_errc::too_short);
  const std::string aad = aad_of(label);
  std::string out;
  // Bounded by max_keyring_keys; memberlist likewise tries every key in turn.
  for (const auto& key : keys_) {
    if (open_with(key, sealed, aad, out)) return out;
  }
  return std::unexpected(keyring_errc::auth_failed);
}

std::string keyring::to_text() const {
  std::string out;
  for (const auto& key : keys_) out += key_to_base64(key) + "\n";
  return out;
}

std::expected<keyring, keyring_errc> keyring::from_text(std::string_view text) {
  std::vector<gossip_key> keys;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty()) continue;
    if (keys.size() >= max_keyring_keys) return std::unexpected(keyring_errc::full);
    auto key = key_from_base64(line);
    if (!key) return std::unexpected(key.error());
    keys.push_back(*key);
  }
  if (keys.empty()) return std::unexpected(keyring_errc::bad_key);
  keyring ring(keys.front());
  for (std::size_t i = 1; i < keys.size(); ++i) {
    if (auto r = ring.install(keys[i]); !r) return std::unexpected(r.error());
  }
  return ring;
}

std::string key_to_base64(const gossip_key& key) {
  std::string out(4 * ((key_bytes + 2) / 3) + 1, '\0');  // EVP_EncodeBlock adds a NUL
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), key.data(), static_cast<int>(key_bytes));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::expected<gossip_key, keyring_errc> key_from_base64(std::string_view text) {
  // 32 bytes are exactly 44 base64 characters with one '=' of padding.
  constexpr std::size_t encoded = 4 * ((key_bytes + 2) / 3);
  if (text.size() != encoded || text[encoded - 1] != '=' || text[encoded - 2] == '=') {
    return std::unexpected(keyring_errc::bad_key);
  }
  std::array<unsigned char, encoded / 4 * 3> raw{};
  // EVP_DecodeBlock rejects characters outside the alphabet; it counts padding as zero bytes.
  if (EVP_DecodeBlock(raw.data(), bytes(text), static_cast<int>(text.size())) != static_cast<int>(raw.size())) {
    return std::unexpected(keyring_errc::bad_key);
  }
  gossip_key key{};
  std::copy_n(raw.begin(), key_bytes, key.begin());
  // A non-canonical encoding (stray bits in the last character) would let two strings name one key.
  if (key_to_base64(key) != text) return std::unexpected(keyring_errc::bad_key);
  return key;
}

std::string key_fingerprint(const gossip_key& key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const bool ok = EVP_Digest(key.data(), key.size(), digest, &len, EVP_sha256(), nullptr) == 1;
  CHRONIK_ASSERT(ok && len >= 4, "SHA-256 failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 4; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xF]);
  }
  return out;
}

}  // namespace chronik::gossip
