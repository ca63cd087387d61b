// Mutual TLS on the Raft transport (docs/transport.md "TLS"): real loopback sockets, certificates
// made in memory (daemon/node_certs.h). Whoever lacks a certificate from the cluster CA, or holds
// one for another node than it claims, delivers nothing.
#include <gtest/gtest.h>

#include "consensus/transport/raft_transport.h"
#include "consensus/transport/tls_stream.h"
#include "daemon/node_certs.h"
#include "transport_test_util.h"

namespace chronik::consensus {
namespace {

using daemon::pem_pair;
using testing::run_until;
using testing::test_config;
using testing::test_node;

struct pki {
  pem_pair ca = daemon::make_ca(30).value();
  pem_pair other_ca = daemon::make_ca(30).value();
  pem_pair node(std::uint32_t id) const { return daemon::make_node_certificate(ca, node_id{id}, {}, 30).value(); }
};

const pki& certs() {
  static const pki p;
  return p;
}

// Node `self` presenting `cert`, trusting `ca`.
transport_config tls_config(std::uint64_t self, const pem_pair& cert, const std::string& ca) {
  auto cfg = test_config(self);
  cfg.tls = transport_tls{ca, cert.cert_pem, cert.key_pem};
  return cfg;
}
transport_config tls_config(std::uint64_t self) {
  return tls_config(self, certs().node(static_cast<std::uint32_t>(self)), certs().ca.cert_pem);
}

class TransportTlsTest : public ::testing::Test {
 protected:
  test_node& add(transport_config cfg) {
    nodes_.push_back(std::make_unique<test_node>(io_, std::move(cfg)));
    auto started = nodes_.back()->transport->start();
    EXPECT_TRUE(started.has_value()) << started.error().text;
    return *nodes_.back();
  }
  // `from` sends one heartbeat to `to`; each knows the other's address.
  void send_one(test_node& from, test_node& to) {
    from.connect_to(to);
    to.connect_to(from);
    from.transport->send(to.self, {testing::heartbeat(1, from.self.value(), to.self.value())});
  }
  asio::io_context io_;
  std::vector<std::unique_ptr<test_node>> nodes_;
};

TEST_F(TransportTlsTest, NodesWithCertificatesFromTheCaExchangeBatches) {
  auto& a = add(tls_config(1));
  auto& b = add(tls_config(2));
  send_one(a, b);
  b.transport->send(a.self, testing::appends(3, 2, 1, 1, 500));
  ASSERT_TRUE(run_until(io_, [&] { return b.received_messages == 1 && a.received_messages == 500; }))
      << testing::describe(a.transport->counters()) << " | " << testing::describe(b.transport->counters());
  EXPECT_EQ(b.batches.front().from, a.self);
  EXPECT_GE(b.transport->counters().tls_connections, 1u);
  EXPECT_EQ(b.transport->counters().plaintext_connections, 0u);
  EXPECT_EQ(b.transport->counters().tls_handshake_failures, 0u);
}

TEST_F(TransportTlsTest, ACertificateForOneNodeCannotSpeakForAnother) {
  auto& b = add(tls_config(2));
  // Node 3's transport holding node 1's valid certificate: the handshake succeeds, every batch
  // claiming node 3 is refused.
  auto& liar = add(tls_config(3, certs().node(1), certs().ca.cert_pem));
  send_one(liar, b);
  ASSERT_TRUE(run_until(io_, [&] { return liar.transport->counters().refusals_received >= 1; }))
      << testing::describe(liar.transport->counters());
  EXPECT_EQ(b.received_messages, 0u);
  EXPECT_EQ(b.transport->counters().tls_identity_refusals, 1u);
  EXPECT_EQ(b.transport->counters().refusals_sent, 1u);
}

TEST_F(TransportTlsTest, ACertificateThatBindsAUuidSpeaksForThatUuidOnly) {
  auto& b = add(tls_config(2));
  // As the daemon sets transport_config::node_uuid: the 32 hex digits of the data dir's uuid.
  const std::string uuid_1(32, '1');
  const std::string uuid_3(32, '3');
  // Node 1 with a certificate bound to its own uuid: delivered.
  auto honest_cfg = tls_config(1, daemon::make_node_certificate(certs().ca, node_id{1}, uuid_1, 30).value(),
                               certs().ca.cert_pem);
  honest_cfg.node_uuid = uuid_1;
  auto& honest = add(honest_cfg);
  send_one(honest, b);
  ASSERT_TRUE(run_until(io_, [&] { return b.received_messages == 1; })) << testing::describe(b.transport->counters());
  // Node 3 holding a valid node-3 certificate bound to another incarnation's uuid (a copied key
  // from before a wipe): every batch is refused before the cluster's own uuid check.
  auto liar_cfg = tls_config(3, daemon::make_node_certificate(certs().ca, node_id{3}, uuid_3, 30).value(),
                             certs().ca.cert_pem);
  liar_cfg.node_uuid = std::string(32, '4');
  auto& liar = add(liar_cfg);
  send_one(liar, b);
  ASSERT_TRUE(run_until(io_, [&] { return liar.transport->counters().refusals_received >= 1; }))
      << testing::describe(liar.transport->counters());
  EXPECT_EQ(b.received_messages, 1u);
  EXPECT_EQ(b.transport->counters().tls_identity_refusals, 1u);
}

TEST_F(TransportTlsTest, NoCertificateOrAnotherCaDeliversNothing) {
  auto& b = add(tls_config(2));
  // Plaintext: bytes that are not a TLS handshake.
  auto& plain = add(test_config(1));
  send_one(plain, b);
  ASSERT_TRUE(run_until(io_, [&] { return b.transport->counters().tls_handshake_failures >= 1; }));
  // A certificate for node 3 signed by another CA (it trusts ours, so only our side refuses).
  auto& foreign = add(tls_config(3, daemon::make_node_certificate(certs().other_ca, node_id{3}, {}, 30).value(),
                                 certs().ca.cert_pem));
  send_one(foreign, b);
  ASSERT_TRUE(run_until(io_, [&] { return b.transport->counters().tls_handshake_failures >= 2; }))
      << testing::describe(b.transport->counters());
  // Each sender has seen its message fail (the heartbeat is dropped, never delivered).
  ASSERT_TRUE(run_until(io_, [&] {
    return plain.transport->counters().drops_failed >= 1 && foreign.transport->counters().drops_failed >= 1;
  })) << testing::describe(plain.transport->counters()) << " | " << testing::describe(foreign.transport->counters());
  EXPECT_EQ(b.received_messages, 0u);
  EXPECT_EQ(b.transport->counters().batches_received, 0u);
  EXPECT_EQ(plain.transport->counters().messages_sent, 0u);
  EXPECT_EQ(foreign.transport->counters().messages_sent, 0u);
}

TEST_F(TransportTlsTest, ADialledAddressMustAnswerWithTheNodesCertificate) {
  // Whatever listens where node 2 is expected holds node 3's certificate: the dialling side
  // refuses the handshake, so its batches for node 2 never leave.
  auto& a = add(tls_config(1));
  auto& impostor = add(tls_config(2, certs().node(3), certs().ca.cert_pem));
  send_one(a, impostor);
  ASSERT_TRUE(run_until(io_, [&] {
    const auto c = a.transport->counters();
    return c.connect_failures >= 1 && c.drops_failed >= 1;
  }))
      << testing::describe(a.transport->counters());
  EXPECT_EQ(impostor.received_messages, 0u);
  EXPECT_EQ(a.transport->counters().messages_sent, 0u);
}

TEST_F(TransportTlsTest, RollingSwitchOnServesTlsAndPlaintextOnOnePort) {
  auto cfg = tls_config(2);
  cfg.tls->verify_incoming = false;
  auto& b = add(cfg);
  auto& secured = add(tls_config(1));
  auto& plain = add(test_config(3));
  send_one(secured, b);
  send_one(plain, b);
  ASSERT_TRUE(run_until(io_, [&] { return b.received_messages == 2; })) << testing::describe(b.transport->counters());
  EXPECT_GE(b.transport->counters().tls_connections, 1u);
  EXPECT_GE(b.transport->counters().plaintext_connections, 1u);
  // A node still dialling plaintext (verify_outgoing off) reaches one that accepts it.
  auto out_cfg = tls_config(4);
  out_cfg.tls->verify_incoming = false;
  out_cfg.tls->verify_outgoing = false;
  auto& d = add(out_cfg);
  send_one(d, b);
  ASSERT_TRUE(run_until(io_, [&] { return b.received_messages == 3; }));
  EXPECT_GE(b.transport->counters().plaintext_connections, 2u);
}

TEST_F(TransportTlsTest, ACaBundleTrustsEveryCaInIt) {
  // CA rotation (docs/security.md): while the CA file holds the old and the new CA, nodes with
  // certificates from either talk to each other.
  const std::string bundle = certs().other_ca.cert_pem + certs().ca.cert_pem;
  auto& b = add(tls_config(2, certs().node(2), bundle));
  auto& old_cert = add(tls_config(1, certs().node(1), bundle));
  auto& new_cert =
      add(tls_config(3, daemon::make_node_certificate(certs().other_ca, node_id{3}, {}, 30).value(), bundle));
  send_one(old_cert, b);
  send_one(new_cert, b);
  ASSERT_TRUE(run_until(io_, [&] { return b.received_messages == 2; })) << testing::describe(b.transport->counters());
  EXPECT_EQ(split_pem_certificates(bundle).size(), 2u);
  EXPECT_EQ(split_pem_certificates("no pem here").size(), 0u);
}

TEST(TransportTlsConfig, BadPemOrAHalfSwitchIsRefusedAtStart) {
  asio::io_context io;
  auto cfg = tls_config(1);
  cfg.tls->key_pem = "not a key";
  raft_transport t(io, cfg, testing::test_logger());
  auto started = t.start();
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().code, transport_errc::invalid_config);
  EXPECT_NE(started.error().text.find("tls"), std::string::npos) << started.error().text;

  cfg = tls_config(1);
  cfg.tls->ca_pem = "no certificate";
  raft_transport t2(io, cfg, testing::test_logger());
  started = t2.start();
  ASSERT_FALSE(started.has_value());
  EXPECT_NE(started.error().text.find("no certificate"), std::string::npos) << started.error().text;

  cfg = tls_config(1);
  cfg.tls->verify_outgoing = false;  // dials plaintext but refuses it: no step of the switch-on
  auto v = cfg.validate();
  ASSERT_FALSE(v.has_value());
  EXPECT_NE(v.error().text.find("tls.verify_outgoing"), std::string::npos);
}

}  // namespace
}  // namespace chronik::consensus
