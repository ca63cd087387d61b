// gossip/keyring: sealing round trips, every kind of forgery fails to open, and rotation follows
// memberlist's install/use/remove semantics (docs/security.md "Gossip encryption").
#include "gossip/keyring/keyring.h"

#include <gtest/gtest.h>

#include <string>

namespace chronik::gossip {
namespace {

gossip_key key_of(std::uint8_t fill) {
  gossip_key k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(fill + i);
  return k;
}
gossip_nonce nonce_of(std::uint8_t fill) {
  gossip_nonce n{};
  n.fill(fill);
  return n;
}

const std::string msg = "a gossip envelope: alive node 3 at 127.0.0.1:7946";

TEST(gossip_keyring, seal_then_open_round_trips_and_has_the_documented_layout) {
  const keyring ring(key_of(1));
  const auto sealed = ring.seal(msg, nonce_of(7), "chronik");
  ASSERT_EQ(sealed.size(), msg.size() + sealed_overhead);
  EXPECT_EQ(static_cast<std::uint8_t>(sealed[0]), sealed_version);
  EXPECT_EQ(sealed.substr(1, nonce_bytes), std::string(nonce_bytes, '\x07'));
  EXPECT_EQ(sealed.find("alive"), std::string::npos) << "plaintext leaked";
  auto opened = ring.open(sealed, "chronik");
  ASSERT_TRUE(opened.has_value()) << to_string(opened.error());
  EXPECT_EQ(*opened, msg);
  const auto empty = ring.seal("", nonce_of(1), "chronik");
  EXPECT_EQ(ring.open(empty, "chronik").value(), "");
}

TEST(gossip_keyring, same_inputs_seal_alike_and_another_nonce_seals_differently) {
  const keyring ring(key_of(1));
  EXPECT_EQ(ring.seal(msg, nonce_of(7), "c"), ring.seal(msg, nonce_of(7), "c"));
  EXPECT_NE(ring.seal(msg, nonce_of(7), "c"), ring.seal(msg, nonce_of(8), "c"));
}

TEST(gossip_keyring, wrong_key_fails_authentication) {
  const auto sealed = keyring(key_of(1)).seal(msg, nonce_of(7), "chronik");
  auto opened = keyring(key_of(2)).open(sealed, "chronik");
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error(), keyring_errc::auth_failed);
}

TEST(gossip_keyring, wrong_label_fails_authentication) {
  const keyring ring(key_of(1));
  const auto sealed = ring.seal(msg, nonce_of(7), "chronik");
  EXPECT_EQ(ring.open(sealed, "other").error(), keyring_errc::auth_failed);
  EXPECT_EQ(ring.open(sealed, "").error(), keyring_errc::auth_failed);
}

TEST(gossip_keyring, a_flipped_bit_at_every_position_fails) {
  const keyring ring(key_of(1));
  const auto sealed = ring.seal(msg, nonce_of(7), "chronik");
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto opened = ring.open(bad, "chronik");
    ASSERT_FALSE(opened.has_value()) << "byte " << i;
    EXPECT_EQ(opened.error(), i == 0 ? keyring_errc::not_sealed : keyring_errc::auth_failed) << "byte " << i;
  }
}

TEST(gossip_keyring, every_truncation_fails) {
  const keyring ring(key_of(1));
  const auto sealed = ring.seal(msg, nonce_of(7), "chronik");
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    auto opened = ring.open(std::string_view(sealed).substr(0, n), "chronik");
    ASSERT_FALSE(opened.has_value()) << "length " << n;
    const auto want = n == 0 ? keyring_errc::not_sealed
                      : n < sealed_overhead ? keyring_errc::too_short
                                            : keyring_errc::auth_failed;
    EXPECT_EQ(opened.error(), want) << "length " << n;
  }
  auto longer = sealed + "x";
  EXPECT_EQ(ring.open(longer, "chronik").error(), keyring_errc::auth_failed);
}

TEST(gossip_keyring, plaintext_is_not_sealed) {
  const keyring ring(key_of(1));
  // A plain GossipEnvelope starts with field 1 (version) as a varint: byte 0x08.
  EXPECT_EQ(ring.open(std::string("\x08\x01\x12\x00", 4), "chronik").error(), keyring_errc::not_sealed);
}

TEST(gossip_keyring, rotation_old_key_opens_after_a_new_primary_and_a_removed_key_does_not) {
  keyring ring(key_of(1));
  const auto by_old = ring.seal(msg, nonce_of(1), "c");
  ASSERT_TRUE(ring.install(key_of(2)).has_value());
  EXPECT_EQ(ring.primary(), key_of(1)) << "install must not change the primary";
  ASSERT_TRUE(ring.use(key_of(2)).has_value());
  EXPECT_EQ(ring.primary(), key_of(2));
  const auto by_new = ring.seal(msg, nonce_of(2), "c");
  EXPECT_EQ(keyring(key_of(2)).open(by_new, "c").value(), msg) << "the new primary seals";
  EXPECT_EQ(ring.open(by_old, "c").value(), msg) << "the old key still opens";
  // A node that has not installed the new key yet cannot read it; one that has, can.
  EXPECT_EQ(keyring(key_of(1)).open(by_new, "c").error(), keyring_errc::auth_failed);

  EXPECT_EQ(ring.remove(key_of(2)).error(), keyring_errc::remove_primary);
  ASSERT_TRUE(ring.remove(key_of(1)).has_value());
  EXPECT_EQ(ring.open(by_old, "c").error(), keyring_errc::auth_failed);
  EXPECT_EQ(ring.open(by_new, "c").value(), msg);
  EXPECT_EQ(ring.keys().size(), 1u);
}

TEST(gossip_keyring, install_is_idempotent_bounded_and_use_remove_need_a_known_key) {
  keyring ring(key_of(1));
  ASSERT_TRUE(ring.install(key_of(1)).has_value());
  EXPECT_EQ(ring.keys().size(), 1u);
  EXPECT_EQ(ring.use(key_of(9)).error(), keyring_errc::unknown_key);
  EXPECT_EQ(ring.remove(key_of(9)).error(), keyring_errc::unknown_key);
  for (std::uint8_t i = 2; ring.keys().size() < max_keyring_keys; ++i) ASSERT_TRUE(ring.install(key_of(i)).has_value());
  EXPECT_EQ(ring.install(key_of(200)).error(), keyring_errc::full);
}

TEST(gossip_keyring, use_keeps_the_others_in_order) {
  keyring ring(key_of(1));
  ASSERT_TRUE(ring.install(key_of(2)).has_value());
  ASSERT_TRUE(ring.install(key_of(3)).has_value());
  ASSERT_TRUE(ring.use(key_of(3)).has_value());
  EXPECT_EQ(ring.keys(), (std::vector{key_of(3), key_of(1), key_of(2)}));
}

TEST(gossip_keyring, base64_round_trip_and_rejects_anything_but_32_canonical_bytes) {
  const auto k = key_of(0xF0);
  const auto text = key_to_base64(k);
  EXPECT_EQ(text.size(), 44u);
  EXPECT_EQ(key_from_base64(text).value(), k);
  // The all-zero key is "AAAA...A=" (43 'A' and one '='), an independent check of the encoding.
  EXPECT_EQ(key_to_base64(gossip_key{}), std::string(43, 'A') + "=");
  for (const std::string& bad : {std::string(""), std::string(44, 'A'), std::string(43, 'A'),
                                std::string(42, 'A') + "==", std::string(24, 'A'),  // 16 bytes: not AES-256
                                std::string(42, 'A') + "*=", std::string(42, 'A') + "B="}) {
    EXPECT_EQ(key_from_base64(bad).error(), keyring_errc::bad_key) << "'" << bad << "'";
  }
}

TEST(gossip_keyring, text_form_round_trips_primary_first) {
  keyring ring(key_of(1));
  ASSERT_TRUE(ring.install(key_of(2)).has_value());
  ASSERT_TRUE(ring.use(key_of(2)).has_value());
  auto back = keyring::from_text(ring.to_text());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, ring);
  EXPECT_EQ(keyring::from_text("").error(), keyring_errc::bad_key);
  EXPECT_EQ(keyring::from_text("not a key\n").error(), keyring_errc::bad_key);
}

}  // namespace
}  // namespace chronik::gossip
