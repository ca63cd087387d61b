// The gossip keyring (docs/security.md "Gossip encryption"): AES-256-GCM keys that seal every
// gossip datagram and push-pull frame, as memberlist's keyring does. One primary key seals; every
// key in the ring is tried when opening, so that a key can be rotated without downtime: install
// the new key everywhere, make it primary everywhere, then remove the old one.
//
// This type does no I/O and draws no randomness: seal() takes the nonce from its caller (the
// gossip shell draws it from OpenSSL's CSPRNG), so results are deterministic and testable. It
// uses OpenSSL's EVP interface only as a pure function of its inputs.
//
// Sealed form (docs/gossip.md "Wire format"):
//   byte 0      sealed_version (0xE1; never the first byte of a plain GossipEnvelope, 0x08)
//   bytes 1-12  nonce, random per message
//   then        ciphertext (as long as the plaintext) followed by the 16-byte GCM tag
// The additional authenticated data is the version byte followed by the label (the cluster
// name), so a message sealed for another cluster, or with another version, fails to open.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chronik::gossip {

inline constexpr std::size_t key_bytes = 32;  // AES-256
inline constexpr std::size_t nonce_bytes = 12;
inline constexpr std::size_t tag_bytes = 16;
inline constexpr std::uint8_t sealed_version = 0xE1;
inline constexpr std::size_t sealed_overhead = 1 + nonce_bytes + tag_bytes;
// Keys one ring holds; rotation needs two, a few more leave room for mistakes.
inline constexpr std::size_t max_keyring_keys = 16;

using gossip_key = std::array<std::uint8_t, key_bytes>;
using gossip_nonce = std::array<std::uint8_t, nonce_bytes>;

enum class keyring_errc : std::uint8_t {
  bad_key,         // not base64 of exactly 32 bytes
  unknown_key,     // use()/remove() of a key not in the ring
  remove_primary,  // the primary key cannot be removed; make another primary first
  full,            // install() beyond max_keyring_keys
  too_short,       // sealed input shorter than the overhead
  not_sealed,      // first byte is not sealed_version (a plaintext message, or garbage)
  auth_failed,     // no key in the ring authenticates it: wrong key, wrong label, or tampered
};
std::string_view to_string(keyring_errc code);

class keyring {
 public:
  explicit keyring(const gossip_key& primary) : keys_{primary} {}

  // Adds a key accepted for opening; installing a key already present changes nothing.
  std::expected<void, keyring_errc> install(const gossip_key& key);
  // Makes an installed key the primary (the one that seals).
  std::expected<void, keyring_errc> use(const gossip_key& key);
  // Removes a non-primary key; messages sealed with it no longer open.
  std::expected<void, keyring_errc> remove(const gossip_key& key);

  const gossip_key& primary() const { return keys_.front(); }
  // Primary first, then the others in installation order.
  const std::vector<gossip_key>& keys() const { return keys_; }

  // Seals plaintext with the primary key. The nonce must never repeat under one key.
  std::string seal(std::string_view plaintext, const gossip_nonce& nonce, std::string_view label) const;
  // Opens a sealed message with whichever key authenticates it.
  std::expected<std::string, keyring_errc> open(std::string_view sealed, std::string_view label) const;

  // One base64 key per line, primary first: the data dir's keyring file (daemon side).
  std::string to_text() const;
  static std::expected<keyring, keyring_errc> from_text(std::string_view text);

  friend bool operator==(const keyring&, const keyring&) = default;

 private:
  std::vector<gossip_key> keys_;  // never empty; [0] is the primary
};

// Standard base64 (RFC 4648 §4, with padding) of a key, and back; decoding accepts exactly 32 bytes.
std::string key_to_base64(const gossip_key& key);
std::expected<gossip_key, keyring_errc> key_from_base64(std::string_view text);

// What may be shown of a key (docs/security.md "Admin HTTP"): the first 8 hex digits of the
// SHA-256 of its 32 bytes. It names a key among the few of a ring without revealing it.
std::string key_fingerprint(const gossip_key& key);

}  // namespace chronik::gossip
