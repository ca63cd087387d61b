// gossip/net/gossip_node on loopback: three real nodes on one io_context form a cluster, survive
// malformed and oversized input on both transports, and see a graceful leave. Every wait is a
// bounded run_for loop on a predicate; there are no sleeps.
#include "gossip/net/gossip_node.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <unistd.h>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chronik::gossip {
namespace {

using namespace std::chrono_literals;

// Distinct per process so that parallel ctest runs (and other suites) rarely collide.
// Below 32768, where Linux picks ephemeral ports for outgoing connections (a leftover connection
// there can hold a port this test wants to bind), and apart from the cluster suites (20000+).
std::uint16_t base_port() { return static_cast<std::uint16_t>(10000 + (::getpid() % 400) * 20); }

std::shared_ptr<spdlog::logger> test_logger(int i) {
  auto log = std::make_shared<spdlog::logger>("gossip-" + std::to_string(i),
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
  log->set_level(spdlog::level::warn);
  return log;
}

node_options options(int i, std::uint16_t base) {
  node_options o;
  o.bind_ip = "127.0.0.1";
  o.port = static_cast<std::uint16_t>(base + i);
  if (i > 0) o.seeds = {"127.0.0.1:" + std::to_string(base + i - 1)};  // chained seeds
  o.cfg = config::local();
  o.self.id = node_id{static_cast<std::uint32_t>(i + 1)};
  o.self.uuid = std::string(16, static_cast<char>('a' + i));
  o.self.cluster = "node-test";
  o.rng_seed = static_cast<std::uint64_t>(i + 1);
  return o;
}

// Runs the io_context in short slices until pred() holds or max_wait passes.
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

std::size_t count_in_state(const gossip_node& n, member_state state) {
  std::size_t count = 0;
  for (const auto& s : n.members()) count += s.m.state == state ? 1 : 0;
  return count;
}

std::optional<member_state> state_of(const gossip_node& n, node_id id) {
  for (const auto& s : n.members()) {
    if (s.m.id == id) return s.m.state;
  }
  return std::nullopt;
}

class gossip_node_test : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      nodes_.push_back(std::make_unique<gossip_node>(io_, options(i, base_), test_logger(i)));
      nodes_.back()->on_member_event([this](const member_event&) { ++events_; });
      auto started = nodes_.back()->start();
      ASSERT_TRUE(started.has_value()) << started.error();
    }
  }

  bool all_see_alive(std::size_t n) {
    for (const auto& node : nodes_) {
      if (count_in_state(*node, member_state::alive) != n) return false;
    }
    return true;
  }

  std::uint64_t total(std::uint64_t net_stats::*field) const {
    std::uint64_t sum = 0;
    for (const auto& node : nodes_) sum += node->stats().*field;
    return sum;
  }

  std::uint16_t base_ = base_port();
  asio::io_context io_;  // declared before the nodes: destroyed after them
  std::vector<std::unique_ptr<gossip_node>> nodes_;
  std::size_t events_ = 0;
};

TEST_F(gossip_node_test, forms_cluster_survives_garbage_and_sees_leave) {
  ASSERT_TRUE(run_until(io_, [&] { return all_see_alive(3); }, 10s)) << "cluster did not form";
  EXPECT_GE(events_, 6u);  // every node saw the other two join
  // Formation itself may be all push-pull; probing then goes over UDP within a probe period.
  EXPECT_TRUE(run_until(io_, [&] { return total(&net_stats::datagrams_sent) > 0; }, 5s));
  EXPECT_GT(total(&net_stats::streams_received), 0u);  // the join push-pull goes over TCP

  // Garbage over UDP: unparseable, empty, wrong version, and one datagram over the size limit.
  const auto malformed_before = nodes_[0]->stats().malformed_dropped;
  const auto oversized_before = nodes_[0]->stats().oversized_dropped;
  asio::ip::udp::socket raw(io_, asio::ip::udp::endpoint(asio::ip::udp::v4(), 0));
  const asio::ip::udp::endpoint target(asio::ip::make_address_v4("127.0.0.1"), base_);
  const std::vector<std::string> junk = {"hello", std::string("\xff\xff\xff", 3), "",
                                         std::string("\x08\x07", 2)};
  for (const auto& j : junk) raw.send_to(asio::buffer(j), target);
  raw.send_to(asio::buffer(std::string(2000, 'x')), target);
  ASSERT_TRUE(run_until(
      io_,
      [&] {
        const auto s = nodes_[0]->stats();
        return s.malformed_dropped >= malformed_before + junk.size() &&
               s.oversized_dropped >= oversized_before + 1;
      },
      5s));

  // Garbage over TCP: a length prefix above the 8 MiB limit, then a well-framed garbage body.
  const asio::ip::tcp::endpoint tcp_target(target.address(), base_);
  asio::ip::tcp::socket big(io_);
  big.connect(tcp_target);
  asio::write(big, asio::buffer(std::string("\xff\xff\xff\xff", 4)));
  asio::ip::tcp::socket bad(io_);
  bad.connect(tcp_target);
  asio::write(bad, asio::buffer(std::string("\x00\x00\x00\x03zzz", 7)));
  ASSERT_TRUE(run_until(
      io_,
      [&] {
        const auto s = nodes_[0]->stats();
        return s.oversized_dropped >= oversized_before + 2 &&
               s.malformed_dropped >= malformed_before + junk.size() + 1;
      },
      5s));

  // Still a healthy cluster a few probe rounds later.
  const auto now = std::chrono::steady_clock::now();
  run_until(io_, [&] { return std::chrono::steady_clock::now() >= now + 300ms; }, 1s);
  EXPECT_TRUE(all_see_alive(3));

  // Graceful leave of node 3: the others mark it left, not dead.
  bool left_done = false;
  nodes_[2]->leave(2s, [&] { left_done = true; });
  ASSERT_TRUE(run_until(io_, [&] { return left_done; }, 5s));
  nodes_[2]->stop();
  const node_id leaver{3};
  ASSERT_TRUE(run_until(
      io_,
      [&] {
        return state_of(*nodes_[0], leaver) == member_state::left &&
               state_of(*nodes_[1], leaver) == member_state::left;
      },
      10s));
  EXPECT_EQ(nodes_[2]->stats().send_errors, 0u);
}

// A hard-stopped node (a killed process: its port closed, its host up) makes the kernel answer the
// survivors' probes with ICMP port unreachable. The shell takes those from the socket's error queue
// and the probes fail without waiting for their deadline; the survivors keep each other alive.
TEST_F(gossip_node_test, stopped_process_bounces_probes_and_is_declared_dead) {
  ASSERT_TRUE(run_until(io_, [&] { return all_see_alive(3); }, 10s)) << "cluster did not form";
  nodes_[2]->stop();
  const node_id gone{3};
  ASSERT_TRUE(run_until(
      io_,
      [&] {
        return state_of(*nodes_[0], gone) == member_state::dead &&
               state_of(*nodes_[1], gone) == member_state::dead;
      },
      10s));
  std::uint64_t bounces = 0, refused = 0;
  for (int i = 0; i < 2; ++i) {
    bounces += nodes_[i]->stats().bounces_received;
    refused += nodes_[i]->core().stats().probes_refused;
    EXPECT_EQ(count_in_state(*nodes_[i], member_state::alive), 2u);
  }
  EXPECT_GT(bounces, 0u);
  EXPECT_GT(refused, 0u);
}

TEST_F(gossip_node_test, second_bind_on_same_port_fails_cleanly) {
  auto opts = options(0, base_);
  opts.self.id = node_id{99};
  gossip_node dup(io_, opts, test_logger(99));
  auto started = dup.start();
  ASSERT_FALSE(started.has_value());
  EXPECT_NE(started.error().find("bind"), std::string::npos) << started.error();

  // leave() on a node that never started still answers, exactly once.
  int calls = 0;
  dup.leave(1s, [&] { ++calls; });
  ASSERT_TRUE(run_until(io_, [&] { return calls > 0; }, 2s));
  dup.stop();
  dup.stop();  // idempotent
  EXPECT_EQ(calls, 1);
}

TEST_F(gossip_node_test, stop_then_destroy_with_pending_work_is_clean) {
  ASSERT_TRUE(run_until(io_, [&] { return all_see_alive(3); }, 10s));
  for (auto& n : nodes_) n->stop();
  nodes_.clear();  // handlers still queued in io_ must not touch the destroyed nodes
  io_.restart();
  io_.run_for(200ms);
  EXPECT_TRUE(io_.stopped());  // stop() left no timers or sockets behind
}

// With external_tick the node arms no timer of its own: an owner's loop (here one timer that reads
// the clock once per tick, as chronik-server's node does) drives it, the nodes form a cluster and
// see a leave, and the tick lateness is measured from the owner's `now`.
TEST(gossip_node_external_tick, owner_loop_drives_the_nodes_and_lateness_comes_from_its_now) {
  const std::uint16_t base = static_cast<std::uint16_t>(base_port() + 10);
  asio::io_context io;
  std::vector<std::unique_ptr<gossip_node>> nodes;
  for (int i = 0; i < 3; ++i) {
    auto o = options(i, base);
    o.external_tick = true;
    nodes.push_back(std::make_unique<gossip_node>(io, o, test_logger(i)));
    auto started = nodes.back()->start();
    ASSERT_TRUE(started.has_value()) << started.error();
  }
  asio::steady_timer loop(io);
  std::uint64_t loop_ticks = 0;
  std::function<void()> arm = [&] {
    loop.expires_after(std::chrono::milliseconds(config::local().tick_ms));
    loop.async_wait([&](asio::error_code ec) {
      if (ec) return;
      const auto now = std::chrono::steady_clock::now();
      for (auto& n : nodes) n->tick(now);
      ++loop_ticks;
      arm();
    });
  };
  arm();
  auto alive_everywhere = [&](std::size_t n) {
    for (const auto& node : nodes) {
      if (count_in_state(*node, member_state::alive) != n) return false;
    }
    return true;
  };
  ASSERT_TRUE(run_until(io, [&] { return alive_everywhere(3); }, 10s)) << "cluster did not form";
  EXPECT_GT(loop_ticks, 0u);

  // A tick the owner reports 300 ms from now is late by that much, less the part of a tick period
  // by which the next tick lies ahead of now.
  nodes[0]->tick(std::chrono::steady_clock::now() + 300ms);
  EXPECT_GE(nodes[0]->stats().tick_late_max_ms, 300u - config::local().tick_ms);

  bool left = false;
  nodes[2]->leave(2s, [&] { left = true; });
  ASSERT_TRUE(run_until(io, [&] { return left; }, 5s));
  nodes[2]->stop();
  EXPECT_TRUE(run_until(
      io, [&] { return state_of(*nodes[0], node_id{3}) == member_state::left; }, 5s));
  loop.cancel();
  for (auto& n : nodes) n->stop();
}

}  // namespace
}  // namespace chronik::gossip
