// The names that bind a node id to its certificate, and the one rule for a batch's claimed
// sender on an authenticated connection (consensus/transport/peer_identity.h).
#include <gtest/gtest.h>

#include "consensus/transport/peer_identity.h"

namespace chronik::consensus {
namespace {

TEST(PeerIdentity, NamesRoundTrip) {
  const std::string uuid = "00017f80ffabcdef1020304050607089";
  for (std::uint32_t raw : {1u, 2u, 9u, 10u, 12345u, 4294967295u}) {
    const node_id id{raw};
    const auto host = node_host_name(id);
    EXPECT_EQ(host, "chronik-node-" + std::to_string(raw));
    EXPECT_EQ(node_id_from_host_name(host), id) << host;
    EXPECT_EQ(node_certificate_name(id), host);
    EXPECT_EQ(identity_from_certificate_name(host), (certified_identity{id, {}})) << host;
    const auto bound = node_certificate_name(id, uuid);
    EXPECT_EQ(bound, host + ".00017f80ffabcdef1020304050607089");
    EXPECT_EQ(identity_from_certificate_name(bound), (certified_identity{id, uuid})) << bound;
    // A DNS name never carries the uuid: the dialler checks the id only.
    EXPECT_EQ(node_id_from_host_name(bound), std::nullopt);
  }
}

TEST(PeerIdentity, AUuidSuffixIsExactly32LowercaseHexDigits) {
  for (const char* name :
       {"chronik-node-1.", "chronik-node-1.00017f80ffabcdef102030405060708", "chronik-node-1.00017f80ffabcdef10203040506070899",
        "chronik-node-1.00017F80FFABCDEF1020304050607089", "chronik-node-1.00017f80ffabcdef102030405060708g",
        "chronik-node-1..00017f80ffabcdef1020304050607089", "chronik-node-01.00017f80ffabcdef1020304050607089",
        "chronik-node-1.00017f80ffabcdef1020304050607089.", "chronik-node-1.example"}) {
    EXPECT_EQ(identity_from_certificate_name(name), std::nullopt) << '"' << name << '"';
  }
}

TEST(PeerIdentity, EveryOtherSpellingNamesNoNode) {
  for (const char* name :
       {"", "chronik-node-", "chronik-node-0", "chronik-node-007", "chronik-node-+1", "chronik-node--1",
        "chronik-node-1 ", " chronik-node-1", "chronik-node-1x", "chronik-node-1.example", "Chronik-node-1",
        "chronik-node-4294967296", "chronik-node-99999999999", "node-1", "chronik-node-1\n",
        "chronik cluster CA 0a1b2c3d"}) {
    EXPECT_EQ(identity_from_certificate_name(name), std::nullopt) << '"' << name << '"';
  }
  // A NUL inside the name (a hostile certificate) must not cut it short into a valid one.
  EXPECT_EQ(identity_from_certificate_name(std::string_view("chronik-node-1\0-2", 17)), std::nullopt);
}

TEST(PeerIdentity, ACertificateSpeaksForItsOwnNodeOnly) {
  const std::string uuid_a(32, 'a');
  const std::string uuid_b(32, 'b');
  const certified_identity id_only{node_id{2}, {}};
  const certified_identity bound{node_id{2}, uuid_a};
  EXPECT_EQ(check_sender(peer_auth::authenticated, id_only, node_id{2}, uuid_a), sender_verdict::accept);
  EXPECT_EQ(check_sender(peer_auth::authenticated, id_only, node_id{2}, uuid_b), sender_verdict::accept);
  EXPECT_EQ(check_sender(peer_auth::authenticated, id_only, node_id{3}, uuid_a), sender_verdict::claim_mismatch);
  EXPECT_EQ(check_sender(peer_auth::authenticated, {}, no_node, {}), sender_verdict::claim_mismatch);
  // A certificate that binds a uuid speaks for that incarnation of the node only.
  EXPECT_EQ(check_sender(peer_auth::authenticated, bound, node_id{2}, uuid_a), sender_verdict::accept);
  EXPECT_EQ(check_sender(peer_auth::authenticated, bound, node_id{2}, uuid_b), sender_verdict::uuid_mismatch);
  EXPECT_EQ(check_sender(peer_auth::authenticated, bound, node_id{2}, {}), sender_verdict::uuid_mismatch);
  EXPECT_EQ(check_sender(peer_auth::authenticated, bound, node_id{3}, uuid_a), sender_verdict::claim_mismatch);
  // Plaintext is not authenticated at all; the transport serves it only while
  // verify_incoming is off (the rolling switch-on), and then as before TLS.
  EXPECT_EQ(check_sender(peer_auth::plaintext, {}, node_id{3}, uuid_a), sender_verdict::accept);
}

}  // namespace
}  // namespace chronik::consensus
