// gossip/net/gossip_node with a keyring (docs/security.md "Gossip encryption"), on loopback:
// nodes sharing a key form a cluster; a node with another key, or with none, cannot join and its
// traffic is counted as dropped; a forged plaintext "dead" changes nothing while the same message
// sealed with the cluster's key would; and verify_incoming/verify_outgoing let a cluster switch
// encryption on node by node. Every wait is a bounded run_for loop on a predicate; no sleeps.
#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <unistd.h>

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/write.hpp>
#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gossip/keyring/keyring.h"
#include "gossip/net/codec.h"
#include "gossip/net/gossip_node.h"

namespace chronik::gossip {
namespace {

using namespace std::chrono_literals;

// Apart from gossip_node_test's ports (10000..18000) and below the ephemeral range.
std::uint16_t base_port() { return static_cast<std::uint16_t>(18000 + (::getpid() % 300) * 16); }

gossip_key key_of(std::uint8_t fill) {
  gossip_key k{};
  k.fill(fill);
  return k;
}

std::shared_ptr<spdlog::logger> quiet_logger(int i) {
  auto log = std::make_shared<spdlog::logger>("gossip-" + std::to_string(i),
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
  log->set_level(spdlog::level::err);  // the drops are warned about, and expected here
  return log;
}

node_options options(int i, std::uint16_t base, std::optional<gossip_key> key) {
  node_options o;
  o.bind_ip = "127.0.0.1";
  o.port = static_cast<std::uint16_t>(base + i);
  if (i > 0) o.seeds = {"127.0.0.1:" + std::to_string(base)};
  o.cfg = config::local();
  o.self.id = node_id{static_cast<std::uint32_t>(i + 1)};
  o.self.uuid = std::string(16, static_cast<char>('a' + i));
  o.self.cluster = "crypto-test";
  o.rng_seed = static_cast<std::uint64_t>(i + 1);
  if (key) o.keys.emplace(*key);
  return o;
}

template <typename Pred>
bool run_until(asio::io_context& io, Pred pred, std::chrono::milliseconds max_wait) {
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_for(10ms);
  }
  return true;
}
void run_for(asio::io_context& io, std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  run_until(io, [&] { return std::chrono::steady_clock::now() >= until; }, d + 1s);
}

std::optional<member> member_of(const gossip_node& n, node_id id) {
  for (const auto& s : n.members()) {
    if (s.m.id == id) return s.m;
  }
  return std::nullopt;
}
std::size_t alive_count(const gossip_node& n) {
  std::size_t c = 0;
  for (const auto& s : n.members()) c += s.m.state == member_state::alive ? 1 : 0;
  return c;
}

class gossip_node_crypto_test : public ::testing::Test {
 protected:
  gossip_node& add(node_options o) {
    const int i = static_cast<int>(nodes_.size());
    nodes_.push_back(std::make_unique<gossip_node>(io_, std::move(o), quiet_logger(i)));
    auto started = nodes_.back()->start();
    EXPECT_TRUE(started.has_value()) << started.error();
    return *nodes_.back();
  }
  bool first_n_see_alive(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (alive_count(*nodes_[i]) != n) return false;
    }
    return true;
  }
  void send_raw(std::uint16_t port, const std::string& bytes) {
    asio::ip::udp::socket raw(io_, asio::ip::udp::endpoint(asio::ip::udp::v4(), 0));
    raw.send_to(asio::buffer(bytes), asio::ip::udp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port));
  }

  std::uint16_t base_ = base_port();
  asio::io_context io_;  // declared before the nodes: destroyed after them
  std::vector<std::unique_ptr<gossip_node>> nodes_;
};

TEST_F(gossip_node_crypto_test, same_key_forms_other_key_and_no_key_cannot_join) {
  for (int i = 0; i < 3; ++i) add(options(i, base_, key_of(1)));
  ASSERT_TRUE(run_until(io_, [&] { return first_n_see_alive(3); }, 10s)) << "keyed cluster did not form";

  auto& stranger = add(options(3, base_, key_of(2)));  // another key, seeded at node 1
  auto& plain = add(options(4, base_, std::nullopt));  // no key at all
  ASSERT_TRUE(run_until(
      io_,
      [&] { return nodes_[0]->stats().auth_failed_dropped > 0 && nodes_[0]->stats().plaintext_dropped > 0; },
      10s));
  run_for(io_, 500ms);  // a few join retries and probe rounds
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(alive_count(*nodes_[i]), 3u) << "node " << i + 1;
    EXPECT_FALSE(member_of(*nodes_[i], node_id{4}).has_value());
    EXPECT_FALSE(member_of(*nodes_[i], node_id{5}).has_value());
  }
  EXPECT_EQ(alive_count(stranger), 1u);
  EXPECT_EQ(alive_count(plain), 1u);
  // The stranger cannot read the cluster's answers either; the keyless node parses none of them.
  EXPECT_EQ(nodes_[1]->stats().auth_failed_dropped + nodes_[2]->stats().auth_failed_dropped, 0u)
      << "only node 1 is seeded by the outsiders";
}

TEST_F(gossip_node_crypto_test, a_forged_plaintext_dead_changes_nothing_but_a_sealed_one_would) {
  for (int i = 0; i < 3; ++i) add(options(i, base_, key_of(1)));
  ASSERT_TRUE(run_until(io_, [&] { return first_n_see_alive(3); }, 10s));
  const node_id victim{3};
  const auto victim_now = member_of(*nodes_[0], victim);
  ASSERT_TRUE(victim_now.has_value());
  envelope forged{"crypto-test", node_id{2}, "127.0.0.1:" + std::to_string(base_ + 1),
                  {dead_msg{victim, victim_now->inc, node_id{2}}}};
  const auto bytes = encode(forged);
  ASSERT_FALSE(bytes.empty());

  const auto before = nodes_[0]->stats().plaintext_dropped;
  const auto dead_before = nodes_[0]->core().stats().declared_dead;
  send_raw(base_, bytes);
  ASSERT_TRUE(run_until(io_, [&] { return nodes_[0]->stats().plaintext_dropped > before; }, 5s));
  EXPECT_EQ(member_of(*nodes_[0], victim)->state, member_state::alive);
  EXPECT_EQ(nodes_[0]->core().stats().declared_dead, dead_before);

  // Control: the very same message sealed with the cluster's key is believed, so the test above
  // would see the forgery's effect if the keyring let plaintext through.
  const gossip_nonce nonce{};
  send_raw(base_, keyring(key_of(1)).seal(bytes, nonce, "crypto-test"));
  EXPECT_TRUE(run_until(
      io_, [&] { return nodes_[0]->core().stats().declared_dead > dead_before; }, 5s));
}

TEST_F(gossip_node_crypto_test, sealed_garbage_wrong_label_and_plaintext_frames_are_counted) {
  add(options(0, base_, key_of(1)));
  const std::string plain_env = encode(envelope{"crypto-test", node_id{9}, "127.0.0.1:1", {ack_msg{1}}});
  send_raw(base_, keyring(key_of(1)).seal(plain_env, gossip_nonce{}, "another-cluster"));
  send_raw(base_, std::string(1, static_cast<char>(sealed_version)) + std::string(40, 'x'));
  send_raw(base_, keyring(key_of(7)).seal(plain_env, gossip_nonce{}, "crypto-test"));
  EXPECT_TRUE(run_until(io_, [&] { return nodes_[0]->stats().auth_failed_dropped == 3; }, 5s));
  EXPECT_EQ(nodes_[0]->stats().malformed_dropped, 0u);

  // The same over TCP push-pull frames (4-byte length, then the body): plaintext, then another key.
  auto send_frame = [&](const std::string& body) {
    std::string frame;
    const auto len = static_cast<std::uint32_t>(body.size());
    for (int shift = 24; shift >= 0; shift -= 8) frame.push_back(static_cast<char>(len >> shift));
    frame += body;
    asio::ip::tcp::socket sock(io_);
    sock.connect(asio::ip::tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), base_));
    asio::write(sock, asio::buffer(frame));
  };
  send_frame(plain_env);
  send_frame(keyring(key_of(7)).seal(plain_env, gossip_nonce{}, "crypto-test"));
  EXPECT_TRUE(run_until(
      io_,
      [&] {
        const auto st = nodes_[0]->stats();
        return st.plaintext_dropped == 1 && st.auth_failed_dropped == 4;
      },
      5s));
  EXPECT_EQ(nodes_[0]->stats().streams_received, 0u);
}

// Consul's rolling switch-on (docs/security.md "Gossip encryption"): phase 1 gives every node
// the key with both checks off (sends plaintext, accepts both), phase 2 turns outgoing on
// everywhere, phase 3 incoming. Nodes of neighbouring phases must form one cluster without drops.
enum class phase { keyless, one, two, three };
node_options in_phase(int i, std::uint16_t base, phase p) {
  auto o = options(i, base, p == phase::keyless ? std::nullopt : std::optional(key_of(1)));
  o.verify_outgoing = p == phase::two || p == phase::three;
  o.verify_incoming = p == phase::three;
  return o;
}

class rolling_switch_on : public gossip_node_crypto_test, public ::testing::WithParamInterface<std::array<phase, 3>> {};

TEST_P(rolling_switch_on, neighbouring_phases_form_one_cluster_without_drops) {
  for (int i = 0; i < 3; ++i) add(in_phase(i, base_, GetParam()[static_cast<std::size_t>(i)]));
  ASSERT_TRUE(run_until(io_, [&] { return first_n_see_alive(3); }, 10s));
  run_for(io_, 300ms);  // a few probe rounds in both directions
  EXPECT_TRUE(first_n_see_alive(3));
  for (const auto& n : nodes_) {
    EXPECT_EQ(n->stats().plaintext_dropped + n->stats().auth_failed_dropped + n->stats().malformed_dropped, 0u);
  }
}
INSTANTIATE_TEST_SUITE_P(gossip, rolling_switch_on,
                         ::testing::Values(std::array{phase::keyless, phase::one, phase::one},
                                           std::array{phase::one, phase::two, phase::one},
                                           std::array{phase::two, phase::three, phase::two}));

}  // namespace
}  // namespace chronik::gossip
