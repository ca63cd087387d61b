// The CLI's blocking Kafka client (daemon/kafka_client.h) against a scripted broker on 127.0.0.1:
// version negotiation through ApiVersions, FindCoordinator and its retried errors, the bounded
// retry of coordinator errors in at_coordinator, a non-retriable code ending it, a coordinator that
// cannot be reached looked up again, a broker that never answers (the deadline ends the call, or
// interrupt() from another thread), one that is not there, and an answer to another
// request (a wrong correlation id).
#include <atomic>
#include <functional>
#include <future>
#include <optional>
#include <thread>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <gtest/gtest.h>

#include "daemon/kafka_client.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/api_versions.h"
#include "kafka/protocol/messages/find_coordinator.h"
#include "kafka/protocol/messages/list_groups.h"

namespace chronik::daemon {
namespace {

using kafka::api_key;
using kafka::error_code;

// Answers each request with what `respond` writes (nullopt: no answer, and stop reading), on one
// connection at a time, until the client closes. The script runs on the broker's thread.
class scripted_broker {
 public:
  using script = std::function<std::optional<std::string>(const kafka::request_header&, kafka::reader&)>;

  explicit scripted_broker(script respond, std::int32_t correlation_offset = 0)
      : acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        respond_(std::move(respond)),
        correlation_offset_(correlation_offset) {
    thread_ = std::thread([this] { serve(); });
  }
  ~scripted_broker() {
    asio::error_code ignored;
    acceptor_.close(ignored);
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  kafka_address address() const { return {"127.0.0.1", port()}; }

 private:
  void serve() {
    asio::error_code ec;
    asio::ip::tcp::socket socket(io_);
    acceptor_.accept(socket, ec);
    if (ec) return;
    for (int request = 0; request < 1000; ++request) {
      std::array<unsigned char, 4> size{};
      asio::read(socket, asio::buffer(size), ec);
      if (ec) return;
      std::string frame((size[0] << 24) | (size[1] << 16) | (size[2] << 8) | size[3], '\0');
      asio::read(socket, asio::buffer(frame), ec);
      if (ec) return;
      kafka::reader r(std::string_view{frame});
      const auto header = kafka::decode_request_header(r);
      if (!header) return;
      const auto body = respond_(*header, r);
      if (!body) {
        // Hold the connection open without answering until the client gives up and closes it.
        std::array<char, 1> byte{};
        asio::read(socket, asio::buffer(byte), ec);
        return;
      }
      kafka::writer w;
      w.write_int32(0);
      kafka::encode_response_header(header->correlation_id + correlation_offset_, header->key, header->api_version, w);
      w.write_raw(*body);
      w.patch_int32(0, static_cast<std::int32_t>(w.size() - 4));
      asio::write(socket, asio::buffer(w.take()), ec);
      if (ec) return;
    }
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  script respond_;
  std::int32_t correlation_offset_;
  std::thread thread_;
};

std::string api_versions_answer(std::int16_t version) {
  kafka::api_versions_response resp;
  resp.api_keys = {{api_key::find_coordinator, 0, 4}, {api_key::list_groups, 0, 2}};
  kafka::writer w;
  kafka::encode_api_versions_response(resp, version, w);
  return w.take();
}

std::string coordinator_answer(std::int16_t version, error_code e, std::uint16_t port) {
  kafka::find_coordinator_response resp;
  resp.coordinators = {{"g", 1, "127.0.0.1", port, e, std::nullopt}};
  resp.error = e;
  resp.host = "127.0.0.1";
  resp.port = port;
  kafka::writer w;
  kafka::encode_find_coordinator_response(resp, version, w);
  return w.take();
}

kafka_client_options fast() {
  kafka_client_options o;
  o.retry_backoff = std::chrono::milliseconds(0);
  o.coordinator_attempts = 4;
  o.request_timeout = std::chrono::milliseconds(2000);
  return o;
}

// A broker that is its own coordinator; FindCoordinator answers `errors` in turn, then NONE.
struct coordinator_script {
  std::vector<error_code> errors;
  // Written on the broker's thread, read by the test after the client's call returned.
  std::atomic<int> find_requests = 0;
  std::atomic<std::int16_t> find_version = -1;
  std::atomic<std::uint16_t> port = 0;
  std::atomic<std::uint16_t> first_port = 0;  // named by the first answer instead, when set

  std::optional<std::string> operator()(const kafka::request_header& h, kafka::reader&) {
    if (h.key == api_key::api_versions) return api_versions_answer(h.api_version);
    if (h.key == api_key::list_groups) {
      kafka::writer w;
      kafka::encode_list_groups_response({}, h.api_version, w);
      return w.take();
    }
    if (h.key != api_key::find_coordinator) return std::nullopt;
    find_version = h.api_version;
    const auto i = static_cast<std::size_t>(find_requests++);
    const std::uint16_t named = i == 0 && first_port != 0 ? first_port.load() : port.load();
    return coordinator_answer(h.api_version, i < errors.size() ? errors[i] : error_code::none, named);
  }
};

TEST(kafka_client, parses_addresses) {
  EXPECT_EQ(parse_kafka_address("127.0.0.1:9092"), (kafka_address{"127.0.0.1", 9092}));
  EXPECT_EQ(parse_kafka_address("broker-1:19092"), (kafka_address{"broker-1", 19092}));
  for (const char* bad : {"127.0.0.1", ":9092", "h:0", "h:65536", "h:92x"}) {
    EXPECT_FALSE(parse_kafka_address(bad).has_value()) << bad;
  }
}

TEST(kafka_client, finds_the_coordinator_after_retriable_errors) {
  coordinator_script s{{error_code::coordinator_load_in_progress, error_code::coordinator_not_available}};
  scripted_broker broker([&s](const auto& h, auto& r) { return s(h, r); });
  s.port = broker.port();
  kafka_client client(broker.address(), fast());
  const auto at = client.find_coordinator("g");
  ASSERT_TRUE(at.has_value()) << at.error();
  EXPECT_EQ(*at, broker.address());
  EXPECT_EQ(s.find_requests, 3);
  EXPECT_EQ(s.find_version, 4);  // the broker's highest, which the codec also implements
}

TEST(kafka_client, at_coordinator_retries_coordinator_errors_a_bounded_number_of_times) {
  coordinator_script s;
  scripted_broker broker([&s](const auto& h, auto& r) { return s(h, r); });
  s.port = broker.port();
  kafka_client client(broker.address(), fast());

  int attempts = 0;
  auto moved_twice = client.at_coordinator("g", [&](const kafka_address&) -> std::expected<error_code, std::string> {
    return ++attempts <= 2 ? error_code::not_coordinator : error_code::none;
  });
  EXPECT_TRUE(moved_twice.has_value());
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(s.find_requests, 3);  // the coordinator is looked up again before each attempt

  attempts = 0;
  auto never = client.at_coordinator("g", [&](const kafka_address&) -> std::expected<error_code, std::string> {
    ++attempts;
    return error_code::coordinator_load_in_progress;
  });
  ASSERT_FALSE(never.has_value());
  EXPECT_EQ(attempts, 4);
  EXPECT_NE(never.error().find("after 4 attempts: COORDINATOR_LOAD_IN_PROGRESS"), std::string::npos) << never.error();

  attempts = 0;
  auto refused = client.at_coordinator("g", [&](const kafka_address&) -> std::expected<error_code, std::string> {
    ++attempts;
    return error_code::group_authorization_failed;
  });
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(attempts, 1);
  EXPECT_NE(refused.error().find("GROUP_AUTHORIZATION_FAILED"), std::string::npos) << refused.error();
}

// The lookups and the attempts share one bound: a group whose coordinator is never elected costs
// coordinator_attempts lookups, not that many squared.
TEST(kafka_client, lookups_that_keep_failing_share_the_bound) {
  coordinator_script s{std::vector<error_code>(100, error_code::coordinator_not_available)};
  scripted_broker broker([&s](const auto& h, auto& r) { return s(h, r); });
  s.port = broker.port();
  kafka_client client(broker.address(), fast());
  int attempts = 0;
  auto never = client.at_coordinator("g", [&](const kafka_address&) -> std::expected<error_code, std::string> {
    ++attempts;
    return error_code::none;
  });
  ASSERT_FALSE(never.has_value());
  EXPECT_EQ(attempts, 0);
  EXPECT_EQ(s.find_requests, 4);
  EXPECT_NE(never.error().find("COORDINATOR_NOT_AVAILABLE"), std::string::npos) << never.error();
}

std::uint16_t unused_port() {
  // A port that was just free: nothing listens on it any more.
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// FindCoordinator may still name a node that just stopped: the attempt fails to connect, and the
// coordinator is looked up again instead of ending the command.
TEST(kafka_client, a_coordinator_that_cannot_be_reached_is_looked_up_again) {
  coordinator_script s;
  scripted_broker broker([&s](const auto& h, auto& r) { return s(h, r); });
  s.port = broker.port();
  s.first_port = unused_port();
  kafka_client client(broker.address(), fast());
  std::vector<kafka_address> tried;
  auto done = client.at_coordinator("g", [&](const kafka_address& at) -> std::expected<error_code, std::string> {
    tried.push_back(at);
    auto answer = client.call<kafka::list_groups_response>(
        at, api_key::list_groups, kafka::list_groups_versions,
        [](kafka::writer& w, std::int16_t v) { kafka::encode_list_groups_request({}, v, w); },
        kafka::decode_list_groups_response);
    if (!answer) return std::unexpected(answer.error());
    return answer->error;
  });
  EXPECT_TRUE(done.has_value()) << done.error();
  ASSERT_EQ(tried.size(), 2u);
  EXPECT_EQ(tried[0].port, s.first_port.load());
  EXPECT_EQ(tried[1], broker.address());
  EXPECT_EQ(s.find_requests, 2);
}

TEST(kafka_client, an_api_the_broker_lacks_is_a_clear_error) {
  coordinator_script s;
  scripted_broker broker([&s](const auto& h, auto& r) { return s(h, r); });
  kafka_client client(broker.address(), fast());
  const auto md = client.metadata(std::nullopt);
  ASSERT_FALSE(md.has_value());
  EXPECT_NE(md.error().find("does not support Metadata"), std::string::npos) << md.error();
}

TEST(kafka_client, a_broker_that_never_answers_ends_at_the_deadline) {
  scripted_broker broker([](const auto&, auto&) { return std::nullopt; });
  auto options = fast();
  options.request_timeout = std::chrono::milliseconds(100);
  kafka_client client(broker.address(), options);
  const auto at = client.find_coordinator("g");
  ASSERT_FALSE(at.has_value());
  EXPECT_NE(at.error().find("ApiVersions to broker " + broker.address().text() + " failed"), std::string::npos)
      << at.error();
}

TEST(kafka_client, interrupt_ends_a_call_in_progress_and_every_later_one) {
  std::promise<void> asked;
  std::atomic<bool> first = true;
  scripted_broker broker([&](const auto&, auto&) -> std::optional<std::string> {
    if (first.exchange(false)) asked.set_value();
    return std::nullopt;  // never answers
  });
  auto options = fast();
  options.request_timeout = std::chrono::hours(1);  // only interrupt() can end the call in time
  kafka_client client(broker.address(), options);
  std::expected<kafka::metadata_response, std::string> md;
  std::thread caller([&] { md = client.metadata(std::nullopt); });
  asked.get_future().wait();
  client.interrupt();
  caller.join();
  ASSERT_FALSE(md.has_value());
  EXPECT_NE(md.error().find("ApiVersions to broker " + broker.address().text() + " failed"), std::string::npos)
      << md.error();
  const auto again = client.metadata(std::nullopt);
  ASSERT_FALSE(again.has_value()) << "interrupted for good";
}

TEST(kafka_client, an_answer_to_another_request_is_refused) {
  coordinator_script s;
  scripted_broker broker([&s](const auto& h, auto& r) { return s(h, r); }, 1);
  kafka_client client(broker.address(), fast());
  const auto at = client.find_coordinator("g");
  ASSERT_FALSE(at.has_value());
  EXPECT_NE(at.error().find("correlation id"), std::string::npos) << at.error();
}

TEST(kafka_client, a_broker_that_is_not_there_is_one_line) {
  const std::uint16_t port = unused_port();
  kafka_client client({"127.0.0.1", port}, fast());
  const auto md = client.metadata(std::nullopt);
  ASSERT_FALSE(md.has_value());
  EXPECT_EQ(md.error().find("cannot reach broker 127.0.0.1:" + std::to_string(port)), 0u) << md.error();
  EXPECT_EQ(md.error().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace chronik::daemon
