// DescribeLogDirs (kafka/handlers/describe_log_dirs.cc) through the dispatcher with a fake broker
// context: the one log directory with its replicas' sizes, offset lag 0 and no future replicas,
// grouped by topic; a topic list picks partitions (null: all; ones not held here are left out); v4
// carries the file system's total and usable bytes, older versions do not; a failed WAL is
// KAFKA_STORAGE_ERROR with no partitions; a node with no directory to describe answers none.
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "kafka/handlers/dispatcher.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/describe_log_dirs.h"

namespace chronik::kafka {
namespace {

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
  partition_manager& partitions() override { std::abort(); }  // not used by DescribeLogDirs
  std::optional<log_dir_info> log_dir() override { return dir; }

  std::optional<log_dir_info> dir;
};

log_dir_info sample() {
  log_dir_info d;
  d.path = "/var/lib/chronik";
  d.total_bytes = 1'000'000'000;
  d.usable_bytes = 400'000'000;
  d.replicas = {{"a", 0, 1200}, {"b", 1, 0}, {"a", 2, 77}};
  return d;
}

class kafka_describe_log_dirs_test : public ::testing::Test {
 protected:
  describe_log_dirs_response call(std::int16_t version, const describe_log_dirs_request& req) {
    writer w;
    encode_request_header({api_key::describe_log_dirs, version, 7, std::string("cli")}, w);
    encode_describe_log_dirs_request(req, version, w);
    std::optional<handler_reply> reply;
    dispatcher d{ctx_, log_};
    d.handle(client_info{"127.0.0.9:40000", 1}, w.take(), [&](handler_reply r) { reply = std::move(r); });
    EXPECT_TRUE(reply.has_value());
    if (!reply) return {};
    EXPECT_EQ(reply->what, handler_reply::kind::respond) << reply->why;
    const std::string whole = reply->prefix + reply->frame.flatten();
    reader rd(whole);
    auto corr = decode_response_header(rd, api_key::describe_log_dirs, version);
    EXPECT_TRUE(corr && *corr == 7);
    auto m = decode_describe_log_dirs_response(rd, version);
    EXPECT_TRUE(m.has_value());
    EXPECT_EQ(rd.remaining(), 0u);
    return m.value_or(describe_log_dirs_response{});
  }

  std::shared_ptr<spdlog::logger> log_ =
      std::make_shared<spdlog::logger>("k", std::make_shared<spdlog::sinks::null_sink_mt>());
  fake_context ctx_;
};

TEST_F(kafka_describe_log_dirs_test, every_replica_by_topic_in_every_version) {
  ctx_.dir = sample();
  for (std::int16_t v = 1; v <= 4; ++v) {
    const auto r = call(v, describe_log_dirs_request{});  // null topics: all
    EXPECT_EQ(r.error, error_code::none);
    ASSERT_EQ(r.results.size(), 1u) << v;
    const auto& d = r.results[0];
    EXPECT_EQ(d.error, error_code::none);
    EXPECT_EQ(d.log_dir, "/var/lib/chronik");
    ASSERT_EQ(d.topics.size(), 2u);
    EXPECT_EQ(d.topics[0].name, "a");
    ASSERT_EQ(d.topics[0].partitions.size(), 2u);
    EXPECT_EQ(d.topics[0].partitions[0].partition_index, 0);
    EXPECT_EQ(d.topics[0].partitions[0].partition_size, 1200);
    EXPECT_EQ(d.topics[0].partitions[1].partition_index, 2);
    EXPECT_EQ(d.topics[0].partitions[1].partition_size, 77);
    EXPECT_EQ(d.topics[0].partitions[1].offset_lag, 0);
    EXPECT_FALSE(d.topics[0].partitions[1].is_future_key);
    EXPECT_EQ(d.topics[1].name, "b");
    // KIP-827 sizes exist from v4 only; a v1-v3 decoder leaves Kafka's default -1.
    EXPECT_EQ(d.total_bytes, v >= 4 ? 1'000'000'000 : -1) << v;
    EXPECT_EQ(d.usable_bytes, v >= 4 ? 400'000'000 : -1) << v;
  }
}

TEST_F(kafka_describe_log_dirs_test, a_topic_list_picks_partitions_held_here) {
  ctx_.dir = sample();
  describe_log_dirs_request req;
  req.topics = std::vector<describe_log_dirs_request_topic>{{"a", {2, 5}}, {"zzz", {0}}};
  const auto r = call(3, req);
  ASSERT_EQ(r.results.size(), 1u);
  ASSERT_EQ(r.results[0].topics.size(), 1u) << "partitions not held here are left out";
  ASSERT_EQ(r.results[0].topics[0].partitions.size(), 1u);
  EXPECT_EQ(r.results[0].topics[0].partitions[0].partition_index, 2);
  describe_log_dirs_request none;
  none.topics.emplace();
  EXPECT_TRUE(call(2, none).results.at(0).topics.empty()) << "an empty list asks for nothing";
}

TEST_F(kafka_describe_log_dirs_test, a_failed_wal_is_a_storage_error_without_partitions) {
  ctx_.dir = sample();
  ctx_.dir->failed = true;
  const auto r = call(4, describe_log_dirs_request{});
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].error, error_code::kafka_storage_error);
  EXPECT_TRUE(r.results[0].topics.empty());
  EXPECT_EQ(r.results[0].log_dir, "/var/lib/chronik");
}

TEST_F(kafka_describe_log_dirs_test, no_directory_answers_none) {
  const auto r = call(4, describe_log_dirs_request{});
  EXPECT_EQ(r.error, error_code::none);
  EXPECT_TRUE(r.results.empty());
}

}  // namespace
}  // namespace chronik::kafka
