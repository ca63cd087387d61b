// Certificates for mutual TLS between nodes, in memory (daemon/node_certs.h): a CA and node
// certificates made with OpenSSL, the node id read back from them, and the checks `start` runs.
#include <gtest/gtest.h>

#include "daemon/node_certs.h"

namespace chronik::daemon {
namespace {

struct fixture {
  pem_pair ca = make_ca(30).value();
  pem_pair node2 = make_node_certificate(ca, node_id{2}, {}, 30).value();
};

TEST(NodeCerts, ANodeCertificateNamesItsNodeAndVerifiesAgainstItsCa) {
  fixture f;
  EXPECT_NE(f.ca.cert_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(f.node2.key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(certificate_identity(f.node2.cert_pem), (consensus::certified_identity{node_id{2}, {}}));
  EXPECT_TRUE(check_node_tls(f.ca.cert_pem, f.node2.cert_pem, f.node2.key_pem, node_id{2}).has_value());
  // Every call makes a fresh key pair and serial.
  auto again = make_node_certificate(f.ca, node_id{2}, {}, 30).value();
  EXPECT_NE(again.key_pem, f.node2.key_pem);
  EXPECT_NE(again.cert_pem, f.node2.cert_pem);
}

TEST(NodeCerts, TheCaCertificateNamesNoNode) {
  fixture f;
  auto id = certificate_identity(f.ca.cert_pem);
  ASSERT_FALSE(id.has_value());
  EXPECT_NE(id.error().find("is not chronik-node-<id>"), std::string::npos) << id.error();
  EXPECT_FALSE(make_node_certificate(f.ca, no_node, {}, 30).has_value());
}

TEST(NodeCerts, EachCheckNamesTheFileAtFault) {
  fixture f;
  const auto other_ca = make_ca(30).value();
  const auto foreign = make_node_certificate(other_ca, node_id{2}, {}, 30).value();
  const auto node3 = make_node_certificate(f.ca, node_id{3}, {}, 30).value();
  auto fault = [](const std::expected<void, tls_check_error>& r) {
    EXPECT_FALSE(r.has_value());
    return r.has_value() ? tls_file::ca : r.error().file;
  };
  // A key that is not the certificate's.
  EXPECT_EQ(fault(check_node_tls(f.ca.cert_pem, f.node2.cert_pem, node3.key_pem, node_id{2})), tls_file::key);
  // A certificate from another CA.
  auto r = check_node_tls(f.ca.cert_pem, foreign.cert_pem, foreign.key_pem, node_id{2});
  EXPECT_EQ(fault(r), tls_file::cert);
  if (!r) {
    EXPECT_NE(r.error().text.find("does not verify"), std::string::npos) << r.error().text;
  }
  // A certificate for another node.
  r = check_node_tls(f.ca.cert_pem, node3.cert_pem, node3.key_pem, node_id{2});
  EXPECT_EQ(fault(r), tls_file::cert);
  if (!r) {
    EXPECT_NE(r.error().text.find("is for node 3, this node is 2"), std::string::npos) << r.error().text;
  }
  // Not PEM at all, in each slot.
  EXPECT_EQ(fault(check_node_tls("garbage", f.node2.cert_pem, f.node2.key_pem, node_id{2})), tls_file::ca);
  EXPECT_EQ(fault(check_node_tls(f.ca.cert_pem, "garbage", f.node2.key_pem, node_id{2})), tls_file::cert);
  EXPECT_EQ(fault(check_node_tls(f.ca.cert_pem, f.node2.cert_pem, "garbage", node_id{2})), tls_file::key);
  // A bundle of CAs (rotation) verifies certificates of either.
  const std::string bundle = other_ca.cert_pem + f.ca.cert_pem;
  EXPECT_TRUE(check_node_tls(bundle, f.node2.cert_pem, f.node2.key_pem, node_id{2}).has_value());
  EXPECT_TRUE(check_node_tls(bundle, foreign.cert_pem, foreign.key_pem, node_id{2}).has_value());
  // A CA key and certificate that do not belong together cannot sign.
  EXPECT_FALSE(make_node_certificate(pem_pair{f.ca.cert_pem, other_ca.key_pem}, node_id{4}, {}, 30).has_value());
}

TEST(NodeCerts, ACertificateCanBindTheNodeUuid) {
  fixture f;
  const std::string uuid(32, 'a');
  const auto bound = make_node_certificate(f.ca, node_id{2}, uuid, 30).value();
  EXPECT_EQ(certificate_identity(bound.cert_pem), (consensus::certified_identity{node_id{2}, uuid}));
  // The node id check at start is the same for both kinds; the uuid check follows once the data
  // directory's uuid is known.
  EXPECT_TRUE(check_node_tls(f.ca.cert_pem, bound.cert_pem, bound.key_pem, node_id{2}).has_value());
  EXPECT_TRUE(check_certificate_uuid(bound.cert_pem, uuid).has_value());
  auto wiped = check_certificate_uuid(bound.cert_pem, std::string(32, 'b'));
  ASSERT_FALSE(wiped.has_value());
  EXPECT_NE(wiped.error().find("binds node_uuid aaaa"), std::string::npos) << wiped.error();
  EXPECT_NE(wiped.error().find("node_uuid is bbbb"), std::string::npos) << wiped.error();
  // A certificate for the id only passes any uuid.
  EXPECT_TRUE(check_certificate_uuid(f.node2.cert_pem, std::string(32, 'b')).has_value());
  EXPECT_FALSE(make_node_certificate(f.ca, node_id{2}, "short", 30).has_value());
  EXPECT_FALSE(make_node_certificate(f.ca, node_id{2}, std::string(32, 'A'), 30).has_value());
}

}  // namespace
}  // namespace chronik::daemon
