// WriteTxnMarkers (kafka/handlers/write_txn_markers.cc, KIP-98) through the dispatcher, over three
// real partition replicas linked in memory (tests/unit/partition_test_util.h), as
// tests/unit/kafka_delete_records_test.cc drives DeleteRecords: a commit ends open transactions on
// the leader of a topic and of `__consumer_offsets` and is replicated; several markers and
// partitions are answered in request order with each one's error; a follower answers
// NOT_LEADER_OR_FOLLOWER; a stale producer epoch and a stale coordinator epoch are refused; a
// marker that cannot commit is answered REQUEST_TIMED_OUT at the handler's deadline; a malformed
// request closes the connection. Authorization (CLUSTER_ACTION, kafka/handlers/authorization.h):
// a client that may not is answered CLUSTER_AUTHORIZATION_FAILED everywhere and nothing is
// written; a request on the inter-broker listener (the brokers' own) passes under deny-by-default.
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kafka/acl/acl_authorizer.h"
#include "kafka/handlers/dispatcher.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/write_txn_markers.h"
#include "tests/unit/partition_test_util.h"

namespace chronik::kafka {
namespace {

using testing::make_batch;
using testing::make_transactional_batch;
using testing::partition_cluster;
using testing::produce_probe;

constexpr group_id g{3072};          // "t" partition 0
constexpr group_id offsets_g{3073};  // "__consumer_offsets" partition 0

// Node `node`'s view of two one-partition topics on nodes 1-3, and its partition manager.
class node_context : public broker_context {
 public:
  node_context(partition_cluster& c, std::size_t node) : c_(c), node_(node) {
    const std::vector<chronik::node_id> all{node_id_from_kafka(1), node_id_from_kafka(2), node_id_from_kafka(3)};
    for (const std::string& name : {std::string("t"), std::string(offsets_topic_name)}) {
      topic_info t;
      t.name = name;
      t.partitions.push_back({0, node_id_from_kafka(1), 1, all, all, {}});
      topics_.push_back(std::move(t));
    }
  }
  chronik::node_id node_id() const override { return chronik::node_id{static_cast<std::uint32_t>(node_ + 1)}; }
  std::optional<std::string> cluster_id() const override { return "c"; }
  chronik::node_id controller_id() const override { return chronik::node_id{1}; }
  std::vector<broker_info> brokers() const override { return {}; }
  std::vector<topic_info> topics() const override { return topics_; }
  std::optional<topic_info> topic(std::string_view name) const override {
    for (const auto& t : topics_)
      if (t.name == name) return t;
    return std::nullopt;
  }
  broker_defaults defaults() const override { return {}; }
  void create_topics(std::vector<topic_request>, bool, std::chrono::milliseconds, topics_done done) override { done({}); }
  void delete_topics(std::vector<std::string>, std::chrono::milliseconds, topics_done done) override { done({}); }
  partition_manager& partitions() override { return c_.manager(node_); }
  const acl::authorizer& authorizer() const override { return auth; }
  std::string_view inter_broker_listener() const override { return "INTERNAL"; }

  acl::authorizer auth;  // default: no bindings, unauthenticated listeners allowed

 private:
  partition_cluster& c_;
  std::size_t node_;
  std::vector<topic_info> topics_;
};

// One marker of a request: (topic, partition) pairs in order.
struct ask {
  std::int64_t pid = 0;
  std::int16_t epoch = 0;
  bool commit = true;
  std::int32_t coordinator_epoch = 1;
  std::vector<std::pair<std::string, std::int32_t>> partitions;
};

class kafka_write_txn_markers_test : public ::testing::Test {
 protected:
  kafka_write_txn_markers_test() {
    c_.create("t", g.value, {node_id{1}, node_id{2}, node_id{3}});
    c_.create(std::string(offsets_topic_name), offsets_g.value, {node_id{1}, node_id{2}, node_id{3}});
    EXPECT_TRUE(c_.elect(g, 0));
    EXPECT_TRUE(c_.elect(offsets_g, 0));
    for (std::size_t i = 0; i < 3; ++i) {
      ctx_.push_back(std::make_unique<node_context>(c_, i));
      disp_.push_back(std::make_unique<dispatcher>(*ctx_.back(), c_.log()));
    }
  }

  partition_replica& replica(std::size_t i, group_id gid = g) { return *c_.manager(i).find(gid); }

  // Produces `batch` into `gid`'s leader (node 0) and waits for the answer.
  void produce(std::string batch, group_id gid = g) {
    produce_probe probe;
    replica(0, gid).produce(std::move(batch), acks_mode::all, c_.clock().steady + std::chrono::seconds(30),
                            probe.callback());
    ASSERT_TRUE(c_.run_until([&] { return probe.answered; }));
    ASSERT_TRUE(probe.result.has_value());
  }

  static std::string encode(std::int16_t version, const std::vector<ask>& asks) {
    write_txn_markers_request req;
    for (const auto& a : asks) {
      writable_txn_marker m{a.pid, a.epoch, a.commit, {}, a.coordinator_epoch};
      for (const auto& [topic, partition] : a.partitions) {
        if (m.topics.empty() || m.topics.back().name != topic) m.topics.push_back({topic, {}});
        m.topics.back().partition_indexes.push_back(partition);
      }
      req.markers.push_back(std::move(m));
    }
    writer w;
    encode_request_header({api_key::write_txn_markers, version, 11, std::string("test")}, w);
    encode_write_txn_markers_request(req, version, w);
    return w.take();
  }

  // Sends the request to node i; the answer is decoded once it comes (the cluster runs until
  // then, at most `ticks` ticks).
  std::optional<write_txn_markers_response> request(std::size_t i, std::int16_t version, const std::vector<ask>& asks,
                                                    int ticks = 400, client_info who = client_info{"test", 1}) {
    auto reply = std::make_shared<std::optional<handler_reply>>();
    disp_[i]->handle(who, encode(version, asks), [reply](handler_reply r) { *reply = std::move(r); });
    if (!c_.run_until([&] { return reply->has_value(); }, ticks)) return std::nullopt;
    return decode(**reply, version);
  }

  static std::optional<write_txn_markers_response> decode(const handler_reply& reply, std::int16_t version) {
    EXPECT_EQ(reply.what, handler_reply::kind::respond) << reply.why;
    const std::string whole = reply.prefix + reply.frame.flatten();
    reader rd(whole);
    auto corr = decode_response_header(rd, api_key::write_txn_markers, version);
    EXPECT_TRUE(corr && *corr == 11);
    auto resp = decode_write_txn_markers_response(rd, version);
    EXPECT_TRUE(resp.has_value()) << describe(resp.error());
    EXPECT_EQ(rd.remaining(), 0u);
    return resp ? std::optional(*resp) : std::nullopt;
  }

  // The single partition's error of a one-marker, one-partition request.
  error_code one(std::size_t i, ask a, client_info who = client_info{"test", 1}) {
    const auto resp = request(i, 1, {std::move(a)}, 400, std::move(who));
    if (!resp || resp->markers.size() != 1 || resp->markers[0].topics.size() != 1 ||
        resp->markers[0].topics[0].partitions.size() != 1) {
      ADD_FAILURE() << "not one answer";
      return error_code::unknown_server_error;
    }
    return resp->markers[0].topics[0].partitions[0].error;
  }

  partition_cluster c_;
  std::vector<std::unique_ptr<node_context>> ctx_;
  std::vector<std::unique_ptr<dispatcher>> disp_;
};

TEST_F(kafka_write_txn_markers_test, a_commit_ends_the_open_transactions_of_a_topic_and_of_the_offsets_topic) {
  const std::int64_t t0 = c_.clock().wall_ms;
  produce(make_transactional_batch(2, t0, "a", 70, 0, 0));                 // t: 0-1
  produce(make_transactional_batch(1, t0, "o", 70, 0, 0), offsets_g);      // __consumer_offsets: 0
  ASSERT_EQ(replica(0).last_stable_offset(), 0);
  ASSERT_EQ(replica(0, offsets_g).last_stable_offset(), 0);

  const auto resp = request(0, 1, {{70, 0, true, 1, {{"t", 0}, {std::string(offsets_topic_name), 0}}}});
  ASSERT_TRUE(resp.has_value());
  ASSERT_EQ(resp->markers.size(), 1u);
  EXPECT_EQ(resp->markers[0].producer_id, 70);
  ASSERT_EQ(resp->markers[0].topics.size(), 2u);
  EXPECT_EQ(resp->markers[0].topics[0].name, "t");
  EXPECT_EQ(resp->markers[0].topics[0].partitions.at(0).error, error_code::none);
  EXPECT_EQ(resp->markers[0].topics[1].name, offsets_topic_name);
  EXPECT_EQ(resp->markers[0].topics[1].partitions.at(0).error, error_code::none);
  // The marker took offset 2 of "t" and 1 of the offsets partition; both are stable through it.
  EXPECT_EQ(replica(0).high_watermark(), 3);
  EXPECT_EQ(replica(0).last_stable_offset(), 3);
  EXPECT_EQ(replica(0, offsets_g).last_stable_offset(), 2);
  auto committed = replica(0).fetch(0, 1 << 20, isolation::read_committed);
  ASSERT_TRUE(committed);
  EXPECT_TRUE(committed->aborted.empty());
  // Replicated: a follower holds the same producer table, with no open transaction.
  ASSERT_TRUE(c_.run_until([&] { return replica(2).high_watermark() == 3; }));
  EXPECT_EQ(replica(2).producers(), replica(0).producers());
}

TEST_F(kafka_write_txn_markers_test, markers_and_partitions_are_answered_in_request_order_with_their_errors) {
  const std::int64_t t0 = c_.clock().wall_ms;
  produce(make_transactional_batch(1, t0, "x", 80, 0, 0));
  produce(make_batch(1, t0, "plain"));
  // v0: the same fields as v1, not flexible.
  const auto resp = request(0, 0,
                            {{80, 0, false, 1, {{"t", 0}, {"t", 7}, {"nope", 0}, {"__transaction_state", 0}}},
                             {81, 0, true, 1, {{"t", 0}}}});
  ASSERT_TRUE(resp.has_value());
  ASSERT_EQ(resp->markers.size(), 2u);
  const auto& first = resp->markers[0];
  EXPECT_EQ(first.producer_id, 80);
  ASSERT_EQ(first.topics.size(), 3u);
  ASSERT_EQ(first.topics[0].partitions.size(), 2u);
  EXPECT_EQ(first.topics[0].partitions[0].partition_index, 0);
  EXPECT_EQ(first.topics[0].partitions[0].error, error_code::none);
  EXPECT_EQ(first.topics[0].partitions[1].partition_index, 7);
  EXPECT_EQ(first.topics[0].partitions[1].error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(first.topics[1].name, "nope");
  EXPECT_EQ(first.topics[1].partitions.at(0).error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(first.topics[2].name, "__transaction_state");
  EXPECT_EQ(first.topics[2].partitions.at(0).error, error_code::invalid_topic_exception)
      << "the transaction log takes no markers";
  EXPECT_EQ(resp->markers[1].producer_id, 81);
  EXPECT_EQ(resp->markers[1].topics.at(0).partitions.at(0).error, error_code::none)
      << "a marker without an open transaction is written, as Kafka does";
  // 80's abort is listed to read_committed fetches.
  auto d = replica(0).fetch(0, 1 << 20, isolation::read_committed);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->aborted, (std::vector<aborted_txn>{{80, 0, 2}}));
  EXPECT_EQ(replica(0).last_stable_offset(), replica(0).high_watermark());
}

TEST_F(kafka_write_txn_markers_test, a_follower_answers_not_leader) {
  produce(make_transactional_batch(1, c_.clock().wall_ms, "x", 90, 0, 0));
  EXPECT_EQ(one(1, {90, 0, true, 1, {{"t", 0}}}), error_code::not_leader_or_follower);
  EXPECT_EQ(replica(0).last_stable_offset(), 0) << "still open";
}

TEST_F(kafka_write_txn_markers_test, stale_producer_and_coordinator_epochs_are_refused) {
  produce(make_transactional_batch(1, c_.clock().wall_ms, "x", 95, 2, 0));
  EXPECT_EQ(one(0, {95, 1, false, 5, {{"t", 0}}}), error_code::invalid_producer_epoch);
  EXPECT_EQ(one(0, {95, 3, false, 5, {{"t", 0}}}), error_code::none);  // a bumped epoch: a timeout abort
  EXPECT_EQ(one(0, {95, 3, true, 4, {{"t", 0}}}), error_code::transaction_coordinator_fenced);
}

TEST_F(kafka_write_txn_markers_test, a_marker_that_cannot_commit_is_answered_timed_out_at_the_deadline) {
  produce(make_transactional_batch(1, c_.clock().wall_ms, "x", 99, 0, 0));
  c_.cut(1);
  c_.cut(2);
  std::optional<handler_reply> reply;
  disp_[0]->handle(client_info{"test", 1}, encode(1, {{99, 0, true, 1, {{"t", 0}}}}),
                   [&](handler_reply r) { reply = std::move(r); });
  ASSERT_TRUE(c_.tick_all());
  EXPECT_FALSE(reply.has_value()) << "waits for the commit";
  // Ticks move no clock; the manager answers the expired proposal once the clock passes it.
  c_.clock().advance(std::chrono::seconds(11));
  ASSERT_TRUE(c_.run_until([&] { return reply.has_value(); }, 5));
  const auto resp = decode(*reply, 1);
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->markers.at(0).topics.at(0).partitions.at(0).error, error_code::request_timed_out);
}

client_info on_listener(std::string listener, security_protocol protocol, std::string principal) {
  client_info c{"10.0.0.9:5000", 1};
  c.listener = std::move(listener);
  c.protocol = protocol;
  c.principal = std::move(principal);
  return c;
}

// Kafka: WriteTxnMarkers needs CLUSTER_ACTION on the cluster, so that only brokers end transactions.
TEST_F(kafka_write_txn_markers_test, only_cluster_action_may_write_markers_and_the_inter_broker_listener_has_it) {
  const std::int64_t t0 = c_.clock().wall_ms;
  produce(make_transactional_batch(2, t0, "a", 70, 0, 0));
  produce(make_transactional_batch(1, t0, "o", 70, 0, 0), offsets_g);
  ctx_[0]->auth = acl::authorizer({{"User:admin"}, acl::no_acl_rule::deny});
  const auto alice = on_listener("SASL_SSL", security_protocol::sasl_ssl, "User:alice");
  const auto outside_plaintext = on_listener("PLAINTEXT", security_protocol::plaintext, "User:ANONYMOUS");

  for (const auto& who : {alice, outside_plaintext}) {
    const auto resp = request(0, 1, {{70, 0, true, 1, {{"t", 0}, {"nope", 0}}}, {71, 0, false, 1, {{"t", 0}}}}, 400, who);
    ASSERT_TRUE(resp.has_value());
    ASSERT_EQ(resp->markers.size(), 2u);
    EXPECT_EQ(resp->markers[0].producer_id, 70);
    ASSERT_EQ(resp->markers[0].topics.size(), 2u);
    EXPECT_EQ(resp->markers[0].topics[0].partitions.at(0).error, error_code::cluster_authorization_failed);
    EXPECT_EQ(resp->markers[0].topics[1].partitions.at(0).error, error_code::cluster_authorization_failed);
    EXPECT_EQ(resp->markers[1].topics.at(0).partitions.at(0).error, error_code::cluster_authorization_failed);
  }
  ASSERT_TRUE(c_.tick_all());
  EXPECT_EQ(replica(0).high_watermark(), 2) << "no marker was written";
  EXPECT_EQ(replica(0).last_stable_offset(), 0) << "the transaction is still open";

  // An ACL granting CLUSTER_ACTION to a tool's principal (kafka-transactions.sh abort) lets it.
  ctx_[0]->auth.set_bindings({{acl::resource_type::cluster, std::string(acl::cluster_resource_name),
                               acl::pattern_type::literal, "User:alice", "*", acl::operation::cluster_action,
                               acl::permission::allow}});
  EXPECT_EQ(one(0, {70, 0, true, 1, {{std::string(offsets_topic_name), 0}}}, alice), error_code::none);
  EXPECT_EQ(replica(0, offsets_g).last_stable_offset(), 2);
  // The brokers' own markers, on the inter-broker listener, pass under deny-by-default.
  EXPECT_EQ(one(0, {70, 0, true, 1, {{"t", 0}}}, on_listener("INTERNAL", security_protocol::plaintext, "User:ANONYMOUS")),
            error_code::none);
  EXPECT_EQ(replica(0).last_stable_offset(), 3);
  // A super user may as well.
  produce(make_transactional_batch(1, t0, "b", 72, 0, 0));
  EXPECT_EQ(one(0, {72, 0, false, 1, {{"t", 0}}}, on_listener("SASL_SSL", security_protocol::sasl_ssl, "User:admin")),
            error_code::none);
}

TEST_F(kafka_write_txn_markers_test, an_empty_request_is_answered_and_a_malformed_one_closes_the_connection) {
  const auto empty = request(0, 1, {});
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->markers.empty());

  writer w;
  encode_request_header({api_key::write_txn_markers, 0, 11, std::string("test")}, w);
  w.write_int32(5);  // five markers announced, none sent
  std::optional<handler_reply> reply;
  disp_[0]->handle(client_info{"test", 1}, w.take(), [&](handler_reply r) { reply = std::move(r); });
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->what, handler_reply::kind::close);
}

}  // namespace
}  // namespace chronik::kafka
