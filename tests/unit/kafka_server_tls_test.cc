// kafka/server listeners and TLS (docs/security.md "Kafka listeners and TLS"): one acceptor per
// listener, each connection tagged with its listener and protocol; requests and large answers over
// TLS, and a large request in small TLS records; a plaintext client, garbage and a silent client
// on a TLS listener are closed and the server keeps serving; with client authentication, a client without a certificate is refused and one
// with a certificate gets the principal "User:<CN>". Certificates are made here with OpenSSL.
#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
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
#include <asio/ssl.hpp>
#include <asio/write.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "kafka/server/kafka_server.h"

namespace chronik::kafka {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

using key_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using cert_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

key_ptr new_key() { return key_ptr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free); }

// A certificate for `cn` signed by `issuer` (self-signed when null), valid for a day.
cert_ptr new_cert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca) {
  cert_ptr c(X509_new(), X509_free);
  X509_set_version(c.get(), 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 86400);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer != nullptr ? issuer : c.get(), c.get(), nullptr, nullptr, 0);
  X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, &v3, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  X509_add_ext(c.get(), bc, -1);
  X509_EXTENSION_free(bc);
  X509_sign(c.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return c;
}

void write_pem(const fs::path& p, X509* cert) {
  FILE* f = std::fopen(p.c_str(), "w");
  PEM_write_X509(f, cert);
  std::fclose(f);
}
void write_pem(const fs::path& p, EVP_PKEY* key) {
  FILE* f = std::fopen(p.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

// A CA, a server certificate and a client certificate (CN "alice") in a temporary directory.
struct test_pki {
  fs::path dir;
  test_pki() {
    dir = fs::temp_directory_path() / ("chronik-tls-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir);
    auto ca_key = new_key();
    auto ca = new_cert("test CA", ca_key.get(), nullptr, nullptr, true);
    auto server_key = new_key();
    auto server = new_cert("localhost", server_key.get(), ca.get(), ca_key.get(), false);
    auto client_key = new_key();
    auto client = new_cert("alice", client_key.get(), ca.get(), ca_key.get(), false);
    write_pem(dir / "ca.pem", ca.get());
    write_pem(dir / "server.pem", server.get());
    write_pem(dir / "server.key", server_key.get());
    write_pem(dir / "client.pem", client.get());
    write_pem(dir / "client.key", client_key.get());
  }
  ~test_pki() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const char* name) const { return (dir / name).string(); }
};

// Echoes every frame and remembers who sent the last one.
class recording_handler : public request_handler {
 public:
  void handle(const client_info& client, std::string frame, reply_fn reply) override {
    {
      std::lock_guard lock(mu_);
      last_ = client;
      ++handled_;
    }
    if (frame[0] == 'P') {
      reply(handler_reply::respond("head:", frame));
    } else {
      reply(handler_reply::respond(frame));
    }
  }
  client_info last() {
    std::lock_guard lock(mu_);
    return last_;
  }
  std::size_t handled() {
    std::lock_guard lock(mu_);
    return handled_;
  }

 private:
  std::mutex mu_;
  client_info last_;
  std::size_t handled_ = 0;
};

std::string framed(const std::string& frame) {
  const auto n = static_cast<std::uint32_t>(frame.size());
  std::string out{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  return out + frame;
}

template <typename Stream>
std::optional<std::string> receive(Stream& s) {
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

// Waits (at most 10 s) for the server to close `s`: true when it did.
bool closed_by_server(asio::ip::tcp::socket& s) {
  for (int i = 0; i < 100; ++i) {
    pollfd p{s.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 10'000) != 1) return false;
    std::array<char, 4096> junk{};
    asio::error_code ec;
    s.read_some(asio::buffer(junk), ec);  // a TLS alert may come first
    if (ec == asio::error::eof || ec == asio::error::connection_reset) return true;
    if (ec) return false;
  }
  return false;
}

class kafka_server_tls_test : public ::testing::Test {
 protected:
  void start(tls_client_auth auth = tls_client_auth::none, std::uint32_t handshake_timeout_ms = 10'000) {
    server_config cfg;
    cfg.listeners = {listener_spec{"PLAINTEXT", security_protocol::plaintext, "127.0.0.1", 0},
                     listener_spec{"SSL", security_protocol::ssl, "127.0.0.1", 0}};
    cfg.tls = {pki_.file("server.pem"), pki_.file("server.key"), pki_.file("ca.pem"), auth, handshake_timeout_ms};
    auto log = std::make_shared<spdlog::logger>("kafka", std::make_shared<spdlog::sinks::null_sink_mt>());
    server_.emplace(io_, cfg, handler_, log);
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
  asio::ip::tcp::endpoint at(const char* listener) const {
    return {asio::ip::make_address("127.0.0.1"), server_->port(listener)};
  }
  // A TLS client that trusts the test CA, with the client certificate when `with_cert`.
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls_client(bool with_cert) {
    client_tls_.load_verify_file(pki_.file("ca.pem"));
    client_tls_.set_verify_mode(asio::ssl::verify_peer);
    if (with_cert) {
      client_tls_.use_certificate_chain_file(pki_.file("client.pem"));
      client_tls_.use_private_key_file(pki_.file("client.key"), asio::ssl::context::pem);
    }
    auto s = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(client_io_, client_tls_);
    s->next_layer().connect(at("SSL"));
    return s;
  }

  test_pki pki_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::thread thread_;
  recording_handler handler_;
  std::optional<kafka_server> server_;
  asio::io_context client_io_;
  asio::ssl::context client_tls_{asio::ssl::context::tls_client};
};

TEST_F(kafka_server_tls_test, each_listener_tags_its_connections_and_tls_carries_requests) {
  start();
  ASSERT_NE(server_->port("PLAINTEXT"), 0);
  ASSERT_NE(server_->port("SSL"), 0);
  EXPECT_EQ(server_->port("NOPE"), 0);

  asio::ip::tcp::socket plain(client_io_);
  plain.connect(at("PLAINTEXT"));
  const std::string frame = "E---------plain";
  asio::write(plain, asio::buffer(framed(frame)));
  EXPECT_EQ(receive(plain), frame);
  EXPECT_EQ(handler_.last().listener, "PLAINTEXT");
  EXPECT_EQ(handler_.last().protocol, security_protocol::plaintext);

  auto tls = tls_client(false);
  tls->handshake(asio::ssl::stream_base::client);
  const std::string secret = "E---------over tls";
  asio::write(*tls, asio::buffer(framed(secret)));
  EXPECT_EQ(receive(*tls), secret);
  const client_info who = handler_.last();
  EXPECT_EQ(who.listener, "SSL");
  EXPECT_EQ(who.protocol, security_protocol::ssl);
  EXPECT_EQ(who.principal, "User:ANONYMOUS");
}

TEST_F(kafka_server_tls_test, large_answers_arrive_whole_over_tls) {
  start();
  auto tls = tls_client(false);
  tls->handshake(asio::ssl::stream_base::client);
  // 'E' answers one piece larger than a TLS chunk (written from where it lies); 'P' puts a small
  // prefix in front (gathered by copy), and 1 byte more than a chunk tests the boundary.
  for (const std::size_t size : {std::size_t{300'000}, std::size_t{65'537}, std::size_t{12}}) {
    for (const char kind : {'E', 'P'}) {
      std::string frame(size, 'x');
      frame[0] = kind;
      for (std::size_t i = 1; i < size; ++i) frame[i] = static_cast<char>('a' + i % 23);
      asio::write(*tls, asio::buffer(framed(frame)));
      const auto answer = receive(*tls);
      ASSERT_TRUE(answer.has_value());
      EXPECT_EQ(*answer, kind == 'P' ? "head:" + frame : frame) << kind << " " << size;
    }
  }
}

// The frame buffer grows without zero-filling (connection::read_body) and is trimmed to what each
// read brought. Written 700 bytes at a time, every piece is its own TLS record and so, mostly, its
// own read: a request of 300,000 bytes (a 64 KiB chunk's room reused many times over, the
// buffer reallocated as it grows) and the two after it must arrive byte for byte.
TEST_F(kafka_server_tls_test, a_large_request_in_small_tls_records_arrives_whole) {
  start();
  auto tls = tls_client(false);
  tls->handshake(asio::ssl::stream_base::client);
  for (const std::size_t size : {std::size_t{300'000}, std::size_t{65'536 + 700}, std::size_t{20}}) {
    std::string frame(size, 'x');
    frame[0] = 'E';
    for (std::size_t i = 1; i < size; ++i) frame[i] = static_cast<char>('A' + (i * 7 + size) % 53);
    const std::string wire = framed(frame);
    for (std::size_t at = 0; at < wire.size(); at += 700) {
      asio::write(*tls, asio::buffer(wire.data() + at, std::min<std::size_t>(700, wire.size() - at)));
    }
    const auto answer = receive(*tls);
    ASSERT_TRUE(answer.has_value()) << size;
    EXPECT_TRUE(*answer == frame) << size;
  }
}

TEST_F(kafka_server_tls_test, plaintext_and_garbage_on_the_tls_listener_are_closed_and_the_server_stays_up) {
  start();
  asio::ip::tcp::socket plain(client_io_);
  plain.connect(at("SSL"));
  asio::write(plain, asio::buffer(framed("E---------not tls")));  // a plaintext Kafka client
  EXPECT_TRUE(closed_by_server(plain));

  asio::ip::tcp::socket junk(client_io_);
  junk.connect(at("SSL"));
  std::string garbage(4096, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 131 + 7) % 256);
  garbage[0] = 0x16;  // looks like a TLS handshake record at first
  asio::error_code ec;
  asio::write(junk, asio::buffer(garbage), ec);
  EXPECT_TRUE(closed_by_server(junk));
  EXPECT_EQ(handler_.handled(), 0u);

  auto tls = tls_client(false);
  tls->handshake(asio::ssl::stream_base::client);
  asio::write(*tls, asio::buffer(framed("E---------still up")));
  EXPECT_EQ(receive(*tls), "E---------still up");
}

TEST_F(kafka_server_tls_test, a_client_that_never_finishes_the_handshake_is_closed) {
  start(tls_client_auth::none, 50);
  asio::ip::tcp::socket silent(client_io_);
  silent.connect(at("SSL"));
  EXPECT_TRUE(closed_by_server(silent));
}

TEST_F(kafka_server_tls_test, required_client_auth_refuses_a_client_without_a_certificate) {
  start(tls_client_auth::required);
  auto anonymous = tls_client(false);
  asio::error_code ec;
  anonymous->handshake(asio::ssl::stream_base::client, ec);
  // TLS 1.3 finishes the client's side of the handshake before the server checks its
  // certificate; the refusal then arrives as an alert instead of the answer.
  if (!ec) {
    asio::write(*anonymous, asio::buffer(framed("E---------anonymous")), ec);
    EXPECT_FALSE(receive(*anonymous).has_value());
  }
  EXPECT_EQ(handler_.handled(), 0u);
}

TEST_F(kafka_server_tls_test, a_client_certificate_names_the_principal) {
  start(tls_client_auth::required);
  auto alice = tls_client(true);
  alice->handshake(asio::ssl::stream_base::client);
  asio::write(*alice, asio::buffer(framed("E---------alice")));
  EXPECT_EQ(receive(*alice), "E---------alice");
  EXPECT_EQ(handler_.last().principal, "User:alice");
}

TEST(kafka_server_tls_config, tls_listeners_need_their_files_and_names_are_unique) {
  server_config cfg;
  EXPECT_TRUE(cfg.validate());
  cfg.listeners.push_back({"SSL", security_protocol::ssl, "127.0.0.1", 9094});
  ASSERT_FALSE(cfg.validate());
  EXPECT_EQ(cfg.validate().error(), "a TLS listener needs a certificate and a key file");
  cfg.tls.cert_file = "c.pem";
  cfg.tls.key_file = "k.pem";
  EXPECT_TRUE(cfg.validate());
  cfg.tls.client_auth = tls_client_auth::required;
  EXPECT_EQ(cfg.validate().error(), "TLS client authentication needs a CA file");
  cfg.tls.ca_file = "ca.pem";
  EXPECT_TRUE(cfg.validate());
  cfg.listeners.push_back({"SSL", security_protocol::ssl, "127.0.0.1", 9095});
  EXPECT_EQ(cfg.validate().error(), "listener SSL is named twice");
  cfg.listeners.back() = {"OTHER", security_protocol::ssl, "127.0.0.1", 9094};
  EXPECT_EQ(cfg.validate().error(), "listeners SSL and OTHER share port 9094");
  cfg.listeners.clear();
  EXPECT_EQ(cfg.validate().error(), "at least one listener is needed");
}

TEST(kafka_server_tls_config, a_missing_certificate_fails_the_start_with_one_line) {
  asio::io_context io;
  recording_handler handler;
  server_config cfg;
  cfg.listeners = {listener_spec{"SSL", security_protocol::ssl, "127.0.0.1", 0}};
  cfg.tls.cert_file = "/nonexistent/cert.pem";
  cfg.tls.key_file = "/nonexistent/key.pem";
  kafka_server server(io, cfg, handler, std::make_shared<spdlog::logger>("k", std::make_shared<spdlog::sinks::null_sink_mt>()));
  auto r = server.start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("kafka listener: TLS certificate /nonexistent/cert.pem"), std::string::npos) << r.error();
  EXPECT_EQ(r.error().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace chronik::kafka
