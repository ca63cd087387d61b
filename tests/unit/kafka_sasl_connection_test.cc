// SASL on a kafka/server listener (docs/security.md "Client authentication: SASL"), end to end
// over a real socket with the real dispatcher and sasl_gate: before authentication only
// ApiVersions, SaslHandshake and SaslAuthenticate pass and anything else closes the connection; a
// good PLAIN or SCRAM exchange lets requests through with the principal set; a wrong password gets
// SASL_AUTHENTICATION_FAILED and then the close; the legacy raw tokens after SaslHandshake v0; a
// frame over the unauthenticated bound closes; a PLAINTEXT listener is not gated.
#include <array>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <gtest/gtest.h>
#include <poll.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "kafka/acl/acl_authorizer.h"
#include "kafka/handlers/dispatcher.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/api_versions.h"
#include "kafka/protocol/messages/describe_user_scram_credentials.h"
#include "kafka/protocol/messages/sasl_authenticate.h"
#include "kafka/protocol/messages/sasl_handshake.h"
#include "kafka/sasl/base64.h"
#include "kafka/sasl/scram_crypto.h"
#include "kafka/server/kafka_server.h"

namespace chronik::kafka {
namespace {

using namespace std::string_literals;

class fake_context : public broker_context {
 public:
  chronik::node_id node_id() const override { return chronik::node_id{1}; }
  std::optional<std::string> cluster_id() const override { return "c"; }
  chronik::node_id controller_id() const override { return chronik::node_id{1}; }
  std::vector<broker_info> brokers() const override { return {}; }
  std::vector<topic_info> topics() const override { return {}; }
  std::optional<topic_info> topic(std::string_view) const override { return std::nullopt; }
  broker_defaults defaults() const override { return {}; }
  void create_topics(std::vector<topic_request>, bool, std::chrono::milliseconds, topics_done) override {}
  void delete_topics(std::vector<std::string>, std::chrono::milliseconds, topics_done) override {}
  partition_manager& partitions() override { std::abort(); }
  std::optional<sasl::scram_credential> scram_credential(std::string_view user, sasl::scram_mechanism m) const override {
    if (user != "alice") return std::nullopt;
    return sasl::make_credential(m, "wonderland", "salt-of-alice", 4096);
  }
  std::vector<scram_user_info> scram_users() const override { return {{"alice", {}}}; }
  // Everyone may everything: describe_users_answers() probes that a request passes after
  // authentication, and DescribeUserScramCredentials needs DESCRIBE on the cluster.
  const acl::authorizer& authorizer() const override { return auth_; }

 private:
  acl::authorizer auth_{{{}, acl::no_acl_rule::allow}};
};

// The dispatcher, remembering the principal of the last request it handled.
class recording_dispatcher : public request_handler {
 public:
  recording_dispatcher(broker_context& ctx, std::shared_ptr<spdlog::logger> log) : inner_(ctx, std::move(log)) {}
  void handle(const client_info& client, std::string frame, reply_fn reply) override {
    {
      std::lock_guard lock(mu_);
      principals_.push_back(client.principal);
    }
    inner_.handle(client, std::move(frame), std::move(reply));
  }
  std::unique_ptr<authenticator> new_authenticator(const client_info& client) override {
    return inner_.new_authenticator(client);
  }
  std::vector<std::string> principals() {
    std::lock_guard lock(mu_);
    return principals_;
  }

 private:
  dispatcher inner_;
  std::mutex mu_;
  std::vector<std::string> principals_;
};

std::string framed(const std::string& frame) {
  const auto n = static_cast<std::uint32_t>(frame.size());
  std::string out{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  return out + frame;
}

template <typename Body>
std::string request(api_key key, std::int16_t version, Body body) {
  writer w;
  encode_request_header({key, version, 9, std::string("test")}, w);
  body(w);
  return framed(w.take());
}

std::optional<std::string> receive(asio::ip::tcp::socket& s) {
  std::array<std::uint8_t, 4> size{};
  asio::error_code ec;
  asio::read(s, asio::buffer(size), ec);
  if (ec) return std::nullopt;
  const std::uint32_t n = (std::uint32_t{size[0]} << 24) | (std::uint32_t{size[1]} << 16) |
                          (std::uint32_t{size[2]} << 8) | std::uint32_t{size[3]};
  std::string body(n, '\0');
  asio::read(s, asio::buffer(body), ec);
  if (ec) return std::nullopt;
  return body;
}

// Waits (at most 10 s) for the server to close `s`.
bool closed_by_server(asio::ip::tcp::socket& s) {
  for (int i = 0; i < 100; ++i) {
    pollfd p{s.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 10'000) != 1) return false;
    std::array<char, 4096> junk{};
    asio::error_code ec;
    s.read_some(asio::buffer(junk), ec);
    if (ec == asio::error::eof || ec == asio::error::connection_reset) return true;
    if (ec) return false;
  }
  return false;
}

template <typename Resp, typename Decode>
Resp decoded(const std::optional<std::string>& bytes, api_key key, std::int16_t version, Decode decode) {
  EXPECT_TRUE(bytes.has_value());
  if (!bytes) return {};
  reader r(*bytes);
  EXPECT_TRUE(decode_response_header(r, key, version));
  auto m = decode(r, version);
  EXPECT_TRUE(m.has_value());
  return m.value_or(Resp{});
}

class kafka_sasl_connection_test : public ::testing::Test {
 protected:
  void SetUp() override {
    server_config cfg;
    cfg.listeners = {listener_spec{"PLAINTEXT", security_protocol::plaintext, "127.0.0.1", 0},
                     listener_spec{"SASL_PLAINTEXT", security_protocol::sasl_plaintext, "127.0.0.1", 0}};
    server_.emplace(io_, cfg, handler_, log_);
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] { server_->stop(); });
    work_.reset();
    thread_.join();
  }
  asio::ip::tcp::socket connect(const char* listener) {
    asio::ip::tcp::socket s(client_io_);
    s.connect({asio::ip::make_address("127.0.0.1"), server_->port(listener)});
    return s;
  }
  sasl_handshake_response handshake(asio::ip::tcp::socket& s, const std::string& mechanism, std::int16_t v = 1) {
    asio::write(s, asio::buffer(request(api_key::sasl_handshake, v, [&](writer& w) {
                  encode_sasl_handshake_request({mechanism}, v, w);
                })));
    return decoded<sasl_handshake_response>(receive(s), api_key::sasl_handshake, v,
                                            [](reader& r, std::int16_t ver) { return decode_sasl_handshake_response(r, ver); });
  }
  sasl_authenticate_response authenticate(asio::ip::tcp::socket& s, const std::string& token) {
    asio::write(s, asio::buffer(request(api_key::sasl_authenticate, 2, [&](writer& w) {
                  encode_sasl_authenticate_request({token}, 2, w);
                })));
    return decoded<sasl_authenticate_response>(receive(s), api_key::sasl_authenticate, 2, [](reader& r, std::int16_t ver) {
      return decode_sasl_authenticate_response(r, ver);
    });
  }
  bool describe_users_answers(asio::ip::tcp::socket& s) {
    asio::write(s, asio::buffer(request(api_key::describe_user_scram_credentials, 0, [](writer& w) {
                  encode_describe_user_scram_credentials_request({}, 0, w);
                })));
    auto r = decoded<describe_user_scram_credentials_response>(
        receive(s), api_key::describe_user_scram_credentials, 0,
        [](reader& rd, std::int16_t v) { return decode_describe_user_scram_credentials_response(rd, v); });
    return r.results.size() == 1;
  }
  static std::string api_versions_request() {
    return request(api_key::api_versions, 3, [](writer& w) { encode_api_versions_request({}, 3, w); });
  }

  std::shared_ptr<spdlog::logger> log_ = std::make_shared<spdlog::logger>("k", std::make_shared<spdlog::sinks::null_sink_mt>());
  fake_context ctx_;
  recording_dispatcher handler_{ctx_, log_};
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::thread thread_;
  std::optional<kafka_server> server_;
  asio::io_context client_io_;
};

TEST_F(kafka_sasl_connection_test, requests_before_authentication_close_the_connection) {
  auto s = connect("SASL_PLAINTEXT");
  asio::write(s, asio::buffer(api_versions_request()));
  EXPECT_TRUE(receive(s).has_value());  // ApiVersions passes
  asio::write(s, asio::buffer(request(api_key::describe_user_scram_credentials, 0, [](writer& w) {
                encode_describe_user_scram_credentials_request({}, 0, w);
              })));
  EXPECT_TRUE(closed_by_server(s));
  // Only the ApiVersions reached the dispatcher, unauthenticated.
  EXPECT_EQ(handler_.principals(), std::vector<std::string>{"User:ANONYMOUS"});
}

TEST_F(kafka_sasl_connection_test, plain_then_requests_carry_the_principal) {
  auto s = connect("SASL_PLAINTEXT");
  EXPECT_EQ(handshake(s, "PLAIN").error, error_code::none);
  EXPECT_EQ(authenticate(s, "\0alice\0wonderland"s).error, error_code::none);
  EXPECT_TRUE(describe_users_answers(s));
  EXPECT_EQ(handler_.principals(), std::vector<std::string>{"User:alice"});
}

TEST_F(kafka_sasl_connection_test, scram_sha_256_then_requests_pass) {
  auto s = connect("SASL_PLAINTEXT");
  EXPECT_EQ(handshake(s, "SCRAM-SHA-256").error, error_code::none);
  const std::string bare = "n=alice,r=abcdefgh";
  const auto first = authenticate(s, "n,," + bare);
  ASSERT_EQ(first.error, error_code::none);
  // The client's half of RFC 5802 with the salt and count the server sent.
  const std::string sf = first.auth_bytes;
  const auto field = [&](char k) {
    const auto at = sf.find(std::string(1, k) + "=");
    return sf.substr(at + 2, sf.find(',', at) - at - 2);
  };
  const auto m = sasl::scram_mechanism::sha_256;
  const std::string salted = sasl::scram_salted_password(m, "wonderland", *sasl::base64_decode(field('s')),
                                                          static_cast<std::uint32_t>(std::stoul(field('i'))));
  const std::string client_key = sasl::scram_hmac(m, salted, "Client Key");
  const std::string without_proof = "c=biws,r=" + field('r');
  std::string proof = sasl::scram_hmac(m, sasl::scram_hash(m, client_key), bare + "," + sf + "," + without_proof);
  for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ client_key[i]);
  const auto last = authenticate(s, without_proof + ",p=" + sasl::base64_encode(proof));
  EXPECT_EQ(last.error, error_code::none);
  EXPECT_TRUE(describe_users_answers(s));
  EXPECT_EQ(handler_.principals(), std::vector<std::string>{"User:alice"});
}

TEST_F(kafka_sasl_connection_test, wrong_password_is_answered_then_closed) {
  auto s = connect("SASL_PLAINTEXT");
  EXPECT_EQ(handshake(s, "PLAIN").error, error_code::none);
  const auto r = authenticate(s, "\0alice\0not-it"s);
  EXPECT_EQ(r.error, error_code::sasl_authentication_failed);
  EXPECT_TRUE(closed_by_server(s));
  EXPECT_TRUE(handler_.principals().empty());
  // The server goes on serving others.
  auto t = connect("SASL_PLAINTEXT");
  EXPECT_EQ(handshake(t, "PLAIN").error, error_code::none);
  EXPECT_EQ(authenticate(t, "\0alice\0wonderland"s).error, error_code::none);
}

TEST_F(kafka_sasl_connection_test, unknown_mechanism_is_answered_then_closed) {
  auto s = connect("SASL_PLAINTEXT");
  const auto r = handshake(s, "GSSAPI");
  EXPECT_EQ(r.error, error_code::unsupported_sasl_mechanism);
  EXPECT_EQ(r.mechanisms.size(), 3u);
  EXPECT_TRUE(closed_by_server(s));
}

TEST_F(kafka_sasl_connection_test, raw_plain_token_after_handshake_v0) {
  auto s = connect("SASL_PLAINTEXT");
  EXPECT_EQ(handshake(s, "PLAIN", 0).error, error_code::none);
  asio::write(s, asio::buffer(framed("alice\0alice\0wonderland"s)));
  EXPECT_EQ(receive(s), std::optional<std::string>(""));  // a zero-sized answer: success
  EXPECT_TRUE(describe_users_answers(s));

  auto bad = connect("SASL_PLAINTEXT");
  EXPECT_EQ(handshake(bad, "PLAIN", 0).error, error_code::none);
  asio::write(bad, asio::buffer(framed("alice\0alice\0nope"s)));
  EXPECT_TRUE(closed_by_server(bad));
}

TEST_F(kafka_sasl_connection_test, large_frames_before_authentication_close) {
  auto s = connect("SASL_PLAINTEXT");
  const std::uint32_t n = (512u << 10) + 1;
  const std::string prefix{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  asio::write(s, asio::buffer(prefix));
  EXPECT_TRUE(closed_by_server(s));
}

TEST_F(kafka_sasl_connection_test, plaintext_listener_is_not_gated) {
  auto s = connect("PLAINTEXT");
  EXPECT_TRUE(describe_users_answers(s));
  EXPECT_EQ(handler_.principals(), std::vector<std::string>{"User:ANONYMOUS"});
}

}  // namespace
}  // namespace chronik::kafka
