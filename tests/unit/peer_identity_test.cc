// The names that bind a node id to its certificate, and the one rule for a batch's claimed
// sender on an authenticated connection (consensus/transport/peer_identity.h).
#include <gtest/gtest.h>

#include "consensus/transport/peer_identity.h"

namespace chronik::consensus {
namespace {

TEST(PeerIdentity, NamesRoundTrip) {
  for (std::uint32_t raw : {1u, 2u, 9u, 10u, 12345u, 4294967295u}) {
    const node_id id{raw};
    const auto name = node_certificate_name(id);
    EXPECT_EQ(name, "chronik-node-" + std::to_string(raw));
    EXPECT_EQ(node_id_from_certificate_name(name), id) << name;
  }
}

TEST(PeerIdentity, EveryOtherSpellingNamesNoNode) {
  for (const char* name :
       {"", "chronik-node-", "chronik-node-0", "chronik-node-007", "chronik-node-+1", "chronik-node--1",
        "chronik-node-1 ", " chronik-node-1", "chronik-node-1x", "chronik-node-1.example", "Chronik-node-1",
        "chronik-node-4294967296", "chronik-node-99999999999", "node-1", "chronik-node-1\n",
        "chronik cluster CA 0a1b2c3d"}) {
    EXPECT_EQ(node_id_from_certificate_name(name), std::nullopt) << '"' << name << '"';
  }
  // A NUL inside the name (a hostile certificate) must not cut it short into a valid one.
  EXPECT_EQ(node_id_from_certificate_name(std::string_view("chronik-node-1\0-2", 17)), std::nullopt);
}

TEST(PeerIdentity, ACertificateSpeaksForItsOwnNodeOnly) {
  EXPECT_EQ(check_sender(peer_auth::authenticated, node_id{2}, node_id{2}), sender_verdict::accept);
  EXPECT_EQ(check_sender(peer_auth::authenticated, node_id{2}, node_id{3}), sender_verdict::claim_mismatch);
  EXPECT_EQ(check_sender(peer_auth::authenticated, no_node, no_node), sender_verdict::claim_mismatch);
  // Plaintext is not authenticated at all; the transport serves it only while
  // verify_incoming is off (the rolling switch-on), and then as before TLS.
  EXPECT_EQ(check_sender(peer_auth::plaintext, no_node, node_id{3}), sender_verdict::accept);
}

}  // namespace
}  // namespace chronik::consensus
