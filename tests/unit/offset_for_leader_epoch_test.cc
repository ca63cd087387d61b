// OffsetForLeaderEpoch (kafka/handlers/offset_for_leader_epoch.cc) through the dispatcher at
// every version, over three real partition replicas linked in memory
// (tests/unit/partition_test_util.h), as tests/unit/kafka_data_handlers_test.cc drives Produce
// and Fetch. Leader epochs are Raft terms, made by moving leadership between the nodes; the
// answers must stay right when an old leader's uncommitted tail is truncated, after retention or
// DeleteRecords cuts the log's start, on a replica that caught up from a snapshot, and after a
// restart. The codec is also checked against hand-computed bytes.
#include <deque>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kafka/handlers/dispatcher.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/offset_for_leader_epoch.h"
#include "tests/unit/partition_test_util.h"

namespace chronik::kafka {
namespace {

using testing::make_batch;
using testing::partition_cluster;
using testing::produce_probe;

constexpr group_id g{1024};

// Node `node`'s view of a one-partition topic "t" on nodes 1-3, and its partition manager.
class epoch_context : public broker_context {
 public:
  epoch_context(partition_cluster& c, std::size_t node) : c_(c), node_(node) {
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

// One partition's question: the epoch to look up and the client's current epoch (-1: unfenced).
struct ask {
  std::int32_t leader_epoch = -1;
  std::int32_t current_leader_epoch = -1;
  std::string topic = "t";
  std::int32_t partition = 0;
};

class offset_for_leader_epoch_test : public ::testing::Test {
 protected:
  explicit offset_for_leader_epoch_test(std::map<std::string, std::string> configs = {}) {
    c_.create("t", g.value, {node_id{1}, node_id{2}, node_id{3}}, std::move(configs));
    EXPECT_TRUE(c_.elect(g, 0));
    for (std::size_t i = 0; i < 3; ++i) {
      ctx_.push_back(std::make_unique<epoch_context>(c_, i));
      disp_.push_back(std::make_unique<dispatcher>(*ctx_.back(), c_.log()));
    }
  }

  partition_replica& replica(std::size_t i) { return *c_.manager(i).find(g); }
  std::int32_t epoch(std::size_t i) { return epoch_of_term(c_.host(i).status(g)->term.value); }

  // Produces one batch per count on node i (acks=all) and waits for every answer.
  void produce(std::size_t i, const std::vector<std::int32_t>& counts) {
    std::deque<produce_probe> probes;
    for (auto n : counts) {
      probes.emplace_back();
      replica(i).produce(make_batch(n, c_.clock().wall_ms, "x"), acks_mode::all,
                         c_.clock().steady + std::chrono::seconds(30), probes.back().callback());
    }
    ASSERT_TRUE(c_.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
    for (const auto& p : probes) EXPECT_TRUE(p.result.has_value());
  }

  // Sends one OffsetForLeaderEpoch request of `version` to node i and decodes the answer.
  offset_for_leader_epoch_response request(std::size_t i, std::int16_t version, const std::vector<ask>& asks,
                                           std::int32_t replica_id = -1) {
    offset_for_leader_epoch_request req;
    req.replica_id = replica_id;
    for (const auto& a : asks) {
      if (req.topics.empty() || req.topics.back().topic != a.topic) req.topics.push_back({a.topic, {}});
      req.topics.back().partitions.push_back({a.partition, a.current_leader_epoch, a.leader_epoch});
    }
    writer w;
    encode_request_header({api_key::offset_for_leader_epoch, version, 7, std::string("test")}, w);
    encode_offset_for_leader_epoch_request(req, version, w);
    std::optional<handler_reply> reply;
    disp_[i]->handle(client_info{"test", 1}, w.take(), [&](handler_reply r) { reply = std::move(r); });
    EXPECT_TRUE(reply.has_value()) << "answered at once";
    if (!reply) return {};
    EXPECT_EQ(reply->what, handler_reply::kind::respond) << reply->why;
    const std::string whole = reply->prefix + reply->frame.flatten();
    reader rd(whole);
    auto corr = decode_response_header(rd, api_key::offset_for_leader_epoch, version);
    EXPECT_TRUE(corr && *corr == 7);
    auto resp = decode_offset_for_leader_epoch_response(rd, version);
    EXPECT_TRUE(resp.has_value()) << describe(resp.error());
    EXPECT_EQ(rd.remaining(), 0u);
    return resp.value_or(offset_for_leader_epoch_response{});
  }
  offset_for_leader_partition_result one(std::size_t i, std::int16_t version, ask a) {
    auto resp = request(i, version, {std::move(a)});
    EXPECT_EQ(resp.topics.size(), 1u);
    EXPECT_EQ(resp.topics.at(0).partitions.size(), 1u);
    return resp.topics.at(0).partitions.at(0);
  }
  // (epoch, end offset) for `leader_epoch` from node i at v4, unfenced.
  std::pair<std::int32_t, std::int64_t> end_of(std::size_t i, std::int32_t leader_epoch) {
    const auto r = one(i, 4, {leader_epoch});
    EXPECT_EQ(r.error, error_code::none) << "epoch " << leader_epoch;
    return {r.leader_epoch, r.end_offset};
  }

  partition_cluster c_;
  std::vector<std::unique_ptr<epoch_context>> ctx_;
  std::vector<std::unique_ptr<dispatcher>> disp_;
};

// Hand-computed bytes (round trips cannot catch an encoder and decoder wrong in the same way):
// librdkafka's v2 request, a flexible v4 one, and the v0 and v1 answers.
TEST(offset_for_leader_epoch_codec, requests_and_answers_byte_for_byte) {
  using namespace std::string_literals;
  const std::string v2 = "\x00\x00\x00\x01" "\x00\x01t" "\x00\x00\x00\x01" "\x00\x00\x00\x02"
                         "\x00\x00\x00\x05" "\x00\x00\x00\x03"s;
  const std::string v4 = "\xff\xff\xff\xff" "\x02" "\x02t" "\x02" "\x00\x00\x00\x02"
                         "\x00\x00\x00\x05" "\x00\x00\x00\x03" "\x00" "\x00" "\x00"s;
  const offset_for_leader_epoch_request want{.replica_id = -2, .topics = {{"t", {{2, 5, 3}}}}};
  for (const auto& [version, bytes] : {std::pair<std::int16_t, std::string>{2, v2}, {4, v4}}) {
    reader r(bytes);
    auto got = decode_offset_for_leader_epoch_request(r, version);
    ASSERT_TRUE(got.has_value()) << describe(got.error());
    EXPECT_EQ(r.remaining(), 0u);
    auto expected = want;
    if (version >= 3) expected.replica_id = -1;  // v2 has no replica id: the default, -2
    EXPECT_EQ(*got, expected) << "v" << version;
  }
  offset_for_leader_epoch_response resp;
  resp.topics.push_back({"t", {{error_code::fenced_leader_epoch, 2, 3, 100}}});
  const std::string tail = "\x00\x00\x00\x00\x00\x00\x00\x64"s;
  const std::string head = "\x00\x00\x00\x01" "\x00\x01t" "\x00\x00\x00\x01" "\x00\x4a" "\x00\x00\x00\x02"s;
  writer v0;
  encode_offset_for_leader_epoch_response(resp, 0, v0);
  EXPECT_EQ(v0.take(), head + tail) << "v0 has no epoch in its answer";
  writer v1;
  encode_offset_for_leader_epoch_response(resp, 1, v1);
  EXPECT_EQ(v1.take(), head + "\x00\x00\x00\x03"s + tail);
}

// Three terms with records: [0, 6) in the first, [6, 9) in the second, [9, 10) in the third.
TEST_F(offset_for_leader_epoch_test, every_version_answers_where_each_epoch_ends) {
  const std::int32_t e1 = epoch(0);
  produce(0, {2, 4});
  ASSERT_TRUE(c_.elect(g, 1));
  const std::int32_t e2 = epoch(1);
  produce(1, {3});
  ASSERT_TRUE(c_.elect(g, 2));
  const std::int32_t e3 = epoch(2);
  produce(2, {1});
  ASSERT_LT(e1, e2);
  ASSERT_LT(e2, e3);

  for (std::int16_t v = 0; v <= 4; ++v) {
    const auto check = [&](std::int32_t asked, std::int32_t want_epoch, std::int64_t want_end) {
      const auto r = one(2, v, {asked, v >= 2 ? e3 : -1});
      EXPECT_EQ(r.error, error_code::none) << "v" << v << " epoch " << asked;
      EXPECT_EQ(r.partition, 0);
      EXPECT_EQ(r.end_offset, want_end) << "v" << v << " epoch " << asked;
      // v0 carries no epoch in its answer.
      EXPECT_EQ(r.leader_epoch, v >= 1 ? want_epoch : -1) << "v" << v << " epoch " << asked;
    };
    check(e3, e3, 10);  // the current epoch ends at the high watermark
    check(e2, e2, 9);
    check(e1, e1, 6);
    if (e2 - e1 > 1) check(e2 - 1, e1, 6);  // an election without records: the epoch before it
    check(e1 - 1, e1 - 1, 0);  // older than the log: it ended where the first epoch starts
    check(e3 + 1, -1, -1);     // newer than the leader's
    check(-1, -1, -1);
  }
  // ListOffsets answers with the epoch of the record it found, not the current one (KIP-320:
  // a consumer validates a reset position against OffsetForLeaderEpoch with that epoch).
  const auto earliest = replica(2).list_offsets(list_offsets_earliest);
  ASSERT_TRUE(earliest);
  EXPECT_EQ(earliest->offset, 0);
  EXPECT_EQ(earliest->leader_epoch, e1);
  const auto latest = replica(2).list_offsets(list_offsets_latest);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->offset, 10);
  EXPECT_EQ(latest->leader_epoch, e3);
  // replica_id (v3+) changes nothing: no broker follows over the Kafka protocol.
  EXPECT_EQ(request(2, 4, {{e1}}, 2).topics.at(0).partitions.at(0).end_offset, 6);
  EXPECT_EQ(request(2, 3, {{e1}}, -2).topics.at(0).partitions.at(0).end_offset, 6);
}

TEST_F(offset_for_leader_epoch_test, only_the_leader_answers_and_current_epochs_are_fenced) {
  produce(0, {1});
  const std::int32_t e = epoch(0);
  EXPECT_EQ(one(1, 4, {e}).error, error_code::not_leader_or_follower);
  EXPECT_EQ(one(2, 0, {e}).error, error_code::not_leader_or_follower);
  const auto unknown = one(0, 4, {.leader_epoch = e, .topic = "nope"});
  EXPECT_EQ(unknown.error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(unknown.end_offset, -1);
  EXPECT_EQ(one(0, 4, {.leader_epoch = e, .partition = 5}).error, error_code::unknown_topic_or_partition);

  // KIP-320: a client with older metadata is fenced, one ahead of this leader must wait.
  for (std::int16_t v = 2; v <= 4; ++v) {
    EXPECT_EQ(one(0, v, {e, e - 1}).error, error_code::fenced_leader_epoch) << "v" << v;
    EXPECT_EQ(one(0, v, {e, e + 1}).error, error_code::unknown_leader_epoch) << "v" << v;
    EXPECT_EQ(one(0, v, {e, e}).error, error_code::none) << "v" << v;
  }
  // v0 and v1 carry no current epoch: never fenced.
  EXPECT_EQ(one(0, 1, {e, e - 1}).error, error_code::none);

  // Several partitions and topics in one request, answered in order.
  auto resp = request(0, 4, {{e, e}, {.leader_epoch = e, .partition = 7}, {.leader_epoch = e, .topic = "other"}});
  ASSERT_EQ(resp.topics.size(), 2u);
  ASSERT_EQ(resp.topics[0].partitions.size(), 2u);
  EXPECT_EQ(resp.topics[0].partitions[0].end_offset, 1);
  EXPECT_EQ(resp.topics[0].partitions[1].partition, 7);
  EXPECT_EQ(resp.topics[0].partitions[1].error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(resp.topics[1].topic, "other");
}

// The old leader is cut off with proposals in flight; a new leader overwrites them. Once healed
// and leading again, the old leader answers exactly as the new one did: its truncated tail was
// never committed, so it never reached the epoch map, and every replica holds the same map.
TEST_F(offset_for_leader_epoch_test, a_truncated_old_leader_answers_like_the_new_one) {
  produce(0, {2, 2});
  const std::int32_t e1 = epoch(0);
  c_.cut(0);
  std::deque<produce_probe> lost(2);
  for (auto& p : lost) replica(0).produce(make_batch(5, 1, "lost"), acks_mode::all, c_.clock().steady + std::chrono::seconds(30), p.callback());
  ASSERT_TRUE(c_.elect(g, 1));
  const std::int32_t e2 = epoch(1);
  produce(1, {3});
  const auto from_new_leader = std::vector{end_of(1, e1), end_of(1, e2)};
  EXPECT_EQ(from_new_leader[0], std::make_pair(e1, std::int64_t{4})) << "the lost proposals took no offsets";
  EXPECT_EQ(from_new_leader[1], std::make_pair(e2, std::int64_t{7}));

  c_.heal(0);
  ASSERT_TRUE(c_.run_until([&] { return std::ranges::all_of(lost, &produce_probe::answered); }));
  ASSERT_TRUE(c_.run_until([&] { return replica(0).high_watermark() == 7 && replica(2).high_watermark() == 7; }));
  for (std::size_t i = 1; i < 3; ++i) EXPECT_EQ(replica(i).epochs().entries(), replica(0).epochs().entries()) << i;
  ASSERT_TRUE(c_.elect(g, 0));
  const std::int32_t e3 = epoch(0);
  EXPECT_EQ(end_of(0, e1), from_new_leader[0]);
  EXPECT_EQ(end_of(0, e2), from_new_leader[1]);
  EXPECT_EQ(end_of(0, e3), std::make_pair(e3, std::int64_t{7}));
}

// A restarted replica rebuilds the map by replaying its log from the WAL (and from its own
// snapshot, when retention compacted), and answers as before once it leads.
TEST_F(offset_for_leader_epoch_test, a_restarted_replica_rebuilds_the_epochs_from_its_log) {
  const std::int32_t e1 = epoch(0);
  produce(0, {1, 2});
  ASSERT_TRUE(c_.elect(g, 1));
  const std::int32_t e2 = epoch(1);
  produce(1, {4});
  const auto before = replica(2).epochs().entries();
  ASSERT_EQ(before.size(), 2u);
  ASSERT_TRUE(c_.restart(2));
  ASSERT_TRUE(c_.run_until([&] { return replica(2).high_watermark() == 7; }));
  EXPECT_EQ(replica(2).epochs().entries(), before);
  ASSERT_TRUE(c_.elect(g, 2));
  EXPECT_EQ(end_of(2, e1), std::make_pair(e1, std::int64_t{3}));
  EXPECT_EQ(end_of(2, e2), std::make_pair(e2, std::int64_t{7}));
}

// DeleteRecords moves the log start through a control entry in the partition's Raft log: inside
// an epoch, that epoch begins at the new start; past it, the epoch's answer is where the kept log
// starts. The restarted replica replays the deletion and answers the same.
TEST_F(offset_for_leader_epoch_test, deleted_records_move_where_the_first_epoch_begins) {
  const std::int32_t e1 = epoch(0);
  produce(0, {2, 2});
  ASSERT_TRUE(c_.elect(g, 1));
  const std::int32_t e2 = epoch(1);
  produce(1, {3, 3});
  const auto delete_below = [&](std::int64_t offset) {
    std::optional<std::expected<std::int64_t, partition_errc>> got;
    replica(1).delete_records(offset, c_.clock().steady + std::chrono::seconds(30), [&](auto r) { got = r; });
    EXPECT_TRUE(c_.run_until([&] { return got.has_value(); }));
    EXPECT_TRUE(got && got->has_value() && **got == offset);
  };
  delete_below(3);
  EXPECT_EQ(replica(1).epochs().entries().front(), (epoch_start{e1, 3}));
  EXPECT_EQ(end_of(1, e1), std::make_pair(e1, std::int64_t{4}));
  delete_below(7);
  EXPECT_EQ(replica(1).epochs().entries().front(), (epoch_start{e2, 7}));
  EXPECT_EQ(end_of(1, e1), std::make_pair(e1, std::int64_t{7})) << "older than the log: where it starts";
  EXPECT_EQ(end_of(1, e2), std::make_pair(e2, std::int64_t{10}));
  ASSERT_TRUE(c_.run_until([&] { return replica(2).log_start_offset() == 7; }));
  ASSERT_TRUE(c_.restart(2));
  ASSERT_TRUE(c_.run_until([&] { return replica(2).log_start_offset() == 7 && replica(2).high_watermark() == 10; }));
  EXPECT_EQ(replica(2).epochs().entries(), replica(1).epochs().entries());
  ASSERT_TRUE(c_.elect(g, 2));
  EXPECT_EQ(end_of(2, e1), std::make_pair(e1, std::int64_t{7}));
  EXPECT_EQ(end_of(2, e2), std::make_pair(e2, std::int64_t{10}));
}

class offset_for_leader_epoch_retention_test : public offset_for_leader_epoch_test {
 protected:
  offset_for_leader_epoch_retention_test() : offset_for_leader_epoch_test({{"retention.bytes", "300"}}) {}
};

// Retention cuts the log's start inside the second epoch: the first epoch's records are gone, so
// asking for it answers where the kept log starts (as Kafka does), never "undefined", which would
// make a consumer reset. A replica that was cut off catches up from the leader's snapshot, a
// restarted one replays its own, and both answer as the leader that compacted.
TEST_F(offset_for_leader_epoch_retention_test, compaction_snapshot_and_restart_keep_the_answers) {
  const std::int32_t e1 = epoch(0);
  c_.cut(2);
  for (int k = 0; k < 3; ++k) produce(0, {1});
  ASSERT_TRUE(c_.elect(g, 1));
  const std::int32_t e2 = epoch(1);
  for (int k = 0; k < 6; ++k) produce(1, {1});
  c_.clock().advance(std::chrono::seconds(6));  // past retention_check_interval_ms
  ASSERT_TRUE(c_.tick_all());
  const std::int64_t start = replica(1).log_start_offset();
  ASSERT_GT(start, 3) << "the cut is inside the second epoch";
  ASSERT_LT(start, 9);
  EXPECT_EQ(replica(1).epochs().entries().front(), (epoch_start{e2, start}));
  EXPECT_EQ(end_of(1, e1), std::make_pair(e1, start));
  EXPECT_EQ(end_of(1, e2), std::make_pair(e2, std::int64_t{9}));

  // Node 3 missed everything and gets the snapshot; then it restarts; then it leads.
  c_.heal(2);
  ASSERT_TRUE(c_.run_until([&] { return replica(2).high_watermark() == 9; }));
  c_.clock().advance(std::chrono::seconds(6));
  ASSERT_TRUE(c_.tick_all());
  ASSERT_TRUE(c_.restart(2));
  ASSERT_TRUE(c_.run_until([&] { return replica(2).high_watermark() == 9; }));
  ASSERT_TRUE(c_.elect(g, 2));
  const std::int32_t e3 = epoch(2);
  const std::int64_t start3 = replica(2).log_start_offset();
  ASSERT_GE(start3, start);
  EXPECT_EQ(end_of(2, e1), std::make_pair(e1, start3));
  EXPECT_EQ(end_of(2, e2), std::make_pair(e2, std::int64_t{9}));
  EXPECT_EQ(end_of(2, e3), std::make_pair(e3, std::int64_t{9}));
}

}  // namespace
}  // namespace chronik::kafka
