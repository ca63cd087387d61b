// TxnOffsetCommit (kafka/handlers/txn_offset_commit.cc) and OffsetFetch's require_stable through
// the dispatcher, with a fake broker context over a real group_coordinator leading partition 0 of
// a three-partition offsets topic: v0-3 are served (ApiVersions says so), the offsets stay pending
// until the producer's marker (OffsetFetch v7 with require_stable answers UNSTABLE_OFFSET_COMMIT
// meanwhile, without it the old offset), v3's member fields are checked, and the coordinator's
// errors are answered per partition as for OffsetCommit.
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "kafka/groups/group_coordinator.h"
#include "kafka/handlers/dispatcher.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/join_group.h"
#include "kafka/protocol/messages/offset_fetch.h"
#include "kafka/protocol/messages/txn_offset_commit.h"
#include "tests/unit/group_test_util.h"

namespace chronik::kafka {
namespace {

class fake_context : public broker_context {
 public:
  chronik::node_id node_id() const override { return chronik::node_id{1}; }
  std::optional<std::string> cluster_id() const override { return "c"; }
  chronik::node_id controller_id() const override { return chronik::node_id{1}; }
  std::vector<broker_info> brokers() const override { return {{chronik::node_id{1}, "127.0.0.1", 9092, std::nullopt}}; }
  std::vector<topic_info> topics() const override { return {*topic("t")}; }
  std::optional<topic_info> topic(std::string_view name) const override {
    if (name != "t") return std::nullopt;
    topic_info t;
    t.name = "t";
    const auto one = node_id_from_kafka(1);
    t.partitions = {{0, one, 1, {one}, {one}, {}}, {1, one, 1, {one}, {one}, {}}};
    return t;
  }
  broker_defaults defaults() const override { return {}; }
  void create_topics(std::vector<topic_request>, bool, std::chrono::milliseconds, topics_done) override {}
  void delete_topics(std::vector<std::string>, std::chrono::milliseconds, topics_done) override {}
  partition_manager& partitions() override { std::abort(); }  // not used by the group APIs
  group_coordinator* groups() override { return with_coordinator ? &coordinator : nullptr; }

  fake_context() {
    coordinator.begin_load(0, 3);
    coordinator.finish_load(0);
  }

  bool with_coordinator = true;
  group_coordinator coordinator{group_config::local()};
};

// A group id in offsets partition `p` of 3.
std::string group_in(std::int32_t p) {
  for (int i = 0;; ++i) {
    std::string g = "group-" + std::to_string(i);
    if (offsets_partition_for(g, 3) == p) return g;
  }
}

constexpr std::int64_t pid = 321;

class kafka_txn_offset_commit_test : public ::testing::Test {
 protected:
  std::shared_ptr<std::optional<handler_reply>> send(api_key key, std::int16_t version,
                                                     const std::function<void(writer&)>& body) {
    writer w;
    encode_request_header({key, version, 7, std::string("cli")}, w);
    body(w);
    auto slot = std::make_shared<std::optional<handler_reply>>();
    dispatcher_.handle(client_info{"127.0.0.9:40000", 1}, w.take(), [slot](handler_reply r) { *slot = std::move(r); });
    testing::settle(ctx_.coordinator);  // group writes commit at once: there is no Raft log here
    return slot;
  }
  template <typename Decode>
  auto decode(const std::optional<handler_reply>& r, api_key key, std::int16_t version, Decode fn) {
    EXPECT_TRUE(r.has_value());
    EXPECT_EQ(r->what, handler_reply::kind::respond) << r->why;
    const std::string whole = r->prefix + r->frame.flatten();
    reader rd(whole);
    auto corr = decode_response_header(rd, key, version);
    EXPECT_TRUE(corr && *corr == 7);
    auto m = fn(rd, version);
    EXPECT_TRUE(m.has_value());
    EXPECT_EQ(rd.remaining(), 0u);
    return *m;
  }
  txn_offset_commit_response commit(std::int16_t v, txn_offset_commit_request req) {
    auto r = send(api_key::txn_offset_commit, v, [&](writer& w) { encode_txn_offset_commit_request(req, v, w); });
    return decode(*r, api_key::txn_offset_commit, v, decode_txn_offset_commit_response);
  }
  static txn_offset_commit_request request(const std::string& group, std::int64_t offset,
                                           std::vector<std::int32_t> partitions = {0}, const std::string& topic = "t") {
    txn_offset_commit_request req;
    req.transactional_id = "tx";
    req.group_id = group;
    req.producer_id = pid;
    req.producer_epoch = 0;
    txn_offset_commit_request_topic t{topic, {}};
    for (auto p : partitions) t.partitions.push_back({p, offset, -1, "m"});
    req.topics.push_back(std::move(t));
    return req;
  }
  offset_fetch_partition_response fetch(const std::string& group, std::int32_t partition, std::int16_t v,
                                        bool require_stable) {
    auto r = send(api_key::offset_fetch, v, [&](writer& w) {
      encode_offset_fetch_request({group, std::vector<offset_fetch_topic>{{"t", {partition}}}, require_stable}, v, w);
    });
    auto resp = decode(*r, api_key::offset_fetch, v, decode_offset_fetch_response);
    EXPECT_EQ(resp.topics.size(), 1u);
    return resp.topics.at(0).partitions.at(0);
  }
  static std::vector<error_code> errors(const txn_offset_commit_response& r) {
    std::vector<error_code> out;
    for (const auto& t : r.topics)
      for (const auto& p : t.partitions) out.push_back(p.error);
    return out;
  }

  fake_context ctx_;
  dispatcher dispatcher_{ctx_, std::make_shared<spdlog::logger>("k", std::make_shared<spdlog::sinks::null_sink_mt>())};
};

TEST_F(kafka_txn_offset_commit_test, versions_0_to_3_are_served) {
  const auto& all = all_handlers();
  auto it = std::ranges::find(all, api_key::txn_offset_commit, &api_handler::key);
  ASSERT_NE(it, all.end());
  EXPECT_EQ(it->versions.min, 0);
  EXPECT_EQ(it->versions.max, 3) << "v4 (TRANSACTION_ABORTABLE) and v5+ (KIP-890 part 2) are not";
}

TEST_F(kafka_txn_offset_commit_test, offsets_are_pending_until_the_commit_marker_in_every_version) {
  for (std::int16_t v = 0; v <= 3; ++v) {
    const std::string g = group_in(0) + "-v" + std::to_string(v);
    if (offsets_partition_for(g, 3) != 0) continue;  // only partition 0 is served here
    auto r = commit(v, request(g, 50 + v, {0, 1}));
    EXPECT_EQ(errors(r), (std::vector<error_code>{error_code::none, error_code::none})) << "v" << v;
    // require_stable (v7): the pending partition is unstable; without it, nothing committed yet.
    EXPECT_EQ(fetch(g, 0, 7, true).error, error_code::unstable_offset_commit);
    EXPECT_EQ(fetch(g, 0, 7, false).committed_offset, -1);
    EXPECT_EQ(fetch(g, 0, 6, false).committed_offset, -1);
    ctx_.coordinator.txn_marker_applied(0, pid, testing::settled_log_end, true);
    auto stable = fetch(g, 0, 7, true);
    EXPECT_EQ(stable.error, error_code::none);
    EXPECT_EQ(stable.committed_offset, 50 + v);
    EXPECT_EQ(stable.metadata, "m");
  }
}

TEST_F(kafka_txn_offset_commit_test, an_abort_leaves_the_committed_offset) {
  const std::string g = group_in(0);
  ASSERT_EQ(errors(commit(3, request(g, 10))), std::vector<error_code>{error_code::none});
  ctx_.coordinator.txn_marker_applied(0, pid, testing::settled_log_end, true);
  ASSERT_EQ(errors(commit(3, request(g, 20))), std::vector<error_code>{error_code::none});
  ctx_.coordinator.txn_marker_applied(0, pid, testing::settled_log_end, false);
  auto f = fetch(g, 0, 7, true);
  EXPECT_EQ(f.error, error_code::none);
  EXPECT_EQ(f.committed_offset, 10);
}

TEST_F(kafka_txn_offset_commit_test, errors_per_partition_as_for_offset_commit) {
  const std::string here = group_in(0);
  auto unknown = commit(3, request(here, 1, {0, 9}));
  EXPECT_EQ(errors(unknown), (std::vector<error_code>{error_code::none, error_code::unknown_topic_or_partition}));
  EXPECT_EQ(errors(commit(3, request(here, 1, {0}, "nope"))), std::vector<error_code>{error_code::unknown_topic_or_partition});
  EXPECT_EQ(errors(commit(3, request(group_in(1), 1))), std::vector<error_code>{error_code::not_coordinator});
  auto no_producer = request(here, 1);
  no_producer.producer_id = -1;
  EXPECT_EQ(errors(commit(3, no_producer)), std::vector<error_code>{error_code::invalid_producer_id_mapping});
  ctx_.coordinator.begin_load(0, 3);
  EXPECT_EQ(errors(commit(3, request(here, 1))), std::vector<error_code>{error_code::coordinator_load_in_progress});
  ctx_.coordinator.finish_load(0);
  ctx_.with_coordinator = false;
  EXPECT_EQ(errors(commit(2, request(here, 1))), std::vector<error_code>{error_code::coordinator_not_available});
}

TEST_F(kafka_txn_offset_commit_test, v3_checks_the_consumers_membership) {
  const std::string g = group_in(0);
  // A member of generation 1.
  auto j = send(api_key::join_group, 3, [&](writer& w) {  // v3: no KIP-394 round trip
    join_group_request req{g, 10'000, 30'000, "", std::nullopt, "consumer", {{"range", "sub"}}};
    encode_join_group_request(req, 3, w);
  });
  auto joined = decode(*j, api_key::join_group, 3, decode_join_group_response);
  ASSERT_EQ(joined.error, error_code::none);
  auto as = [&](std::int32_t generation, std::string member) {
    auto req = request(g, 5);
    req.generation_id = generation;
    req.member_id = std::move(member);
    return errors(commit(3, req)).at(0);
  };
  EXPECT_EQ(as(joined.generation_id, joined.member_id), error_code::none);
  EXPECT_EQ(as(-1, ""), error_code::none) << "-1 and \"\" skip the check";
  EXPECT_EQ(as(joined.generation_id, "stranger"), error_code::unknown_member_id);
  EXPECT_EQ(as(joined.generation_id + 1, joined.member_id), error_code::illegal_generation);
}

}  // namespace
}  // namespace chronik::kafka
