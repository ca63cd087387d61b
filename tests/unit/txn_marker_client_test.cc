// daemon/txn_marker_client.h against a scripted broker on 127.0.0.1: a request carries every
// marker's fields with partitions grouped by topic and its answer is mapped back to request
// order (whatever order the broker lists topics in); sends to one broker are answered in order; a
// refused connection, a broker that never answers (the request timeout), one without
// WriteTxnMarkers and one whose answer does not match are each one line of error; a send beyond
// the queue bound fails at once; destruction with a send in flight returns without waiting for
// the broker and drops the callbacks. The queue, its bound and the destruction are
// daemon/broker_call_worker.h's, shown here through its first user.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "daemon/txn_marker_client.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/api_versions.h"
#include "kafka/protocol/messages/write_txn_markers.h"

namespace chronik::daemon {
namespace {

using kafka::api_key;
using kafka::error_code;

// Answers each request with what the script writes (nullopt: no answer; the connection is held
// until the client closes it), one connection at a time, until destroyed. The script runs on the
// broker's thread; `requests()` counts the WriteTxnMarkers requests that arrived.
class scripted_broker {
 public:
  using script = std::function<std::optional<std::string>(const kafka::request_header&, kafka::reader&)>;

  explicit scripted_broker(script respond)
      : acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), respond_(std::move(respond)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~scripted_broker() {
    stopping_ = true;
    // Wakes the blocking accept; the loop then sees stopping_.
    asio::io_context io;
    asio::ip::tcp::socket wake(io);
    asio::error_code ignored;
    wake.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()), ignored);
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  kafka_address address() const { return {"127.0.0.1", port()}; }

  // Blocks until `n` WriteTxnMarkers requests arrived (the broker's thread signals it).
  void wait_for_requests(int n) {
    std::unique_lock lock(mu_);
    seen_.wait(lock, [&] { return requests_ >= n; });
  }

 private:
  void serve() {
    for (int connection = 0; connection < 100 && !stopping_; ++connection) {
      asio::error_code ec;
      asio::ip::tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      serve_one(socket);
    }
  }

  void serve_one(asio::ip::tcp::socket& socket) {
    asio::error_code ec;
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
      if (header->key == api_key::write_txn_markers) {
        std::lock_guard lock(mu_);
        ++requests_;
        seen_.notify_all();
      }
      if (!body) {
        std::array<char, 1> byte{};
        asio::read(socket, asio::buffer(byte), ec);
        return;
      }
      kafka::writer w;
      w.write_int32(0);
      kafka::encode_response_header(header->correlation_id, header->key, header->api_version, w);
      w.write_raw(*body);
      w.patch_int32(0, static_cast<std::int32_t>(w.size() - 4));
      asio::write(socket, asio::buffer(w.take()), ec);
      if (ec) return;
    }
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  script respond_;
  std::atomic<bool> stopping_ = false;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable seen_;
  int requests_ = 0;  // guarded by mu_
};

std::string api_versions_answer(std::int16_t version, bool with_markers = true) {
  kafka::api_versions_response resp;
  resp.api_keys = {{api_key::api_versions, 0, 3}};
  if (with_markers) resp.api_keys.push_back({api_key::write_txn_markers, 0, 1});
  kafka::writer w;
  kafka::encode_api_versions_response(resp, version, w);
  return w.take();
}

// Answers every partition with codes[topic-partition] (NONE when absent), listing each marker's
// topics in reverse order, so that only matching by name gives the request's order back. Keeps
// the requests it decoded.
struct marker_script {
  std::map<std::string, error_code> codes;
  std::vector<kafka::write_txn_markers_request> seen;  // read by the test after the answers came
  std::vector<std::int16_t> versions;
  std::atomic<bool> answer = true;  // set by the test between requests
  bool drop_last_marker = false;

  std::optional<std::string> operator()(const kafka::request_header& h, kafka::reader& r) {
    if (h.key == api_key::api_versions) return api_versions_answer(h.api_version);
    if (h.key != api_key::write_txn_markers) return std::nullopt;
    auto req = kafka::decode_write_txn_markers_request(r, h.api_version);
    if (!req) return std::nullopt;
    seen.push_back(*req);
    versions.push_back(h.api_version);
    if (!answer) return std::nullopt;
    kafka::write_txn_markers_response resp;
    for (const auto& m : req->markers) {
      auto& mr = resp.markers.emplace_back();
      mr.producer_id = m.producer_id;
      for (auto t = m.topics.rbegin(); t != m.topics.rend(); ++t) {
        auto& tr = mr.topics.emplace_back();
        tr.name = t->name;
        for (const auto p : t->partition_indexes) {
          const auto it = codes.find(t->name + "-" + std::to_string(p));
          tr.partitions.push_back({p, it == codes.end() ? error_code::none : it->second});
        }
      }
    }
    if (drop_last_marker && !resp.markers.empty()) resp.markers.pop_back();
    kafka::writer w;
    kafka::encode_write_txn_markers_response(resp, h.api_version, w);
    return w.take();
  }
};

std::shared_ptr<spdlog::logger> quiet() {
  return std::make_shared<spdlog::logger>("txn_marker_client_test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

txn_marker_client_options fast(std::chrono::milliseconds request_timeout = std::chrono::milliseconds(5000)) {
  txn_marker_client_options o;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.request_timeout = request_timeout;
  return o;
}

using outcome = std::expected<remote_marker_results, std::string>;

// Collects the callbacks' outcomes on the test's io_context.
struct outcomes {
  asio::io_context io;
  std::vector<outcome> got;
  remote_marker_done collect() {
    return [this](outcome o) { got.push_back(std::move(o)); };
  }
  // Runs the io_context until `n` outcomes came; every callback is posted by the worker, so each
  // run_one_for returns as soon as one is.
  bool wait(std::size_t n) {
    io.restart();  // an io_context that ran out of work stays stopped until restarted
    auto guard = asio::make_work_guard(io);
    for (int i = 0; i < 100 && got.size() < n; ++i) io.run_one_for(std::chrono::seconds(1));
    return got.size() >= n;
  }
};

remote_marker marker(std::int64_t pid, bool commit, std::vector<kafka::txn_partition> partitions) {
  return {pid, 3, commit, 7, std::move(partitions)};
}

TEST(txn_marker_client, a_request_carries_the_markers_and_its_answer_comes_back_in_request_order) {
  marker_script script;
  script.codes = {{"t-1", error_code::not_leader_or_follower}, {"u-0", error_code::unknown_topic_or_partition}};
  scripted_broker broker(std::ref(script));
  outcomes out;
  {
    txn_marker_client client(out.io, quiet(), fast());
    client.send(broker.address(), {marker(1, true, {{"t", 0}, {"u", 0}, {"t", 1}}), marker(2, false, {{"u", 0}})},
                out.collect());
    client.send(broker.address(), {marker(3, true, {{"t", 1}})}, out.collect());
    ASSERT_TRUE(out.wait(2));
  }
  ASSERT_TRUE(out.got[0].has_value()) << out.got[0].error();
  const remote_marker_results first{{error_code::none, error_code::unknown_topic_or_partition,
                                     error_code::not_leader_or_follower},
                                    {error_code::unknown_topic_or_partition}};
  EXPECT_EQ(*out.got[0], first);
  ASSERT_TRUE(out.got[1].has_value()) << out.got[1].error();
  EXPECT_EQ(*out.got[1], (remote_marker_results{{error_code::not_leader_or_follower}}));

  // On the wire: v1 (the broker's highest), partitions grouped by topic in first-seen order.
  ASSERT_EQ(script.seen.size(), 2u);
  EXPECT_EQ(script.versions[0], 1);
  const auto& m = script.seen[0].markers.at(0);
  EXPECT_EQ(m.producer_id, 1);
  EXPECT_EQ(m.producer_epoch, 3);
  EXPECT_TRUE(m.transaction_result);
  EXPECT_EQ(m.coordinator_epoch, 7);
  ASSERT_EQ(m.topics.size(), 2u);
  EXPECT_EQ(m.topics[0].name, "t");
  EXPECT_EQ(m.topics[0].partition_indexes, (std::vector<std::int32_t>{0, 1}));
  EXPECT_EQ(m.topics[1].name, "u");
  EXPECT_FALSE(script.seen[0].markers.at(1).transaction_result);
}

TEST(txn_marker_client, a_refused_connection_is_one_line_of_error) {
  // A port bound but never listened on refuses connections, and stays ours for the whole test: a
  // port closed again could be taken by another test's broker running at the same time (ctest -j),
  // which then answered this request and counted an extra connection of its own.
  asio::io_context io;
  asio::ip::tcp::acceptor bound(io);
  bound.open(asio::ip::tcp::v4());
  bound.bind(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const kafka_address closed{"127.0.0.1", bound.local_endpoint().port()};
  outcomes out;
  txn_marker_client client(out.io, quiet(), fast());
  client.send(closed, {marker(1, true, {{"t", 0}})}, out.collect());
  ASSERT_TRUE(out.wait(1));
  ASSERT_FALSE(out.got[0].has_value());
  EXPECT_NE(out.got[0].error().find("cannot reach broker " + closed.text()), std::string::npos) << out.got[0].error();
}

TEST(txn_marker_client, a_broker_that_never_answers_fails_at_the_request_timeout_and_the_next_send_reconnects) {
  marker_script script;
  script.answer = false;
  scripted_broker broker(std::ref(script));
  outcomes out;
  txn_marker_client client(out.io, quiet(), fast(std::chrono::milliseconds(200)));
  client.send(broker.address(), {marker(1, true, {{"t", 0}})}, out.collect());
  ASSERT_TRUE(out.wait(1));
  ASSERT_FALSE(out.got[0].has_value());
  EXPECT_NE(out.got[0].error().find("WriteTxnMarkers to broker " + broker.address().text() + " failed"),
            std::string::npos)
      << out.got[0].error();
  // The held connection was dropped; the next send connects again and is answered.
  script.answer = true;
  client.send(broker.address(), {marker(2, true, {{"t", 0}})}, out.collect());
  ASSERT_TRUE(out.wait(2));
  ASSERT_TRUE(out.got[1].has_value()) << out.got[1].error();
  EXPECT_EQ(*out.got[1], (remote_marker_results{{error_code::none}}));
}

TEST(txn_marker_client, a_broker_without_the_api_or_with_an_answer_that_does_not_match_fails_the_request) {
  scripted_broker old_broker([](const kafka::request_header& h, kafka::reader&) -> std::optional<std::string> {
    if (h.key == api_key::api_versions) return api_versions_answer(h.api_version, false);
    return std::nullopt;
  });
  marker_script script;
  script.drop_last_marker = true;
  scripted_broker broker(std::ref(script));
  outcomes out;
  txn_marker_client client(out.io, quiet(), fast());
  client.send(old_broker.address(), {marker(1, true, {{"t", 0}})}, out.collect());
  client.send(broker.address(), {marker(1, true, {{"t", 0}}), marker(2, true, {{"t", 0}})}, out.collect());
  ASSERT_TRUE(out.wait(2));
  ASSERT_FALSE(out.got[0].has_value());
  EXPECT_NE(out.got[0].error().find("does not support WriteTxnMarkers"), std::string::npos) << out.got[0].error();
  ASSERT_FALSE(out.got[1].has_value());
  EXPECT_NE(out.got[1].error().find("answered 1 markers to a WriteTxnMarkers of 2"), std::string::npos)
      << out.got[1].error();
}

TEST(txn_marker_client, a_send_beyond_the_queue_bound_fails_at_once) {
  marker_script script;
  script.answer = false;
  scripted_broker broker(std::ref(script));
  outcomes out;
  auto options = fast(std::chrono::hours(1));
  options.max_queued = 1;
  txn_marker_client client(out.io, quiet(), options);
  client.send(broker.address(), {marker(1, true, {{"t", 0}})}, out.collect());
  client.send(broker.address(), {marker(2, true, {{"t", 0}})}, out.collect());
  ASSERT_TRUE(out.wait(1));
  ASSERT_FALSE(out.got[0].has_value());
  EXPECT_NE(out.got[0].error().find("1 sends already queued"), std::string::npos) << out.got[0].error();
  // The first is still waiting for the broker; destruction ends it (next test).
}

TEST(txn_marker_client, destruction_with_a_send_in_flight_neither_waits_for_the_broker_nor_calls_back) {
  marker_script script;
  script.answer = false;
  scripted_broker broker(std::ref(script));
  outcomes out;
  {
    // An hour: were the in-flight request not interrupted, the join would outlast the test's timeout.
    txn_marker_client client(out.io, quiet(), fast(std::chrono::hours(1)));
    client.send(broker.address(), {marker(1, true, {{"t", 0}})}, out.collect());
    client.send(broker.address(), {marker(2, true, {{"t", 0}})}, out.collect());  // queued behind it
    broker.wait_for_requests(1);
  }
  out.io.restart();
  out.io.poll();
  EXPECT_TRUE(out.got.empty());
}

TEST(txn_marker_client, a_result_posted_before_destruction_is_dropped) {
  marker_script script;
  scripted_broker broker(std::ref(script));
  outcomes out;
  {
    txn_marker_client client(out.io, quiet(), fast());
    client.send(broker.address(), {marker(1, true, {{"t", 0}})}, out.collect());
    broker.wait_for_requests(1);
    // The answer may be posted or not yet: either way, nothing runs after the client is gone.
  }
  out.io.restart();
  out.io.poll();
  EXPECT_TRUE(out.got.empty());
}

}  // namespace
}  // namespace chronik::daemon
