// DeleteRecords (kafka/handlers/delete_records.cc) through the dispatcher at every version, over
// three real partition replicas linked in memory (tests/unit/partition_test_util.h), as
// tests/unit/kafka_data_handlers_test.cc drives Produce and Fetch: the answer comes once the
// deletion is applied on the leader, with the new log start as the low watermark, and Kafka's
// errors per partition (follower, above the high watermark, unknown partition, timeout).
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kafka/handlers/dispatcher.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/delete_records.h"
#include "tests/unit/partition_test_util.h"

namespace chronik::kafka {
namespace {

using testing::make_batch;
using testing::partition_cluster;
using testing::produce_probe;

constexpr group_id g{1024};

// Node `node`'s view of a one-partition topic "t" on nodes 1-3, and its partition manager.
class node_context : public broker_context {
 public:
  node_context(partition_cluster& c, std::size_t node) : c_(c), node_(node) {
    topic_.name = "t";
    const std::vector<chronik::node_id> all{node_id_from_kafka(1), node_id_from_kafka(2), node_id_from_kafka(3)};
    topic_.partitions.push_back({0, node_id_from_kafka(1), 1, all, all, {}});
  }
  chronik::node_id node_id() const override { return chronik::node_id{static_cast<std::uint32_t>(node_ + 1)}; }
  std::optional<std::string> cluster_id() const override { return "c"; }
  chronik::node_id controller_id() const override { return chronik::node_id{1}; }
  std::vector<broker_info> brokers() const override { return {}; }
  std::vector<topic_info> topics() const override { return {topic_}; }
  std::optional<topic_info> topic(std::string_view name) const override {
    if (name != topic_.name) return std::nullopt;
    return topic_;
  }
  broker_defaults defaults() const override { return {}; }
  void create_topics(std::vector<topic_request>, bool, std::chrono::milliseconds, topics_done done) override { done({}); }
  void delete_topics(std::vector<std::string>, std::chrono::milliseconds, topics_done done) override { done({}); }
  partition_manager& partitions() override { return c_.manager(node_); }

 private:
  partition_cluster& c_;
  std::size_t node_;
  topic_info topic_;
};

struct ask {
  std::int64_t offset = 0;
  std::int32_t partition = 0;
  std::string topic = "t";
};

class kafka_delete_records_test : public ::testing::Test {
 protected:
  kafka_delete_records_test() {
    c_.create("t", g.value, {node_id{1}, node_id{2}, node_id{3}});
    EXPECT_TRUE(c_.elect(g, 0));
    for (std::size_t i = 0; i < 3; ++i) {
      ctx_.push_back(std::make_unique<node_context>(c_, i));
      disp_.push_back(std::make_unique<dispatcher>(*ctx_.back(), c_.log()));
    }
  }

  partition_replica& replica(std::size_t i) { return *c_.manager(i).find(g); }

  // `n` entries of two records each on node 0: offsets 0 .. 2n-1.
  void produce(int n) {
    std::deque<produce_probe> probes;
    for (int k = 0; k < n; ++k) {
      probes.emplace_back();
      replica(0).produce(make_batch(2, c_.clock().wall_ms, "x"), acks_mode::all,
                         c_.clock().steady + std::chrono::seconds(30), probes.back().callback());
    }
    ASSERT_TRUE(c_.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
  }

  // Sends one DeleteRecords request of `version` to node i; the answer is decoded once it comes
  // (the cluster runs until then, at most `ticks` ticks).
  std::optional<delete_records_response> request(std::size_t i, std::int16_t version, const std::vector<ask>& asks,
                                                  std::int32_t timeout_ms = 30'000, int ticks = 400) {
    delete_records_request req;
    req.timeout_ms = timeout_ms;
    for (const auto& a : asks) {
      if (req.topics.empty() || req.topics.back().name != a.topic) req.topics.push_back({a.topic, {}});
      req.topics.back().partitions.push_back({a.partition, a.offset});
    }
    writer w;
    encode_request_header({api_key::delete_records, version, 9, std::string("test")}, w);
    encode_delete_records_request(req, version, w);
    auto reply = std::make_shared<std::optional<handler_reply>>();
    disp_[i]->handle(client_info{"test", 1}, w.take(), [reply](handler_reply r) { *reply = std::move(r); });
    if (!c_.run_until([&] { return reply->has_value(); }, ticks)) return std::nullopt;
    EXPECT_EQ((*reply)->what, handler_reply::kind::respond) << (*reply)->why;
    const std::string whole = (*reply)->prefix + (*reply)->frame.flatten();
    reader rd(whole);
    auto corr = decode_response_header(rd, api_key::delete_records, version);
    EXPECT_TRUE(corr && *corr == 9);
    auto resp = decode_delete_records_response(rd, version);
    EXPECT_TRUE(resp.has_value()) << describe(resp.error());
    EXPECT_EQ(rd.remaining(), 0u);
    return resp ? std::optional(*resp) : std::nullopt;
  }
  delete_records_partition_result one(std::size_t i, std::int16_t version, ask a) {
    auto resp = request(i, version, {std::move(a)});
    EXPECT_TRUE(resp.has_value());
    if (!resp || resp->topics.size() != 1 || resp->topics[0].partitions.size() != 1) return {};
    return resp->topics[0].partitions[0];
  }

  partition_cluster c_;
  std::vector<std::unique_ptr<node_context>> ctx_;
  std::vector<std::unique_ptr<dispatcher>> disp_;
};

TEST_F(kafka_delete_records_test, every_version_moves_the_start_and_answers_it) {
  produce(10);  // 0-19
  for (std::int16_t v = 0; v <= 2; ++v) {
    const std::int64_t to = 3 + 5 * v;
    const auto r = one(0, v, {to});
    EXPECT_EQ(r.error, error_code::none) << "v" << v;
    EXPECT_EQ(r.partition_index, 0);
    EXPECT_EQ(r.low_watermark, to) << "v" << v;
    ASSERT_TRUE(c_.run_until([&] {
      return replica(1).log_start_offset() == to && replica(2).log_start_offset() == to;
    }));
    EXPECT_EQ(replica(0).fetch(to - 1, 1 << 20).error(), partition_errc::offset_out_of_range);
  }
  const auto all = one(0, 2, {-1});
  EXPECT_EQ(all.error, error_code::none);
  EXPECT_EQ(all.low_watermark, 20);
}

TEST_F(kafka_delete_records_test, errors_per_partition_in_request_order) {
  produce(3);  // 0-5
  EXPECT_EQ(one(1, 1, {2}).error, error_code::not_leader_or_follower);
  const auto above = one(0, 1, {7});
  EXPECT_EQ(above.error, error_code::offset_out_of_range);
  EXPECT_EQ(above.low_watermark, -1);
  EXPECT_EQ(one(0, 1, {2, 0, "nope"}).error, error_code::unknown_topic_or_partition);
  auto resp = request(0, 2, {{4}, {1, 5}, {1, 0, "other"}});
  ASSERT_TRUE(resp.has_value());
  ASSERT_EQ(resp->topics.size(), 2u);
  ASSERT_EQ(resp->topics[0].partitions.size(), 2u);
  EXPECT_EQ(resp->topics[0].partitions[0].error, error_code::none);
  EXPECT_EQ(resp->topics[0].partitions[0].low_watermark, 4);
  EXPECT_EQ(resp->topics[0].partitions[1].partition_index, 5);
  EXPECT_EQ(resp->topics[0].partitions[1].error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(resp->topics[1].name, "other");
  EXPECT_EQ(resp->topics[1].partitions[0].error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(replica(0).log_start_offset(), 4);
}

TEST_F(kafka_delete_records_test, timeout_ms_bounds_the_wait) {
  produce(2);
  c_.cut(1);
  c_.cut(2);
  // Each tick moves no clock; the manager answers the expired deletion once the clock passes it.
  delete_records_request req;
  req.timeout_ms = 1'000;
  req.topics.push_back({"t", {{0, 3}}});
  writer w;
  encode_request_header({api_key::delete_records, 2, 9, std::string("test")}, w);
  encode_delete_records_request(req, 2, w);
  std::optional<handler_reply> reply;
  disp_[0]->handle(client_info{"test", 1}, w.take(), [&](handler_reply r) { reply = std::move(r); });
  ASSERT_TRUE(c_.tick_all());
  EXPECT_FALSE(reply.has_value());
  c_.clock().advance(std::chrono::seconds(2));
  ASSERT_TRUE(c_.run_until([&] { return reply.has_value(); }, 5));
  const std::string whole = reply->prefix + reply->frame.flatten();
  reader rd(whole);
  ASSERT_TRUE(decode_response_header(rd, api_key::delete_records, 2).has_value());
  auto resp = decode_delete_records_response(rd, 2);
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->topics.at(0).partitions.at(0).error, error_code::request_timed_out);
}

}  // namespace
}  // namespace chronik::kafka
