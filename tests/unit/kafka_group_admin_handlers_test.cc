// DeleteGroups and OffsetDelete through the dispatcher (docs/kafka.md "Deleting groups and
// offsets"), with a fake broker context over a real group_coordinator that leads partition 0 of a
// three-partition offsets topic: every served version, one answer per group, answers that wait for
// the tombstones to commit, the subscription rule, unknown topics, and the top-level errors.
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "kafka/groups/consumer_protocol.h"
#include "kafka/groups/group_coordinator.h"
#include "kafka/handlers/dispatcher.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/delete_groups.h"
#include "kafka/protocol/messages/offset_delete.h"
#include "tests/unit/group_test_util.h"

namespace chronik::kafka {
namespace {

class fake_context : public broker_context {
 public:
  chronik::node_id node_id() const override { return chronik::node_id{1}; }
  std::optional<std::string> cluster_id() const override { return "c"; }
  chronik::node_id controller_id() const override { return chronik::node_id{1}; }
  std::vector<broker_info> brokers() const override {
    return {{chronik::node_id{1}, "127.0.0.1", 9092, std::nullopt}, {chronik::node_id{2}, "127.0.0.2", 9093, std::nullopt},
            {chronik::node_id{3}, "127.0.0.3", 9094, std::nullopt}};
  }
  std::vector<topic_info> topics() const override { return {*topic("t"), *topic("u")}; }
  // "t" has partitions 0 and 1, "u" partition 0.
  std::optional<topic_info> topic(std::string_view name) const override {
    if (name != "t" && name != "u") return std::nullopt;
    topic_info t;
    t.name = std::string(name);
    const chronik::node_id one{1};
    t.partitions.push_back({0, one, 1, {one}, {one}, {}});
    if (name == "t") t.partitions.push_back({1, one, 1, {one}, {one}, {}});
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
  group_coordinator coordinator{[] {
    group_config c = group_config::local();
    c.member_id_seed = 1;
    return c;
  }()};
};

// A group id in the offsets partition `p` of 3: only partition 0 is led here.
std::string group_in(std::int32_t p, int nth = 0) {
  for (int i = 0;; ++i) {
    std::string g = "group-" + std::to_string(i);
    if (offsets_partition_for(g, 3) == p && nth-- == 0) return g;
  }
}

class kafka_group_admin_handlers_test : public ::testing::Test {
 protected:
  // Sends one request; the slot fills when the handler answers, which may be only once the
  // coordinator's writes are reported (`commit` reports them all committed right away).
  std::shared_ptr<std::optional<handler_reply>> send(api_key key, std::int16_t version,
                                                     const std::function<void(writer&)>& body, bool commit = true) {
    writer w;
    encode_request_header({key, version, 7, std::string("cli")}, w);
    body(w);
    auto slot = std::make_shared<std::optional<handler_reply>>();
    dispatcher_.handle(client_info{"127.0.0.9:40000", 1}, w.take(), [slot](handler_reply r) { *slot = std::move(r); });
    if (commit) testing::settle(ctx_.coordinator);
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

  delete_groups_response delete_groups(std::vector<std::string> ids, std::int16_t v) {
    auto r = send(api_key::delete_groups, v, [&](writer& w) { encode_delete_groups_request({ids}, v, w); });
    return decode(*r, api_key::delete_groups, v, decode_delete_groups_response);
  }
  offset_delete_response offset_delete(const std::string& group, std::vector<offset_delete_request_topic> topics) {
    auto r = send(api_key::offset_delete, 0, [&](writer& w) { encode_offset_delete_request({group, topics}, 0, w); });
    return decode(*r, api_key::offset_delete, 0, decode_offset_delete_response);
  }

  // Offsets committed by a group that does not use group management (generation -1).
  void commit(const std::string& group, std::vector<offset_key> keys) {
    commit_params p{group, -1, "", {}};
    for (auto& k : keys) p.offsets.push_back({std::move(k), {3, -1, "", 0}});
    ASSERT_TRUE(testing::commit_now(ctx_.coordinator, p));
  }
  // A member of `group` that joined and synced with `protocol_type` and `metadata`.
  std::string member(const std::string& group, const std::string& protocol_type, const std::string& metadata) {
    std::optional<join_result> j;
    ctx_.coordinator.join({.group_id = group, .client_id = "cl", .session_timeout_ms = 10'000, .rebalance_timeout_ms = 30'000,
                           .protocol_type = protocol_type, .protocols = {{"range", metadata}}},
                          [&](join_result r) { j = std::move(r); });
    EXPECT_TRUE(j && j->error == group_errc::none);
    ctx_.coordinator.sync({group, j->generation_id, j->member_id, std::nullopt, std::nullopt, {{j->member_id, "A"}}},
                          [](sync_result) {});
    testing::settle(ctx_.coordinator);
    return j->member_id;
  }

  fake_context ctx_;
  dispatcher dispatcher_{ctx_, std::make_shared<spdlog::logger>("k", std::make_shared<spdlog::sinks::null_sink_mt>())};
};

TEST_F(kafka_group_admin_handlers_test, delete_groups_answers_each_group_in_every_version) {
  for (std::int16_t v = 0; v <= 2; ++v) {
    const std::string empty = group_in(0, 3 * v), busy = group_in(0, 3 * v + 1), never = group_in(0, 3 * v + 2);
    commit(empty, {{"t", 0}, {"t", 1}});
    commit(busy, {{"t", 0}});
    member(busy, "consumer", write_consumer_subscription({.topics = {"t"}}));
    auto resp = delete_groups({empty, busy, never, "", group_in(1)}, v);
    ASSERT_EQ(resp.results.size(), 5u) << "v" << v;
    EXPECT_EQ(resp.results[0].group_id, empty);
    EXPECT_EQ(resp.results[0].error, error_code::none) << "v" << v;
    EXPECT_EQ(resp.results[1].group_id, busy);
    EXPECT_EQ(resp.results[1].error, error_code::non_empty_group) << "v" << v;
    EXPECT_EQ(resp.results[2].error, error_code::group_id_not_found) << "v" << v;
    EXPECT_EQ(resp.results[3].error, error_code::invalid_group_id) << "v" << v;
    EXPECT_EQ(resp.results[4].error, error_code::not_coordinator) << "v" << v;
    EXPECT_FALSE(ctx_.coordinator.describe(empty));
    EXPECT_FALSE(ctx_.coordinator.committed(empty, {"t", 0}));
    EXPECT_TRUE(ctx_.coordinator.committed(busy, {"t", 0}));
  }
}

// The answer waits until every group's tombstones are committed; a write that fails answers
// COORDINATOR_NOT_AVAILABLE for its group, and the others keep their own answers.
TEST_F(kafka_group_admin_handlers_test, delete_groups_waits_for_every_group) {
  const std::string a = group_in(0, 0), b = group_in(0, 1);
  commit(a, {{"t", 0}});
  commit(b, {{"t", 0}});
  auto r = send(api_key::delete_groups, 2, [&](writer& w) { encode_delete_groups_request({{a, "", b}}, 2, w); }, false);
  EXPECT_FALSE(r->has_value());
  auto writes = ctx_.coordinator.take_writes();
  ASSERT_EQ(writes.size(), 2u);
  ctx_.coordinator.write_done(writes[0].id, write_outcome::committed);
  EXPECT_FALSE(r->has_value()) << "one group is still being deleted";
  ctx_.coordinator.write_done(writes[1].id, write_outcome::failed);
  auto resp = decode(*r, api_key::delete_groups, 2, decode_delete_groups_response);
  ASSERT_EQ(resp.results.size(), 3u);
  EXPECT_EQ(resp.results[0].error, error_code::none);
  EXPECT_EQ(resp.results[1].error, error_code::invalid_group_id);
  EXPECT_EQ(resp.results[2].error, error_code::coordinator_not_available);
  EXPECT_TRUE(ctx_.coordinator.committed(b, {"t", 0}));

  // A request of groups answered at once is answered at once; so is an empty one.
  EXPECT_EQ(delete_groups({"", group_in(2)}, 1).results[1].error, error_code::not_coordinator);
  EXPECT_TRUE(delete_groups({}, 0).results.empty());
}

TEST_F(kafka_group_admin_handlers_test, delete_groups_while_loading_or_without_a_coordinator) {
  const std::string g = group_in(0);
  commit(g, {{"t", 0}});
  ctx_.coordinator.begin_load(0, 3);  // leads partition 0 again: loading until finish_load
  EXPECT_EQ(delete_groups({g}, 1).results[0].error, error_code::coordinator_load_in_progress);
  ctx_.with_coordinator = false;
  EXPECT_EQ(delete_groups({g}, 1).results[0].error, error_code::coordinator_not_available);
  // A truncated body closes the connection, as for every API.
  auto bad = send(api_key::delete_groups, 0, [](writer& w) { w.write_int32(5); });
  ASSERT_TRUE(bad->has_value());
  EXPECT_EQ((*bad)->what, handler_reply::kind::close);
}

// KIP-496: a consumer group with members keeps the offsets of the topics they subscribe to; the
// others go. Partitions of unknown topics, or beyond a topic's partitions, are refused first.
TEST_F(kafka_group_admin_handlers_test, offset_delete_keeps_what_members_subscribe_to) {
  const std::string g = group_in(0);
  const std::string m = member(g, "consumer", write_consumer_subscription({.version = 2, .topics = {"t"}}));
  commit_params p{g, ctx_.coordinator.describe(g)->generation_id, m, {{{"t", 0}, {1, -1, "", 0}}, {{"u", 0}, {2, -1, "", 0}}}};
  ASSERT_TRUE(testing::commit_now(ctx_.coordinator, p));

  auto resp = offset_delete(g, {{"t", {{0}, {9}}}, {"u", {{0}}}, {"nope", {{0}}}});
  EXPECT_EQ(resp.error, error_code::none);
  ASSERT_EQ(resp.topics.size(), 3u);
  ASSERT_EQ(resp.topics[0].partitions.size(), 2u);
  EXPECT_EQ(resp.topics[0].name, "t");
  EXPECT_EQ(resp.topics[0].partitions[0].partition_index, 0);
  EXPECT_EQ(resp.topics[0].partitions[0].error, error_code::group_subscribed_to_topic);
  EXPECT_EQ(resp.topics[0].partitions[1].partition_index, 9);
  EXPECT_EQ(resp.topics[0].partitions[1].error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(resp.topics[1].partitions[0].error, error_code::none);
  EXPECT_EQ(resp.topics[2].name, "nope");
  EXPECT_EQ(resp.topics[2].partitions[0].error, error_code::unknown_topic_or_partition);
  EXPECT_TRUE(ctx_.coordinator.committed(g, {"t", 0}));
  EXPECT_FALSE(ctx_.coordinator.committed(g, {"u", 0}));

  // Once the member left, the group is empty and its offsets of "t" go too.
  ASSERT_TRUE(ctx_.coordinator.leave(g, m));
  testing::settle(ctx_.coordinator);
  resp = offset_delete(g, {{"t", {{0}}}});
  EXPECT_EQ(resp.error, error_code::none);
  EXPECT_EQ(resp.topics[0].partitions[0].error, error_code::none);
  EXPECT_FALSE(ctx_.coordinator.committed(g, {"t", 0}));
}

// A top-level error refuses every partition; only the ones refused before the coordinator was
// asked are listed, as Kafka merges them.
TEST_F(kafka_group_admin_handlers_test, offset_delete_top_level_errors) {
  const std::string connect = group_in(0, 0);
  member(connect, "connect", "x");
  commit_params p{connect, ctx_.coordinator.describe(connect)->generation_id,
                  ctx_.coordinator.describe(connect)->member_ids[0], {{{"t", 0}, {1, -1, "", 0}}}};
  ASSERT_TRUE(testing::commit_now(ctx_.coordinator, p));
  auto resp = offset_delete(connect, {{"t", {{0}}}, {"nope", {{1}}}});
  EXPECT_EQ(resp.error, error_code::non_empty_group);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].name, "nope");
  EXPECT_EQ(resp.topics[0].partitions[0].error, error_code::unknown_topic_or_partition);
  EXPECT_TRUE(ctx_.coordinator.committed(connect, {"t", 0}));

  EXPECT_EQ(offset_delete(group_in(0, 1), {{"t", {{0}}}}).error, error_code::group_id_not_found);
  EXPECT_EQ(offset_delete(group_in(1), {{"t", {{0}}}}).error, error_code::not_coordinator);
  EXPECT_EQ(offset_delete("", {{"t", {{0}}}}).error, error_code::invalid_group_id);
  auto unknown_only = offset_delete(group_in(0, 1), {{"nope", {{0}}}});
  EXPECT_EQ(unknown_only.error, error_code::group_id_not_found) << "the group is checked even with nothing to delete";
  ctx_.coordinator.begin_load(0, 3);
  EXPECT_EQ(offset_delete(connect, {{"t", {{0}}}}).error, error_code::coordinator_load_in_progress);
  ctx_.with_coordinator = false;
  EXPECT_EQ(offset_delete(connect, {{"t", {{0}}}}).error, error_code::coordinator_not_available);
}

TEST_F(kafka_group_admin_handlers_test, offset_delete_waits_for_its_tombstones) {
  const std::string g = group_in(0);
  commit(g, {{"t", 0}, {"t", 1}});
  auto r = send(api_key::offset_delete, 0,
                [&](writer& w) { encode_offset_delete_request({g, {{"t", {{0}, {1}}}}}, 0, w); }, false);
  EXPECT_FALSE(r->has_value());
  EXPECT_TRUE(ctx_.coordinator.committed(g, {"t", 0}));
  testing::settle(ctx_.coordinator, write_outcome::failed);
  auto failed = decode(*r, api_key::offset_delete, 0, decode_offset_delete_response);
  EXPECT_EQ(failed.error, error_code::coordinator_not_available);
  EXPECT_TRUE(failed.topics.empty());
  EXPECT_TRUE(ctx_.coordinator.committed(g, {"t", 0}));

  r = send(api_key::offset_delete, 0, [&](writer& w) { encode_offset_delete_request({g, {{"t", {{0}, {1}}}}}, 0, w); }, false);
  EXPECT_FALSE(r->has_value());
  testing::settle(ctx_.coordinator);
  auto done = decode(*r, api_key::offset_delete, 0, decode_offset_delete_response);
  EXPECT_EQ(done.error, error_code::none);
  ASSERT_EQ(done.topics.size(), 1u);
  EXPECT_EQ(done.topics[0].partitions.size(), 2u);
  EXPECT_FALSE(ctx_.coordinator.committed(g, {"t", 1}));
}

}  // namespace
}  // namespace chronik::kafka
