// Daemon admin surface: the /health, /v1/members and /v1/cluster endpoints on loopback, the members
// table of `chronik-server cluster members`, the status text of `cluster status`, the RFC 3339
// timestamps and the NodeMeta round trip.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <random>
#include <mutex>
#include <thread>

#include <asio/executor_work_guard.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "daemon/admin_server.h"
#include "daemon/config.h"
#include "daemon/logging.h"
#include "daemon/members_command.h"
#include "daemon/meta_service.h"
#include "daemon/node_identity.h"
#include "daemon/node_meta.h"
#include "daemon/status_command.h"

namespace chronik::daemon {
namespace {

using namespace std::chrono_literals;

gossip::member_snapshot sample_member(std::uint32_t id, gossip::member_state state, std::string meta) {
  gossip::member m;
  m.id = gossip::node_id{id};
  m.uuid = std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
  m.addr = "127.0.0.1:" + std::to_string(7945 + id);
  m.meta = std::move(meta);
  m.inc = gossip::incarnation{id * 10};
  m.state = state;
  return {m, std::chrono::system_clock::time_point(1'700'000'000'123ms)};
}

TEST(admin_format_test, rfc3339_utc) {
  using tp = std::chrono::system_clock::time_point;
  EXPECT_EQ(format_rfc3339_utc(tp(1234ms)), "1970-01-01T00:00:01.234Z");
  EXPECT_EQ(format_rfc3339_utc(tp(1'700'000'000'123ms)), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(format_rfc3339_utc(tp(-1ms)), "1969-12-31T23:59:59.999Z");
}

TEST(admin_format_test, node_meta_round_trip) {
  node_config cfg;
  cfg.node_id = gossip::node_id{4};
  cfg.bind = "10.0.0.4";
  cfg.cluster_name = "blue";
  cfg.bootstrap_expect = 5;
  auto uuid = node_uuid::from_hex("00112233445566778899aabbccddeeff");
  ASSERT_TRUE(uuid);
  auto view = decode_node_meta(encode_fresh_node_meta(cfg, *uuid));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->node_id, 4u);
  EXPECT_EQ(view->node_uuid_hex, "00112233445566778899aabbccddeeff");
  EXPECT_EQ(view->cluster_name, "blue");
  EXPECT_EQ(view->bootstrap_expect, 5u);
  EXPECT_EQ(view->formation, "fresh");
  EXPECT_EQ(view->rpc_addr, "10.0.0.4:9093");
  EXPECT_EQ(view->kafka_addr, "10.0.0.4:9092");
  // The admin endpoint stays on loopback for a node on a routable address unless admin_bind says.
  EXPECT_EQ(view->admin_addr, "127.0.0.1:9644");
  cfg.admin_bind = "10.0.0.4";
  EXPECT_EQ(decode_node_meta(encode_fresh_node_meta(cfg, *uuid))->admin_addr, "10.0.0.4:9644");
  EXPECT_EQ(view->version, "0.1.0");
  EXPECT_FALSE(view->storage_failed);
  EXPECT_FALSE(decode_node_meta(""));
  EXPECT_FALSE(decode_node_meta("\xff\xff\xff"));
}

// A node fenced by a failed WAL says so in gossip (docs/storage.md "Disk faults"), and says so no
// longer once it reopened it.
TEST(admin_format_test, node_meta_carries_the_storage_fence) {
  node_config cfg;
  cfg.node_id = gossip::node_id{3};
  auto uuid = node_uuid::from_hex("00112233445566778899aabbccddeeff");
  ASSERT_TRUE(uuid);
  auto fenced = decode_node_meta(encode_node_meta(cfg, *uuid, {}, {}, true));
  ASSERT_TRUE(fenced);
  EXPECT_TRUE(fenced->storage_failed);
  EXPECT_EQ(fenced->node_id, 3u);
  auto healthy = decode_node_meta(encode_node_meta(cfg, *uuid, {}, {}, false));
  ASSERT_TRUE(healthy);
  EXPECT_FALSE(healthy->storage_failed);
}

TEST(admin_format_test, member_json_has_every_key) {
  node_config cfg;
  auto uuid = node_uuid::from_hex("00112233445566778899aabbccddeeff");
  auto j = member_to_json(sample_member(2, gossip::member_state::suspect, encode_fresh_node_meta(cfg, *uuid)));
  EXPECT_EQ(j["node_id"], 2);
  EXPECT_EQ(j["address"], "127.0.0.1:7947");
  EXPECT_EQ(j["state"], "suspect");
  EXPECT_EQ(j["incarnation"], 20);
  EXPECT_EQ(j["last_change"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(j["uuid"], "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(j["kafka_addr"], "127.0.0.1:9092");
  EXPECT_EQ(j["rpc_addr"], "127.0.0.1:9093");
  EXPECT_EQ(j["admin_addr"], "127.0.0.1:9644");
  EXPECT_EQ(j["cluster_name"], "chronik");
  EXPECT_EQ(j["formation"], "fresh");

  auto no_meta = member_to_json(sample_member(3, gossip::member_state::left, ""));
  EXPECT_EQ(no_meta["state"], "left");
  EXPECT_TRUE(no_meta["kafka_addr"].is_null());
}

TEST(admin_format_test, members_table_is_aligned) {
  auto members = nlohmann::json::array();
  members.push_back(member_to_json(sample_member(1, gossip::member_state::alive, "")));
  members.push_back(member_to_json(sample_member(12, gossip::member_state::dead, "")));
  auto table = format_members_table(members);
  ASSERT_TRUE(table) << table.error();
  EXPECT_EQ(*table,
            "NODE  ADDRESS         STATE  INCARNATION  LAST CHANGE               FORMATION  CLUSTER\n"
            "1     127.0.0.1:7946  alive  10           2023-11-14T22:13:20.123Z  -          -\n"
            "12    127.0.0.1:7957  dead   120          2023-11-14T22:13:20.123Z  -          -\n");
  EXPECT_FALSE(format_members_table(nlohmann::json::object()));
  EXPECT_FALSE(format_members_table(nlohmann::json::array({1, 2})));
}

cluster_status sample_cluster() {
  cluster_status s;
  s.cluster_id = "c0ffee";
  s.running = true;
  s.meta_leader = 2;
  s.term = 3;
  s.commit = 9;
  s.voters = {1, 2, 3};
  s.learners = {4};
  s.brokers = {{1, "u1", "127.0.0.1:9092", "127.0.0.1:9093", "alive"},
               {2, "u2", "127.0.0.2:9092", "127.0.0.2:9093", "alive", true, "moving"},
               {4, "u4", "127.0.0.4:9092", "127.0.0.4:9093", "dead"}};
  return s;
}

TEST(admin_format_test, cluster_json_and_status_text) {
  auto j = cluster_status_to_json(sample_cluster());
  EXPECT_EQ(j["cluster_id"], "c0ffee");
  EXPECT_EQ(j["meta_leader"], 2);
  EXPECT_EQ(j["term"], 3);
  EXPECT_EQ(j["commit"], 9);
  EXPECT_EQ(j["voters"], nlohmann::json::array({1, 2, 3}));
  ASSERT_EQ(j["brokers"].size(), 3u);
  EXPECT_EQ(j["brokers"][2]["node_id"], 4);
  // The same address names as /v1/members (kafka_addr, rpc_addr), never a second spelling.
  EXPECT_EQ(j["brokers"][2]["kafka_addr"], "127.0.0.4:9092");
  EXPECT_EQ(j["brokers"][2]["rpc_addr"], "127.0.0.4:9093");
  EXPECT_FALSE(j["brokers"][2].contains("kafka_address"));
  EXPECT_EQ(j["brokers"][2]["state"], "dead");
  // The operator's marks: maintenance mode and decommission.
  EXPECT_EQ(j["brokers"][1]["drained"], true);
  EXPECT_EQ(j["brokers"][1]["decommission"], "moving");
  EXPECT_EQ(j["brokers"][2]["drained"], false);
  EXPECT_EQ(j["brokers"][2]["decommission"], "none");
  EXPECT_TRUE(cluster_status_to_json(cluster_status{})["cluster_id"].is_null());

  auto text = format_cluster_status(j);
  ASSERT_TRUE(text) << text.error();
  EXPECT_NE(text->find("cluster id:   c0ffee\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("meta leader:  2\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("voters:       1,2,3\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("1       127.0.0.1:9092  127.0.0.1:9093  voter    alive  u1\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("2       127.0.0.2:9092  127.0.0.2:9093  leader   alive  u2\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("4       127.0.0.4:9092  127.0.0.4:9093  learner  dead   u4\n"), std::string::npos) << *text;
  j["nodes"] = nlohmann::json::array({{{"node_id", 1}, {"state", "alive"}, {"formation", "member"}, {"cluster_id", "c0ffee"}},
                                       {{"node_id", 4}, {"state", "alive"}, {"formation", "fresh"}, {"cluster_id", nullptr}}});
  auto with_nodes = format_cluster_status(j);
  ASSERT_TRUE(with_nodes);
  EXPECT_NE(with_nodes->find("nodes:        1 alive member, 4 alive fresh\n"), std::string::npos) << *with_nodes;
  EXPECT_FALSE(format_cluster_status(nlohmann::json::array()));
  EXPECT_FALSE(format_cluster_status(nlohmann::json{{"brokers", 1}}));
}

// An admin server on a random loopback port, with the io_context run by a thread of its own
// (as main runs it), or not run at all to exercise the 503 path.
class admin_server_test : public ::testing::Test {
 protected:
  void start_server(bool run_io) {
    std::random_device rd;
    for (int attempt = 0; attempt < 20; ++attempt) {
      // Below 32768, where Linux picks ephemeral ports for outgoing connections.
      const auto port = static_cast<std::uint16_t>(28000 + rd() % 4000);
      admin_options opts{"127.0.0.1", port, 7, "00112233445566778899aabbccddeeff", "chronik", token, 300ms};
      server_.emplace(io_, opts, [this] { return members_; }, module_logger("admin"));
      // A route of the kind the keyring endpoints add: it reaches the io thread through call_on_io.
      server_->add_route(admin_server::method::post, "/v1/echo/(one|two)", [this](const admin_server::request& req) {
        auto on_io = server_->call_on_io([&req] { return nlohmann::json{{"body", req.body}}; });
        if (!on_io) return admin_server::answer{503, nlohmann::json{{"error", on_io.error()}}};
        return admin_server::answer{201, nlohmann::json{{"match", req.match}, {"scope", req.scope}, {"io", *on_io}}};
      });
      server_->set_cluster_source([this](admin_server::cluster_reply reply) {
        switch (cluster_answer_.load()) {
          case answer::now: reply(cluster_status_to_json(sample_cluster())); break;
          // Later, from another io task, as a ReadIndex answer arrives.
          case answer::later:
            asio::post(io_, [reply = std::move(reply)] { reply(cluster_status_to_json(sample_cluster())); });
            break;
          case answer::never: break;
        }
      });
      server_->set_metrics_source([] { return std::string("chronik_up 1\n"); });
      server_->add_open_page("/page", "<p>no data</p>", {{"Content-Security-Policy", "default-src 'none'"}});
      server_->set_ready_source([this](admin_server::ready_reply reply) {
        // Like the node's ReadIndex round: answered from a later io task.
        asio::post(io_, [this, reply = std::move(reply)] { reply(ready_reason()); });
      });
      if (server_->start()) {
        port_ = port;
        break;
      }
      server_.reset();
    }
    ASSERT_TRUE(server_) << "no free port";
    if (run_io) io_thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    work_.reset();
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
  }
  // With the server's token unless `bearer` says otherwise (nullopt: no Authorization header).
  httplib::Result get(const std::string& path, std::optional<std::string> bearer = token) {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(5s);
    if (bearer) client.set_bearer_token_auth(*bearer);
    return client.Get(path.c_str());
  }

  static constexpr const char* token = "test-token-0123456789abcdef";

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::vector<gossip::member_snapshot> members_{sample_member(1, gossip::member_state::alive, ""),
                                                sample_member(2, gossip::member_state::dead, "")};
  enum class answer { now, later, never };
  std::atomic<answer> cluster_answer_{answer::now};  // read on the io thread
  // The ready source's answer: set by the test, read on the io thread.
  std::mutex ready_mu_;
  std::string ready_reason_;
  std::string ready_reason() {
    std::lock_guard lock(ready_mu_);
    return ready_reason_;
  }
  void set_ready_reason(std::string r) {
    std::lock_guard lock(ready_mu_);
    ready_reason_ = std::move(r);
  }
  std::optional<admin_server> server_;
  std::thread io_thread_;
  std::uint16_t port_ = 0;
};

TEST_F(admin_server_test, health_members_cluster_and_not_found) {
  start_server(true);
  // Not ready until the node reports itself a registered broker with a known leader.
  auto health = get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  auto h = nlohmann::json::parse(health->body);
  EXPECT_EQ(h["status"], "not ready");
  EXPECT_EQ(h["reason"], "starting");
  EXPECT_EQ(h["node_id"], 7);
  server_->set_health(false, "no known __meta leader");
  health = get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  EXPECT_EQ(nlohmann::json::parse(health->body)["reason"], "no known __meta leader");
  server_->set_health(true, "ready");
  health = get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  h = nlohmann::json::parse(health->body);
  EXPECT_EQ(h["status"], "ready");
  EXPECT_FALSE(h.contains("reason"));

  auto cluster = get("/v1/cluster");
  ASSERT_TRUE(cluster);
  EXPECT_EQ(cluster->status, 200);
  auto c = nlohmann::json::parse(cluster->body);
  EXPECT_EQ(c["cluster_id"], "c0ffee");
  EXPECT_EQ(c["meta_leader"], 2);
  EXPECT_EQ(c["brokers"].size(), 3u);

  auto members = get("/v1/members");
  ASSERT_TRUE(members);
  EXPECT_EQ(members->status, 200);
  EXPECT_EQ(members->get_header_value("Content-Type"), "application/json");
  auto m = nlohmann::json::parse(members->body);
  ASSERT_TRUE(m.is_array());
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[1]["node_id"], 2);
  EXPECT_EQ(m[1]["state"], "dead");

  auto missing = get("/v2/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

// Issue 18: /v1/members gave the cluster name, id and every uuid to anyone. Now everything but
// /health needs the bearer token, and /health itself names no uuid, cluster name or id.
TEST_F(admin_server_test, everything_but_health_needs_the_token_and_refusals_are_counted) {
  start_server(true);
  server_->set_health(true, "ready");
  EXPECT_EQ(server_->unauthorized_count(), 0u);
  for (const std::string path : {"/v1/members", "/v1/cluster", "/v2/nothing", "/health/x"}) {
    auto none = get(path, std::nullopt);
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401) << path;
    EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer realm=\"chronik-admin\"");
    EXPECT_EQ(none->body.find("node_id"), std::string::npos);
    auto wrong = get(path, std::string("test-token-0123456789abcdeX"));
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401) << path;
    auto prefix = get(path, std::string("test-token"));
    ASSERT_TRUE(prefix);
    EXPECT_EQ(prefix->status, 401) << path;
  }
  EXPECT_EQ(server_->unauthorized_count(), 12u);
  // Another scheme with the right token is still not a bearer token.
  httplib::Client basic("127.0.0.1", port_);
  basic.set_basic_auth("admin", token);
  auto refused = basic.Get("/v1/members");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(server_->unauthorized_count(), 13u);

  auto health = get("/health", std::nullopt);
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  const auto h = nlohmann::json::parse(health->body);
  EXPECT_EQ(h["node_id"], 7);
  EXPECT_FALSE(h.contains("node_uuid"));
  EXPECT_FALSE(h.contains("cluster_name"));
  EXPECT_EQ(health->body.find("00112233445566778899aabbccddeeff"), std::string::npos);
  EXPECT_EQ(server_->unauthorized_count(), 13u);
}

TEST_F(admin_server_test, added_routes_are_protected_and_reach_the_io_thread) {
  start_server(true);
  httplib::Client client("127.0.0.1", port_);
  auto refused = client.Post("/v1/echo/one", "{}", "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  client.set_bearer_token_auth(token);
  auto res = client.Post("/v1/echo/two?scope=node", R"({"k":1})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  const auto j = nlohmann::json::parse(res->body);
  EXPECT_EQ(j["match"], "two");
  EXPECT_EQ(j["scope"], "node");
  EXPECT_EQ(j["io"]["body"], R"({"k":1})");
  auto missing = client.Post("/v1/echo/three", "{}", "application/json");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

// docs/security.md "Admin HTTP": a page is open (it holds no data), at its exact path and for GET only.
TEST_F(admin_server_test, open_pages_need_no_token_and_only_they) {
  start_server(true);
  auto page = get("/page", std::nullopt);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->body, "<p>no data</p>");
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->get_header_value("Content-Security-Policy"), "default-src 'none'");
  for (const char* path : {"/page/x", "/pagex", "/page?x=1/../v1/members"}) {
    auto other = get(path, std::nullopt);
    ASSERT_TRUE(other);
    EXPECT_EQ(other->status, std::string_view(path).starts_with("/page?") ? 200 : 401) << path;
  }
  httplib::Client client("127.0.0.1", port_);
  auto post = client.Post("/page", "{}", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 401);
  EXPECT_EQ(server_->unauthorized_count(), 3u);
}

// docs/operations.md "Metrics and readiness": /ready is open like /health, follows /health first
// and then the io thread's answer; /metrics needs the token and is Prometheus text.
TEST_F(admin_server_test, ready_is_open_and_metrics_need_the_token) {
  start_server(true);
  auto ready = get("/ready", std::nullopt);
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(nlohmann::json::parse(ready->body)["reason"], "starting");  // /health's, not asked further
  server_->set_health(true, "ready");
  set_ready_reason("catching up: __meta has not reached the leader's commit index");
  ready = get("/ready", std::nullopt);
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(nlohmann::json::parse(ready->body)["reason"], "catching up: __meta has not reached the leader's commit index");
  set_ready_reason("");
  ready = get("/ready", std::nullopt);
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(nlohmann::json::parse(ready->body), (nlohmann::json{{"status", "ready"}, {"node_id", 7}}));

  auto anonymous = get("/metrics", std::nullopt);
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  auto metrics = get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(metrics->body, "chronik_up 1\n");
}

TEST_F(admin_server_test, ready_is_503_when_io_thread_does_not_answer) {
  start_server(false);
  server_->set_health(true, "ready");
  auto ready = get("/ready", std::nullopt);
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(nlohmann::json::parse(ready->body)["reason"], "io thread did not answer in time");
}

TEST_F(admin_server_test, cluster_answered_later_is_served_and_never_answered_is_503) {
  cluster_answer_ = answer::later;
  start_server(true);
  auto later = get("/v1/cluster");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 200);
  EXPECT_EQ(nlohmann::json::parse(later->body)["cluster_id"], "c0ffee");
  cluster_answer_ = answer::never;
  auto never = get("/v1/cluster");
  ASSERT_TRUE(never);
  EXPECT_EQ(never->status, 503);
}

TEST_F(admin_server_test, members_is_503_when_io_thread_does_not_answer) {
  start_server(false);
  auto members = get("/v1/members");
  ASSERT_TRUE(members);
  EXPECT_EQ(members->status, 503);
  auto cluster = get("/v1/cluster");
  ASSERT_TRUE(cluster);
  EXPECT_EQ(cluster->status, 503);
  // /health does not need the io thread: it answers from the last readiness reported.
  server_->set_health(true, "ready");
  auto health = get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

// 500 idle connections used to take /health offline: each held one of the two worker threads
// for the whole keep-alive wait (1 s), so a health check queued behind them for minutes. 60 are
// enough to show it (30 s of queue before, under 0.1 s now); httplib's accept loop admits only
// a few connections a second here, so more would only make the test slow.
TEST_F(admin_server_test, idle_connections_do_not_take_health_offline) {
  start_server(true);
  server_->set_health(true, "");
  asio::io_context client_io;
  std::vector<asio::ip::tcp::socket> idle;
  for (int i = 0; i < 60; ++i) {
    idle.emplace_back(client_io).connect({asio::ip::make_address("127.0.0.1"), port_});
  }
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(10s);
  client.set_read_timeout(10s);  // a bound for the failure case, not a speed assertion
  auto health = client.Get("/health");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
}

// Everything `sock` receives until the peer closes it or an error ends it (in `ec`).
std::string read_until_closed(asio::ip::tcp::socket& sock, std::error_code& ec) {
  std::string out;
  char buf[4096];
  while (!ec) {
    const std::size_t n = sock.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
  }
  return out;
}

// The server closes a connection 10 ms after a response, so it must not offer it for reuse: a
// browser that sent its next request on it just as it closed got "Failed to fetch" (the status
// page, about half of headless Chromium's runs). Each response says "Connection: close" and the
// server then closes, even when the client asked to keep the connection.
TEST_F(admin_server_test, every_response_closes_its_connection) {
  start_server(true);
  server_->set_health(true, "");
  asio::io_context client_io;
  asio::ip::tcp::socket sock(client_io);
  sock.connect({asio::ip::make_address("127.0.0.1"), port_});
  const std::string request = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n";
  asio::write(sock, asio::buffer(request));
  std::error_code ec;
  // Read until the server closes: a kept connection would block here until its timeout.
  const std::string response = read_until_closed(sock, ec);
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  EXPECT_TRUE(response.starts_with("HTTP/1.1 200")) << response;
  EXPECT_NE(response.find("\r\nConnection: close\r\n"), std::string::npos) << response;
}

// httplib gives a new connection one 10 ms poll for its first bytes; a client that connected and
// wrote its request a little later (headless Chromium, by about 10 ms) found the connection closed
// ("Failed to fetch" on the status page). The 100 ms pause is the slow client under test, not a
// wait for the server.
TEST_F(admin_server_test, a_request_sent_a_while_after_connecting_is_answered) {
  start_server(true);
  server_->set_health(true, "");
  asio::io_context client_io;
  asio::ip::tcp::socket sock(client_io);
  sock.connect({asio::ip::make_address("127.0.0.1"), port_});
  std::this_thread::sleep_for(100ms);
  std::error_code ec;
  asio::write(sock, asio::buffer(std::string_view("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")), ec);
  ASSERT_FALSE(ec) << ec.message();
  const std::string response = read_until_closed(sock, ec);
  EXPECT_TRUE(response.starts_with("HTTP/1.1 200")) << "got: '" << response << "' then " << ec.message();
}

TEST_F(admin_server_test, second_server_on_the_same_port_fails) {
  start_server(true);
  admin_options opts{"127.0.0.1", port_, 8, "", "chronik", token, 300ms};
  admin_server other(io_, opts, [] { return std::vector<gossip::member_snapshot>{}; }, module_logger("admin"));
  auto started = other.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().find("cannot listen on 127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << started.error();
}

TEST_F(admin_server_test, stop_is_idempotent_and_frees_the_port) {
  start_server(true);
  server_->stop();
  server_->stop();
  EXPECT_FALSE(get("/health"));
}

}  // namespace
}  // namespace chronik::daemon
