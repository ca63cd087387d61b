// kafka/server: framing, request-order answers when replies complete out of order, no answer for
// acks=0, bounded sizes and in-flight requests, and clean closes on malformed frames; buffers that
// grow only as bytes arrive, the node-wide request budget, per-IP connection caps, idle closes,
// and the accept backoff (docs/kafka.md "Server").
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
#include <malloc.h>
#include <poll.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "kafka/server/accept_backoff.h"
#include "kafka/server/kafka_server.h"
#include "kafka/server/request_budget.h"

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
    cfg.listeners[0].port = 0;
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
  void send(const std::string& frame) { send_raw(framed(frame)); }
  // The next answer frame, or nullopt when the server closed the connection.
  std::optional<std::string> receive() { return receive_on(client_); }
  static std::optional<std::string> receive_on(asio::ip::tcp::socket& s) {
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
  server_stats server_stats_now() {
    std::promise<server_stats> p;
    auto f = p.get_future();
    asio::post(io_, [&] { p.set_value(server_->stats()); });
    return f.get();
  }
  // Polls the server's stats until `done` holds (at most 5 s of polls); returns the last seen.
  template <typename Pred>
  server_stats wait_stats(Pred done) {
    server_stats s = server_stats_now();
    for (int i = 0; i < 5000 && !done(s); ++i) {
      std::this_thread::sleep_for(1ms);
      s = server_stats_now();
    }
    return s;
  }
  asio::ip::tcp::socket connect_from(const char* source_ip) {
    asio::ip::tcp::socket s(client_io_);
    s.open(asio::ip::tcp::v4());
    s.bind(asio::ip::tcp::endpoint(asio::ip::make_address(source_ip), 0));
    s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    return s;
  }
  // Waits (at most 10 s) for the server to close `s`: true when it did.
  static bool closed_by_server(asio::ip::tcp::socket& s) {
    pollfd p{s.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 10'000) != 1) return false;
    char byte = 0;
    asio::error_code ec;
    s.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }
  static std::string framed(const std::string& frame) {
    const auto n = static_cast<std::uint32_t>(frame.size());
    return std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                       static_cast<char>(n)} +
           frame;
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

// A size prefix of 100 MiB used to allocate and zero 100 MiB before any body byte arrived
// (eight such connections took 820 MB and stalled the io thread for 1.8 s).
TEST_F(kafka_server_test, a_huge_size_prefix_allocates_only_what_arrives) {
  start();
  // Large blocks come from mmap (hblkhd), small ones from the heap (uordblks).
  auto heap = [] {
    const auto m = ::mallinfo2();
    return m.uordblks + m.hblkhd;
  };
  const std::size_t heap_before = heap();
  send_raw(std::string("\x06\x40\x00\x00", 4) + frame_of('E', ""));  // 100 MiB announced, 10 bytes sent
  constexpr std::size_t chunk = server_config::read_chunk_bytes;
  // The 10 bytes settled, and the next chunk is reserved for the read that waits for more.
  const auto s = wait_stats([](const server_stats& st) { return st.queued_request_bytes == 10 + chunk; });
  EXPECT_EQ(s.queued_request_bytes, 10 + chunk);
  EXPECT_LE(s.buffered_bytes, 2 * chunk);
  EXPECT_LT(heap(), heap_before + (8u << 20));
  EXPECT_EQ(handler_.handled(), 0u);
}

TEST_F(kafka_server_test, a_frame_arriving_in_pieces_is_one_request) {
  start();
  asio::ip::tcp::no_delay nodelay(true);
  client_.set_option(nodelay);
  // Larger than three read chunks, sent in odd pieces that split the size prefix too.
  const std::string frame = frame_of('E', std::string(3 * server_config::read_chunk_bytes + 123, 'x'));
  const std::string wire = framed(frame);
  const std::size_t cuts[] = {0, 2, 3, 1000, 70'000, 140'001, wire.size()};
  for (std::size_t i = 0; i + 1 < std::size(cuts); ++i) send_raw(wire.substr(cuts[i], cuts[i + 1] - cuts[i]));
  EXPECT_EQ(receive(), frame);
  EXPECT_EQ(handler_.handled(), 1u);
  // Once answered, the request no longer counts.
  EXPECT_EQ(wait_stats([](const server_stats& st) { return st.queued_request_bytes == 0; }).queued_request_bytes, 0u);
}

TEST_F(kafka_server_test, the_node_wide_request_budget_pauses_reading_and_resumes_as_answers_leave) {
  server_config cfg;
  cfg.max_request_bytes = 1024;
  cfg.max_queued_request_bytes = 1024;
  start(cfg);
  const std::string held = frame_of('L', std::string(590, 'a'));  // 600 bytes, unanswered for now
  send(held);
  ASSERT_TRUE(handler_.wait_handled(1));
  // A second client's 600 bytes do not fit beside the first request: it is not read, not dropped.
  auto other = connect_from("127.0.0.1");
  const std::string echoed = frame_of('E', std::string(590, 'b'));
  asio::write(other, asio::buffer(framed(echoed)));
  auto s = wait_stats([](const server_stats& st) { return st.budget_paused == 1; });
  EXPECT_EQ(s.budget_paused, 1u);
  EXPECT_EQ(s.queued_request_bytes, 600u);
  EXPECT_EQ(handler_.handled(), 1u);
  // The first answer leaves; the second request is read and answered.
  complete_later(0);
  EXPECT_EQ(receive(), held);
  EXPECT_EQ(receive_on(other), echoed);
  s = wait_stats([](const server_stats& st) { return st.queued_request_bytes == 0; });
  EXPECT_EQ(s.budget_paused, 0u);
  EXPECT_EQ(s.queued_request_bytes, 0u);
}

TEST_F(kafka_server_test, connections_per_client_ip_are_capped) {
  server_config cfg;
  cfg.max_connections_per_ip = 2;
  start(cfg);  // client_ is the first from 127.0.0.1
  auto second = connect_from("127.0.0.1");
  auto third = connect_from("127.0.0.1");
  EXPECT_TRUE(closed_by_server(third));
  // Another address still gets in, and both earlier connections still work.
  auto elsewhere = connect_from("127.0.0.2");
  asio::write(elsewhere, asio::buffer(framed(frame_of('E', "far"))));
  EXPECT_EQ(receive_on(elsewhere), frame_of('E', "far"));
  asio::write(second, asio::buffer(framed(frame_of('E', "two"))));
  EXPECT_EQ(receive_on(second), frame_of('E', "two"));
  auto s = server_stats_now();
  EXPECT_EQ(s.refused_per_ip, 1u);
  EXPECT_EQ(s.open, 3u);
  // A closed connection frees its address's slot.
  second.close();
  wait_stats([](const server_stats& st) { return st.open == 2; });
  auto again = connect_from("127.0.0.1");
  asio::write(again, asio::buffer(framed(frame_of('E', "again"))));
  EXPECT_EQ(receive_on(again), frame_of('E', "again"));
}

TEST_F(kafka_server_test, idle_connections_are_closed_and_busy_ones_are_not) {
  server_config cfg;
  cfg.connections_max_idle_ms = 50;
  start(cfg);
  send(frame_of('L', "busy"));  // stays in flight
  ASSERT_TRUE(handler_.wait_handled(1));
  // Active after the busy one: by the time it is idle-closed, the busy one was idle just as
  // long, had it counted as idle.
  auto idle = connect_from("127.0.0.1");
  asio::write(idle, asio::buffer(framed(frame_of('E', "once"))));
  EXPECT_EQ(receive_on(idle), frame_of('E', "once"));
  EXPECT_TRUE(closed_by_server(idle));
  auto s = server_stats_now();
  EXPECT_EQ(s.idle_closed, 1u);
  EXPECT_EQ(s.open, 1u);
  complete_later(0);
  EXPECT_EQ(receive(), frame_of('L', "busy"));
  // With nothing in flight any more, it goes too.
  EXPECT_TRUE(closed_by_server(client_));
}

TEST_F(kafka_server_test, a_stalled_partial_frame_counts_as_idle) {
  server_config cfg;
  cfg.connections_max_idle_ms = 50;
  start(cfg);
  send_raw(std::string("\x00\x00\x01\x00", 4) + "abc");  // 256 bytes announced, 3 sent
  EXPECT_TRUE(closed_by_server(client_));
  EXPECT_EQ(wait_stats([](const server_stats& st) { return st.queued_request_bytes == 0; }).queued_request_bytes, 0u);
}

// --- request_budget ----------------------------------------------------------------------------

TEST(request_budget_test, waiters_resume_in_order_as_requests_are_released) {
  request_budget b(100);
  std::vector<std::uint64_t> resumed;
  b.set_resume([&](std::uint64_t id) {
    resumed.push_back(id);
    EXPECT_TRUE(b.reserve(id, 40));
  });
  ASSERT_TRUE(b.reserve(1, 80));
  b.complete(1, 80);
  EXPECT_FALSE(b.reserve(2, 40));
  EXPECT_FALSE(b.reserve(3, 40));
  EXPECT_FALSE(b.reserve(2, 40));  // asking again does not queue twice
  EXPECT_EQ(b.waiting(), 2u);
  b.release_request(80);
  EXPECT_EQ(resumed, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(b.queued_bytes(), 80u);
  EXPECT_EQ(b.waiting(), 0u);
}

TEST(request_budget_test, partial_frames_alone_cannot_wedge_the_budget) {
  request_budget b(100);
  ASSERT_TRUE(b.reserve(1, 60));
  ASSERT_TRUE(b.reserve(2, 40));
  // Full of partial frames and no complete request: one connection may overdraw to finish its
  // frame, the others wait.
  EXPECT_TRUE(b.reserve(1, 60));
  EXPECT_FALSE(b.reserve(2, 40));
  EXPECT_TRUE(b.reserve(1, 10));  // still the holder
  b.complete(1, 130);
  EXPECT_FALSE(b.reserve(2, 40));  // a request is queued now: its answer will free room
  std::vector<std::uint64_t> resumed;
  b.set_resume([&](std::uint64_t id) { resumed.push_back(id); });
  b.release_request(130);
  EXPECT_EQ(resumed, (std::vector<std::uint64_t>{2}));
}

TEST(request_budget_test, a_closing_connection_gives_everything_back) {
  request_budget b(100);
  ASSERT_TRUE(b.reserve(1, 50));
  b.complete(1, 50);
  ASSERT_TRUE(b.reserve(1, 30));
  b.settle(30, 10);
  EXPECT_EQ(b.queued_bytes(), 60u);
  EXPECT_FALSE(b.reserve(2, 60));
  std::vector<std::uint64_t> resumed;
  b.set_resume([&](std::uint64_t id) { resumed.push_back(id); });
  b.forget(1, 10, 50);
  EXPECT_EQ(b.queued_bytes(), 0u);
  EXPECT_EQ(b.request_bytes(), 0u);
  EXPECT_EQ(resumed, (std::vector<std::uint64_t>{2}));
}

// --- accept backoff ----------------------------------------------------------------------------

TEST(accept_backoff_test, doubles_from_10_ms_to_1_s_and_starts_over_after_a_success) {
  accept_backoff b;
  std::vector<long> delays;
  for (int i = 0; i < 10; ++i) delays.push_back(static_cast<long>(b.failed().count()));
  EXPECT_EQ(delays, (std::vector<long>{10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000}));
  b.succeeded();
  EXPECT_EQ(b.failed().count(), 10);
}

TEST(accept_backoff_test, logs_at_most_one_line_per_second_and_counts_the_rest) {
  log_rate_limit limit;
  const std::chrono::steady_clock::time_point t0{std::chrono::hours(1)};
  EXPECT_EQ(limit.allow(t0), 0u);
  for (int i = 1; i <= 999; ++i) EXPECT_EQ(limit.allow(t0 + std::chrono::milliseconds(i)), std::nullopt);
  EXPECT_EQ(limit.allow(t0 + 1s), 999u);
  EXPECT_EQ(limit.allow(t0 + 1500ms), std::nullopt);
  EXPECT_EQ(limit.allow(t0 + 2s), 1u);
}

}  // namespace
}  // namespace chronik::kafka
