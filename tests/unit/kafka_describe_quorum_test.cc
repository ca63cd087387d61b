// DescribeQuorum (kafka/handlers/describe_quorum.cc) through the dispatcher with a fake broker
// context: the `__meta` group answers as KRaft's "__cluster_metadata" partition 0 in every version
// (leader, epoch = term, high watermark = commit index, voters and observers with their progress,
// v1 times, v2 directory ids and the voters' listeners with a port above 32767 kept intact); other
// topics and partitions are UNKNOWN_TOPIC_OR_PARTITION; a node without a `__meta` replica answers
// NOT_LEADER_OR_FOLLOWER; a follower answers with the `__meta` leader's view once it comes, and a
// request another node forwarded is answered from the node's own view, never forwarded again.
#include <chrono>
#include <functional>
#include <utility>
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
#include "kafka/protocol/messages/describe_quorum.h"

namespace chronik::kafka {
namespace {

chronik::node_id n(std::uint32_t v) { return chronik::node_id{v}; }

class fake_context : public broker_context {
 public:
  chronik::node_id node_id() const override { return n(1); }
  std::optional<std::string> cluster_id() const override { return "c"; }
  chronik::node_id controller_id() const override { return n(2); }
  std::vector<broker_info> brokers() const override {
    return {{n(1), "127.0.0.1", 9092, std::nullopt}, {n(2), "127.0.0.2", 40000, std::nullopt},
            {n(3), "127.0.0.3", 9094, std::nullopt}, {n(4), "127.0.0.4", 9095, std::nullopt}};
  }
  std::vector<topic_info> topics() const override { return {}; }
  std::optional<topic_info> topic(std::string_view) const override { return std::nullopt; }
  broker_defaults defaults() const override { return {}; }
  void create_topics(std::vector<topic_request>, bool, std::chrono::milliseconds, topics_done) override {}
  void delete_topics(std::vector<std::string>, std::chrono::milliseconds, topics_done) override {}
  partition_manager& partitions() override { std::abort(); }  // not used by DescribeQuorum
  std::optional<quorum_info> metadata_quorum() const override { return quorum; }
  // Forwarding to the `__meta` leader (daemon/kafka_quorum.cc): with `defer`, answered when the
  // test calls `pending`; otherwise at once with this node's view, as when there is nothing to ask.
  void leader_metadata_quorum(std::function<void(std::optional<quorum_info>)> done) override {
    ++forwarded;
    if (defer) {
      pending = std::move(done);
    } else {
      done(quorum);
    }
  }

  std::optional<quorum_info> quorum;
  bool defer = false;
  int forwarded = 0;
  std::function<void(std::optional<quorum_info>)> pending;
};

quorum_info three_voters_one_learner() {
  quorum_info q;
  q.leader = n(2);
  q.leader_epoch = 7;
  q.high_watermark = 120;
  q.leader_here = true;
  quorum_replica a{n(1), {}, 118, -1, -1};
  a.directory_id[0] = 0x11;
  quorum_replica b{n(2), {}, 121, -1, 1'700'000'000'000};
  quorum_replica c{n(3), {}, 121, -1, 1'700'000'000'000};
  q.voters = {a, b, c};
  q.observers = {quorum_replica{n(4), {}, 90, -1, -1}};
  return q;
}

describe_quorum_request ask(std::vector<std::pair<std::string, std::vector<std::int32_t>>> what) {
  describe_quorum_request r;
  for (auto& [t, ps] : what) {
    describe_quorum_topic topic;
    topic.topic_name = t;
    for (auto p : ps) topic.partitions.push_back({p});
    r.topics.push_back(std::move(topic));
  }
  return r;
}

class kafka_describe_quorum_test : public ::testing::Test {
 protected:
  // Dispatches the request; `reply` is set when the handler answers (at once, or later).
  void send(broker_context& ctx, std::int16_t version, const describe_quorum_request& req,
            std::optional<handler_reply>& reply, const std::string& client_id = "cli") {
    writer w;
    encode_request_header({api_key::describe_quorum, version, 7, client_id}, w);
    encode_describe_quorum_request(req, version, w);
    dispatcher d{ctx, log_};
    d.handle(client_info{"127.0.0.9:40000", 1}, w.take(), [&reply](handler_reply r) { reply = std::move(r); });
  }
  describe_quorum_response decode(const std::optional<handler_reply>& reply, std::int16_t version) {
    EXPECT_TRUE(reply.has_value());
    if (!reply) return {};
    EXPECT_EQ(reply->what, handler_reply::kind::respond) << reply->why;
    const std::string whole = reply->prefix + reply->frame.flatten();
    reader rd(whole);
    auto corr = decode_response_header(rd, api_key::describe_quorum, version);
    EXPECT_TRUE(corr && *corr == 7);
    auto m = decode_describe_quorum_response(rd, version);
    EXPECT_TRUE(m.has_value());
    EXPECT_EQ(rd.remaining(), 0u);
    return m.value_or(describe_quorum_response{});
  }
  describe_quorum_response call(broker_context& ctx, std::int16_t version, const describe_quorum_request& req) {
    std::optional<handler_reply> reply;
    send(ctx, version, req, reply);
    return decode(reply, version);
  }

  std::shared_ptr<spdlog::logger> log_ =
      std::make_shared<spdlog::logger>("k", std::make_shared<spdlog::sinks::null_sink_mt>());
  fake_context ctx_;
};

TEST_F(kafka_describe_quorum_test, meta_answers_as_the_cluster_metadata_partition_in_every_version) {
  ctx_.quorum = three_voters_one_learner();
  for (std::int16_t v = 0; v <= 2; ++v) {
    const auto r = call(ctx_, v, ask({{"__cluster_metadata", {0}}}));
    EXPECT_EQ(r.error, error_code::none);
    ASSERT_EQ(r.topics.size(), 1u);
    ASSERT_EQ(r.topics[0].partitions.size(), 1u);
    const auto& p = r.topics[0].partitions[0];
    EXPECT_EQ(p.error, error_code::none);
    EXPECT_EQ(p.leader_id, 2);
    EXPECT_EQ(p.leader_epoch, 7);
    EXPECT_EQ(p.high_watermark, 120);
    ASSERT_EQ(p.current_voters.size(), 3u);
    EXPECT_EQ(p.current_voters[0].replica_id, 1);
    EXPECT_EQ(p.current_voters[0].log_end_offset, 118);
    ASSERT_EQ(p.observers.size(), 1u);
    EXPECT_EQ(p.observers[0].replica_id, 4);
    EXPECT_EQ(p.observers[0].log_end_offset, 90);
    // v1 carries the times, v2 the directory ids and the nodes; older versions leave defaults.
    EXPECT_EQ(p.current_voters[1].last_caught_up_timestamp, v >= 1 ? 1'700'000'000'000 : -1) << v;
    EXPECT_EQ(p.current_voters[0].replica_directory_id[0], v >= 2 ? 0x11 : 0) << v;
    EXPECT_EQ(r.nodes.size(), v >= 2 ? 3u : 0u) << v;
  }
}

TEST_F(kafka_describe_quorum_test, v2_lists_each_voters_listener_with_its_port_bits_intact) {
  ctx_.quorum = three_voters_one_learner();
  const auto r = call(ctx_, 2, ask({{"__cluster_metadata", {0}}}));
  ASSERT_EQ(r.nodes.size(), 3u) << "voters only, not the observer";
  EXPECT_EQ(r.nodes[1].node_id, 2);
  ASSERT_EQ(r.nodes[1].listeners.size(), 1u);
  EXPECT_EQ(r.nodes[1].listeners[0].name, "PLAINTEXT");
  EXPECT_EQ(r.nodes[1].listeners[0].host, "127.0.0.2");
  EXPECT_EQ(static_cast<std::uint16_t>(r.nodes[1].listeners[0].port), 40000) << "uint16 on the wire";
}

TEST_F(kafka_describe_quorum_test, other_topics_and_partitions_are_unknown) {
  ctx_.quorum = three_voters_one_learner();
  const auto r = call(ctx_, 1, ask({{"__cluster_metadata", {1}}, {"orders", {0}}}));
  ASSERT_EQ(r.topics.size(), 2u);
  EXPECT_EQ(r.topics[0].partitions.at(0).error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(r.topics[1].topic_name, "orders");
  EXPECT_EQ(r.topics[1].partitions.at(0).error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(r.topics[1].partitions.at(0).leader_id, -1);
}

TEST_F(kafka_describe_quorum_test, a_node_without_a_meta_replica_is_not_leader_or_follower) {
  const auto r = call(ctx_, 2, ask({{"__cluster_metadata", {0}}}));
  ASSERT_EQ(r.topics.size(), 1u);
  const auto& p = r.topics[0].partitions.at(0);
  EXPECT_EQ(p.error, error_code::not_leader_or_follower);
  EXPECT_TRUE(p.error_message.has_value());
  EXPECT_TRUE(r.nodes.empty());
}

// Kafka's brokers forward DescribeQuorum to the active controller: the answer is the leader's view,
// sent when it comes. A request another node forwarded (inter_broker_client_id) is answered from
// this node's own view at once, never forwarded again.
TEST_F(kafka_describe_quorum_test, a_follower_answers_with_the_leaders_view_and_never_forwards_a_forwarded_request) {
  quorum_info own = three_voters_one_learner();
  own.leader_here = false;
  for (auto& v : own.voters) v.log_end_offset = v.id == n(1) ? 121 : -1;  // a follower's own view
  ctx_.quorum = own;
  ctx_.defer = true;
  std::optional<handler_reply> reply;
  send(ctx_, 2, ask({{"__cluster_metadata", {0}}}), reply);
  EXPECT_EQ(ctx_.forwarded, 1);
  EXPECT_FALSE(reply.has_value()) << "no answer before the leader's";
  ASSERT_TRUE(ctx_.pending);
  std::exchange(ctx_.pending, nullptr)(three_voters_one_learner());
  const auto r = decode(reply, 2);
  const auto& p = r.topics.at(0).partitions.at(0);
  EXPECT_EQ(p.leader_id, 2);
  ASSERT_EQ(p.current_voters.size(), 3u);
  EXPECT_EQ(p.current_voters[0].log_end_offset, 118) << "the leader's figure, not this node's";
  EXPECT_EQ(r.nodes.size(), 3u);

  std::optional<handler_reply> again;
  send(ctx_, 2, ask({{"__cluster_metadata", {0}}}), again, std::string(inter_broker_client_id));
  EXPECT_EQ(ctx_.forwarded, 1) << "a forwarded request is not forwarded again";
  const auto local = decode(again, 2);
  EXPECT_EQ(local.topics.at(0).partitions.at(0).current_voters[1].log_end_offset, -1) << "its own view";
}

}  // namespace
}  // namespace chronik::kafka
