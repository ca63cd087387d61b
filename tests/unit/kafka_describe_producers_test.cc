// DescribeProducers (kafka/handlers/describe_producers.cc, KIP-664) through the dispatcher, over
// three real partition replicas linked in memory (tests/unit/partition_test_util.h), as
// tests/unit/kafka_delete_records_test.cc drives DeleteRecords: idempotent batches produced into
// the leader are described with their producer's epoch, last sequence and last timestamp; a
// follower (which holds the same table) and an unknown topic or partition answer Kafka's errors;
// after a leader change the new leader describes what the old one accepted.
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kafka/handlers/dispatcher.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/describe_producers.h"
#include "kafka/protocol/txn_marker.h"
#include "tests/unit/partition_test_util.h"

namespace chronik::kafka {
namespace {

using testing::make_batch;
using testing::make_idempotent_batch;
using testing::make_transactional_batch;
using testing::partition_cluster;
using testing::produce_probe;

constexpr group_id g{3072};

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

class kafka_describe_producers_test : public ::testing::Test {
 protected:
  kafka_describe_producers_test() {
    c_.create("t", g.value, {node_id{1}, node_id{2}, node_id{3}});
    EXPECT_TRUE(c_.elect(g, 0));
    for (std::size_t i = 0; i < 3; ++i) {
      ctx_.push_back(std::make_unique<node_context>(c_, i));
      disp_.push_back(std::make_unique<dispatcher>(*ctx_.back(), c_.log()));
    }
  }

  partition_replica& replica(std::size_t i) { return *c_.manager(i).find(g); }

  // Produces `batches` on node i and waits until every one is answered, and every replica applied
  // them (so a follower's table is as full as the leader's).
  void produce(std::size_t i, std::vector<std::string> batches) {
    std::deque<produce_probe> probes;
    for (auto& b : batches) {
      probes.emplace_back();
      replica(i).produce(std::move(b), acks_mode::all, c_.clock().steady + std::chrono::seconds(30),
                         probes.back().callback());
    }
    ASSERT_TRUE(c_.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
    for (const auto& p : probes) ASSERT_TRUE(p.result.has_value());
    ASSERT_TRUE(c_.run_until([&] {
      return replica(1).high_watermark() == replica(i).high_watermark() &&
             replica(2).high_watermark() == replica(i).high_watermark() &&
             replica(0).high_watermark() == replica(i).high_watermark();
    }));
  }

  // Sends one DescribeProducers v0 request to node i and decodes the answer, which comes at once.
  describe_producers_response request(std::size_t i, const describe_producers_request& req) {
    writer w;
    encode_request_header({api_key::describe_producers, 0, 7, std::string("test")}, w);
    encode_describe_producers_request(req, 0, w);
    std::optional<handler_reply> reply;
    disp_[i]->handle(client_info{"test", 1}, w.take(), [&](handler_reply r) { reply = std::move(r); });
    EXPECT_TRUE(reply.has_value()) << "answered without waiting";
    if (!reply) return {};
    EXPECT_EQ(reply->what, handler_reply::kind::respond) << reply->why;
    const std::string whole = reply->prefix + reply->frame.flatten();
    reader rd(whole);
    auto corr = decode_response_header(rd, api_key::describe_producers, 0);
    EXPECT_TRUE(corr && *corr == 7);
    auto resp = decode_describe_producers_response(rd, 0);
    EXPECT_TRUE(resp.has_value()) << describe(resp.error());
    EXPECT_EQ(rd.remaining(), 0u);
    return resp ? *resp : describe_producers_response{};
  }
  describe_producers_partition_response one(std::size_t i, const std::string& topic, std::int32_t partition) {
    const auto resp = request(i, {{{topic, {partition}}}});
    EXPECT_EQ(resp.topics.size(), 1u);
    if (resp.topics.size() != 1 || resp.topics[0].partitions.size() != 1) return {};
    EXPECT_EQ(resp.topics[0].name, topic);
    return resp.topics[0].partitions[0];
  }

  partition_cluster c_;
  std::vector<std::unique_ptr<node_context>> ctx_;
  std::vector<std::unique_ptr<dispatcher>> disp_;
};

TEST_F(kafka_describe_producers_test, the_leader_lists_each_producers_epoch_last_sequence_and_timestamp) {
  const std::int64_t t0 = c_.clock().wall_ms;
  // Producer 500: sequences 0-2, 3-3, 4-7 at epoch 0. Producer 77: epoch 3, 0-1 then 2-4.
  // A plain batch (no producer id) is not a producer.
  produce(0, {make_idempotent_batch(3, t0, "a", 500, 0, 0), make_idempotent_batch(2, t0 + 1, "p", 77, 3, 0),
              make_batch(1, t0 + 2, "plain"), make_idempotent_batch(1, t0 + 3, "b", 500, 0, 3),
              make_idempotent_batch(3, t0 + 4, "q", 77, 3, 2), make_idempotent_batch(4, t0 + 5, "c", 500, 0, 4)});
  const auto p = one(0, "t", 0);
  EXPECT_EQ(p.error, error_code::none);
  EXPECT_EQ(p.partition_index, 0);
  EXPECT_FALSE(p.error_message.has_value());
  // Ascending by producer id, as the table keeps them.
  ASSERT_EQ(p.active_producers.size(), 2u);
  const described_producer want77{77, 3, 4, t0 + 4, -1, -1};
  const described_producer want500{500, 0, 7, t0 + 5, -1, -1};
  EXPECT_EQ(p.active_producers[0], want77);
  EXPECT_EQ(p.active_producers[1], want500);
}

// What `kafka-transactions.sh find-hanging` and `abort --start-offset` read: the open transaction's
// first offset while it is open, and the coordinator epoch of the marker that ended it.
TEST_F(kafka_describe_producers_test, an_open_transaction_shows_its_first_offset_and_a_marker_its_coordinator_epoch) {
  const std::int64_t t0 = c_.clock().wall_ms;
  produce(0, {make_batch(2, t0, "plain"), make_transactional_batch(2, t0 + 1, "x", 40, 1, 0),
              make_transactional_batch(1, t0 + 2, "y", 40, 1, 2)});
  auto p = one(0, "t", 0);
  ASSERT_EQ(p.active_producers.size(), 1u);
  const described_producer open{40, 1, 2, t0 + 2, -1, 2};  // its first batch is at offset 2
  EXPECT_EQ(p.active_producers[0], open);

  produce_probe marker;
  replica(0).write_marker(40, 1, txn_marker{true, 6}, c_.clock().steady + std::chrono::seconds(30), marker.callback());
  ASSERT_TRUE(c_.run_until([&] { return marker.answered; }));
  ASSERT_TRUE(marker.result.has_value());
  p = one(0, "t", 0);
  ASSERT_EQ(p.active_producers.size(), 1u);
  EXPECT_EQ(p.active_producers[0].coordinator_epoch, 6);
  EXPECT_EQ(p.active_producers[0].current_txn_start_offset, -1);
}

TEST_F(kafka_describe_producers_test, a_partition_without_idempotent_writes_has_no_producers) {
  produce(0, {make_batch(2, c_.clock().wall_ms, "plain")});
  const auto p = one(0, "t", 0);
  EXPECT_EQ(p.error, error_code::none);
  EXPECT_TRUE(p.active_producers.empty());
}

TEST_F(kafka_describe_producers_test, a_follower_answers_not_leader_though_it_holds_the_producers) {
  produce(0, {make_idempotent_batch(1, c_.clock().wall_ms, "a", 9, 1, 0)});
  ASSERT_TRUE(c_.run_until([&] { return replica(1).producers().size() == 1; }));
  const auto p = one(1, "t", 0);
  EXPECT_EQ(p.error, error_code::not_leader_or_follower);
  EXPECT_TRUE(p.active_producers.empty());
}

TEST_F(kafka_describe_producers_test, unknown_topics_and_partitions_in_request_order) {
  produce(0, {make_idempotent_batch(1, c_.clock().wall_ms, "a", 9, 1, 0)});
  describe_producers_request req;
  req.topics.push_back({"t", {0, 5, -1, 0}});
  req.topics.push_back({"nope", {0}});
  const auto resp = request(0, req);
  ASSERT_EQ(resp.topics.size(), 2u);
  const auto& t = resp.topics[0].partitions;
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].error, error_code::none);
  EXPECT_EQ(t[0].active_producers.size(), 1u);
  EXPECT_EQ(t[1].partition_index, 5);
  EXPECT_EQ(t[1].error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(t[2].partition_index, -1);
  EXPECT_EQ(t[2].error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(t[3].error, error_code::none);  // asked twice, answered twice, as Kafka does
  EXPECT_EQ(resp.topics[1].name, "nope");
  ASSERT_EQ(resp.topics[1].partitions.size(), 1u);
  EXPECT_EQ(resp.topics[1].partitions[0].error, error_code::unknown_topic_or_partition);
}

TEST_F(kafka_describe_producers_test, a_new_leader_describes_what_the_old_one_accepted) {
  const std::int64_t t0 = c_.clock().wall_ms;
  produce(0, {make_idempotent_batch(2, t0, "a", 42, 2, 0), make_idempotent_batch(2, t0 + 9, "b", 42, 2, 2)});
  ASSERT_TRUE(c_.elect(g, 1));
  EXPECT_EQ(one(0, "t", 0).error, error_code::not_leader_or_follower);
  // The new leader answers once it is ready (every entry of the old term applied).
  ASSERT_TRUE(c_.run_until([&] { return replica(1).leader_ready(); }));
  const auto p = one(1, "t", 0);
  EXPECT_EQ(p.error, error_code::none);
  ASSERT_EQ(p.active_producers.size(), 1u);
  EXPECT_EQ(p.active_producers[0], (described_producer{42, 2, 3, t0 + 9, -1, -1}));
}

}  // namespace
}  // namespace chronik::kafka
