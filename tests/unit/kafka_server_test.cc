// kafka/server: framing, request-order answers when replies complete out of order, no answer for
// acks=0, bounded sizes and in-flight requests, and clean closes on malformed frames.
#include <array>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <asio/connect.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "kafka/server/kafka_server.h"

namespace chronik::kafka {
namespace {

using namespace std::chrono_literals;

// Frames are 10+ bytes; the first byte says how the fake handler answers:
// 'E' echo now, 'P' echo behind a "head:" prefix, 'L' keep the reply for the test to complete,
// 'N' no response, 'C' close.
class fake_handler : public request_handler {
 public:
  void handle(const client_info&, std::string frame, reply_fn reply) override {
    std::lock_guard lock(mu_);
    ++handled_;
    switch (frame[0]) {
      case 'E': reply(handler_reply::respond(frame)); break;
      case 'P': reply(handler_reply::respond("head:", frame)); break;
      case 'N': reply(handler_reply::no_response()); break;
      case 'C': reply(handler_reply::close_connection("test asked to close")); break;
      default: later_.push_back({std::move(frame), std::move(reply)}); break;
    }
    cv_.notify_all();
  }
  // Waits until `n` requests were handled in total.
  bool wait_handled(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return handled_ >= n; });
  }
  std::size_t handled() {
    std::lock_guard lock(mu_);
    return handled_;
  }
  std::pair<std::string, reply_fn> take_later(std::size_t i) {
    std::lock_guard lock(mu_);
    return later_.at(i);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t handled_ = 0;
  std::vector<std::pair<std::string, reply_fn>> later_;
};

std::string frame_of(char kind, const std::string& tag) { return std::string(1, kind) + "---------" + tag; }

class kafka_server_test : public ::testing::Test {
 protected:
  void start(server_config cfg = {}) {
    cfg.port = 0;
    auto log = std::make_shared<spdlog::logger>("kafka", std::make_shared<spdlog::sinks::null_sink_mt>());
    server_.emplace(io_, cfg, handler_, log);
    ASSERT_TRUE(server_->start());
    thread_ = std::thread([this] { io_.run(); });
    client_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  }
  void TearDown() override {
    asio::post(io_, [this] { server_->stop(); });
    work_.reset();
    thread_.join();
  }
  void send_raw(const std::string& bytes) { asio::write(client_, asio::buffer(bytes)); }
  void send(const std::string& frame) {
    const auto n = static_cast<std::uint32_t>(frame.size());
    std::string out{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                    static_cast<char>(n)};
    send_raw(out + frame);
  }
  // The next answer frame, or nullopt when the server closed the connection.
  std::optional<std::string> receive() {
    std::array<std::uint8_t, 4> size{};
    asio::error_code ec;
    asio::read(client_, asio::buffer(size), ec);
    if (ec) return std::nullopt;
    const std::uint32_t n = (std::uint32_t{size[0]} << 24) | (std::uint32_t{size[1]} << 16) |
                            (std::uint32_t{size[2]} << 8) | std::uint32_t{size[3]};
    std::string body(n, '\0');
    asio::read(client_, asio::buffer(body), ec);
    if (ec) return std::nullopt;
    return body;
  }
  server_stats server_stats_now() {
    std::promise<server_stats> p;
    auto f = p.get_future();
    asio::post(io_, [&] { p.set_value(server_->stats()); });
    return f.get();
  }
  void complete_later(std::size_t i) {
    auto [frame, reply] = handler_.take_later(i);
    asio::post(io_, [frame = frame, reply = reply] { reply(handler_reply::respond(frame)); });
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  fake_handler handler_;
  std::optional<kafka_server> server_;
  std::thread thread_;
  asio::io_context client_io_;
  asio::ip::tcp::socket client_{client_io_};
};

TEST_F(kafka_server_test, echoes_a_request) {
  start();
  send(frame_of('E', "one"));
  EXPECT_EQ(receive(), frame_of('E', "one"));
}

TEST_F(kafka_server_test, a_prefix_and_a_frame_arrive_as_one_answer) {
  start();
  send(frame_of('P', "body"));
  EXPECT_EQ(receive(), "head:" + frame_of('P', "body"));
}

TEST_F(kafka_server_test, answers_leave_in_request_order_when_replies_complete_out_of_order) {
  start();
  send(frame_of('L', "first"));
  send(frame_of('E', "second"));
  ASSERT_TRUE(handler_.wait_handled(2));
  complete_later(0);
  EXPECT_EQ(receive(), frame_of('L', "first"));
  EXPECT_EQ(receive(), frame_of('E', "second"));
}

TEST_F(kafka_server_test, a_request_without_response_is_skipped) {
  start();
  send(frame_of('N', "acks0"));
  send(frame_of('E', "after"));
  EXPECT_EQ(receive(), frame_of('E', "after"));
}

TEST_F(kafka_server_test, oversized_and_undersized_frames_close_the_connection) {
  server_config cfg;
  cfg.max_request_bytes = 1024;
  start(cfg);
  send_raw(std::string("\x00\x00\x04\x01", 4));  // 1025 bytes announced
  EXPECT_EQ(receive(), std::nullopt);

  client_ = asio::ip::tcp::socket(client_io_);
  client_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  send_raw(std::string("\x00\x00\x00\x03" "abc", 7));
  EXPECT_EQ(receive(), std::nullopt);
  EXPECT_EQ(handler_.handled(), 0u);
}

TEST_F(kafka_server_test, a_malformed_request_closes_the_connection) {
  start();
  send(frame_of('C', "bad"));
  EXPECT_EQ(receive(), std::nullopt);
}

TEST_F(kafka_server_test, in_flight_requests_are_bounded) {
  server_config cfg;
  cfg.max_in_flight = 2;
  start(cfg);
  send(frame_of('L', "1"));
  send(frame_of('L', "2"));
  send(frame_of('E', "3"));
  ASSERT_TRUE(handler_.wait_handled(2));
  // The connection paused reading in the same io task that handed over the second request, so
  // the third stays unread while two are unanswered.
  EXPECT_EQ(server_stats_now().read_paused, 1u);
  EXPECT_EQ(handler_.handled(), 2u);
  complete_later(0);
  EXPECT_EQ(receive(), frame_of('L', "1"));
  ASSERT_TRUE(handler_.wait_handled(3));
  complete_later(1);
  EXPECT_EQ(receive(), frame_of('L', "2"));
  EXPECT_EQ(receive(), frame_of('E', "3"));
}

TEST_F(kafka_server_test, a_reply_after_the_client_left_is_harmless) {
  start();
  send(frame_of('L', "orphan"));
  ASSERT_TRUE(handler_.wait_handled(1));
  client_.close();
  complete_later(0);
  // The server still serves a new client.
  client_ = asio::ip::tcp::socket(client_io_);
  client_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  send(frame_of('E', "next"));
  EXPECT_EQ(receive(), frame_of('E', "next"));
}

}  // namespace
}  // namespace chronik::kafka
