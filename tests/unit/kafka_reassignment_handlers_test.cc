// AlterPartitionReassignments and ListPartitionReassignments (kafka/handlers/
// alter_partition_reassignments.cc, list_partition_reassignments.cc; KIP-455, KIP-860) through the
// dispatcher with a fake broker context holding a small cluster view and the moves in progress:
// - Alter decides only after the `__meta` catch-up; a bad replica list (empty, duplicated, an id
//   that names no node) is INVALID_REPLICA_ASSIGNMENT, an unknown topic or partition
//   UNKNOWN_TOPIC_OR_PARTITION, a partition named twice INVALID_REQUEST, and with v1's
//   allow_replication_factor_change=false a different replica count INVALID_REPLICATION_FACTOR
//   (counted before the move in progress), all without reaching the context; the rest reach it in
//   one call, a cancel as nullopt, with a capped timeout; each outcome becomes its Kafka error and
//   message; the answer mirrors the request's order; v1 echoes the option.
// - List answers after the catch-up: every move for null topics, else only the named partitions
//   that are moving, in request order, each once, with Kafka broker ids.
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "kafka/handlers/dispatcher.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/alter_partition_reassignments.h"
#include "kafka/protocol/messages/list_partition_reassignments.h"

namespace chronik::kafka {
namespace {

chronik::node_id n(std::uint32_t v) { return chronik::node_id{v}; }

std::vector<chronik::node_id> ids(std::initializer_list<std::uint32_t> vs) {
  std::vector<chronik::node_id> out;
  for (auto v : vs) out.push_back(n(v));
  return out;
}

topic_info make_topic(std::string name, std::int32_t partitions, std::size_t rf) {
  topic_info t;
  t.name = std::move(name);
  for (std::int32_t p = 0; p < partitions; ++p) {
    partition_info pi;
    pi.partition = p;
    pi.leader = n(1);
    for (std::size_t r = 0; r < rf; ++r) pi.replicas.push_back(n(static_cast<std::uint32_t>(r + 1)));
    pi.isr = pi.replicas;
    t.partitions.push_back(std::move(pi));
  }
  return t;
}

class fake_context : public broker_context {
 public:
  fake_context() {
    view = {make_topic("t", 4, 3), make_topic("u", 2, 2)};
    // t-3 moves from {1,2,3} to {4,2,3}: every replica taking part, the target first.
    moves = {{"t", 3, ids({4, 2, 3, 1}), ids({4}), ids({1})}};
  }
  chronik::node_id node_id() const override { return n(1); }
  std::optional<std::string> cluster_id() const override { return "c"; }
  chronik::node_id controller_id() const override { return n(1); }
  std::vector<broker_info> brokers() const override { return {{n(1), "127.0.0.1", 9092, std::nullopt}}; }
  std::vector<topic_info> topics() const override { return view; }
  std::optional<topic_info> topic(std::string_view name) const override {
    for (const auto& t : view)
      if (t.name == name) return t;
    return std::nullopt;
  }
  broker_defaults defaults() const override { return {}; }
  void create_topics(std::vector<topic_request>, bool, std::chrono::milliseconds, topics_done) override {}
  void delete_topics(std::vector<std::string>, std::chrono::milliseconds, topics_done) override {}
  partition_manager& partitions() override { std::abort(); }  // not used by these handlers
  void catch_up(std::function<void()> done) override { pending_catch_up = std::move(done); }
  void alter_reassignments(std::vector<reassignment_request> w, std::chrono::milliseconds t,
                           reassignments_done done) override {
    ++alter_calls;
    wanted = std::move(w);
    timeout = t;
    pending = std::move(done);
  }
  std::vector<reassignment_info> reassignments() const override { return moves; }

  std::vector<topic_info> view;
  std::vector<reassignment_info> moves;
  std::function<void()> pending_catch_up;
  int alter_calls = 0;
  std::vector<reassignment_request> wanted;
  std::chrono::milliseconds timeout{};
  reassignments_done pending;
};

alter_reassignments_partition move(std::int32_t p, std::vector<std::int32_t> replicas) {
  return {p, std::move(replicas)};
}
alter_reassignments_partition cancel(std::int32_t p) { return {p, std::nullopt}; }

// (topic, partition, error) of an Alter answer, in response order.
using row = std::tuple<std::string, std::int32_t, error_code>;
std::vector<row> flat(const alter_partition_reassignments_response& r) {
  std::vector<row> out;
  for (const auto& t : r.responses)
    for (const auto& p : t.partitions) out.emplace_back(t.name, p.partition_index, p.error);
  return out;
}

class kafka_reassignment_handlers_test : public ::testing::Test {
 protected:
  template <class Request, class Encode>
  std::shared_ptr<std::optional<handler_reply>> send(broker_context& ctx, api_key key, std::int16_t version,
                                                     const Request& req, Encode encode) {
    writer w;
    encode_request_header({key, version, 7, std::string("cli")}, w);
    encode(req, version, w);
    auto slot = std::make_shared<std::optional<handler_reply>>();
    dispatcher d{ctx, log_};
    d.handle(client_info{"127.0.0.9:40000", 1}, w.take(), [slot](handler_reply r) { *slot = std::move(r); });
    return slot;
  }
  auto alter(broker_context& ctx, std::int16_t version, const alter_partition_reassignments_request& req) {
    return send(ctx, api_key::alter_partition_reassignments, version, req,
                encode_alter_partition_reassignments_request);
  }
  auto list(broker_context& ctx, const list_partition_reassignments_request& req) {
    return send(ctx, api_key::list_partition_reassignments, 0, req, encode_list_partition_reassignments_request);
  }
  template <class Response, class Decode>
  Response decode(const std::optional<handler_reply>& r, api_key key, std::int16_t version, Decode dec) {
    EXPECT_TRUE(r.has_value());
    if (!r) return {};
    EXPECT_EQ(r->what, handler_reply::kind::respond) << r->why;
    const std::string whole = r->prefix + r->frame.flatten();
    reader rd(whole);
    auto corr = decode_response_header(rd, key, version);
    EXPECT_TRUE(corr && *corr == 7);
    auto m = dec(rd, version);
    EXPECT_TRUE(m.has_value());
    EXPECT_EQ(rd.remaining(), 0u);
    return m.value_or(Response{});
  }
  alter_partition_reassignments_response alter_answer(const std::optional<handler_reply>& r, std::int16_t version) {
    return decode<alter_partition_reassignments_response>(r, api_key::alter_partition_reassignments, version,
                                                          decode_alter_partition_reassignments_response);
  }
  list_partition_reassignments_response list_answer(const std::optional<handler_reply>& r) {
    return decode<list_partition_reassignments_response>(r, api_key::list_partition_reassignments, 0,
                                                         decode_list_partition_reassignments_response);
  }

  std::shared_ptr<spdlog::logger> log_ =
      std::make_shared<spdlog::logger>("k", std::make_shared<spdlog::sinks::null_sink_mt>());
  fake_context ctx_;
};

TEST_F(kafka_reassignment_handlers_test, alter_refuses_bad_shapes_and_unknown_partitions_after_catching_up) {
  alter_partition_reassignments_request req;
  req.topics = {
      {"t", {move(0, {}), move(1, {2, 2, 3}), move(2, {0, 2, 3}), move(9, {1, 2, 3})}},
      {"nope", {move(0, {1, 2, 3}), cancel(1)}},
      {"u", {move(0, {3, 2}), move(-1, {-5})}},
  };
  auto reply = alter(ctx_, 0, req);
  ASSERT_TRUE(ctx_.pending_catch_up) << "caught up with __meta first";
  EXPECT_EQ(ctx_.alter_calls, 0);
  ctx_.pending_catch_up();
  ASSERT_EQ(ctx_.alter_calls, 1) << "every valid partition in one call";
  ASSERT_EQ(ctx_.wanted.size(), 1u);
  EXPECT_EQ(ctx_.wanted[0].topic, "u");
  EXPECT_EQ(ctx_.wanted[0].partition, 0);
  EXPECT_EQ(ctx_.wanted[0].replicas, std::optional(ids({3, 2})));
  EXPECT_FALSE(reply->has_value()) << "answered only once the context settled";
  ctx_.pending({{reassignment_outcome::accepted, ""}});
  const auto resp = alter_answer(*reply, 0);
  EXPECT_EQ(resp.error, error_code::none);
  const std::vector<row> want = {
      {"t", 0, error_code::invalid_replica_assignment},  // empty
      {"t", 1, error_code::invalid_replica_assignment},  // 2 twice
      {"t", 2, error_code::invalid_replica_assignment},  // 0 names no node
      {"t", 9, error_code::unknown_topic_or_partition},
      {"nope", 0, error_code::unknown_topic_or_partition},
      {"nope", 1, error_code::unknown_topic_or_partition},  // a cancel of an unknown topic
      {"u", 0, error_code::none},
      {"u", -1, error_code::invalid_replica_assignment},  // the shape is judged first
  };
  EXPECT_EQ(flat(resp), want);
  EXPECT_TRUE(resp.responses[0].partitions[1].error_message.has_value());
  EXPECT_FALSE(resp.responses[2].partitions[0].error_message.has_value()) << "no message without an error";
}

TEST_F(kafka_reassignment_handlers_test, alter_maps_every_outcome_in_request_order_and_passes_cancels) {
  alter_partition_reassignments_request req;
  req.timeout_ms = 9'999'999;  // capped
  // u before t: the answer follows the request, not the cluster's order.
  req.topics = {{"u", {cancel(1), move(0, {2, 5})}},
                {"t", {move(3, {4, 5, 6}), cancel(0), move(1, {3, 1, 2}), move(2, {7})}}};
  auto reply = alter(ctx_, 0, req);
  ctx_.pending_catch_up();
  ASSERT_EQ(ctx_.wanted.size(), 6u);
  EXPECT_EQ(ctx_.timeout, std::chrono::milliseconds(300'000));
  EXPECT_EQ(ctx_.wanted[0].topic, "u");
  EXPECT_EQ(ctx_.wanted[0].partition, 1);
  EXPECT_FALSE(ctx_.wanted[0].replicas.has_value()) << "a null list is a cancel";
  EXPECT_EQ(ctx_.wanted[2].replicas, std::optional(ids({4, 5, 6})));
  EXPECT_FALSE(ctx_.wanted[3].replicas.has_value());
  ctx_.pending({{reassignment_outcome::no_reassignment, "nothing to cancel"},
                {reassignment_outcome::accepted, ""},
                {reassignment_outcome::invalid_replicas, "broker 6 is not registered"},
                {reassignment_outcome::unknown, "deleted meanwhile"},
                {reassignment_outcome::not_controller, "no __meta leader"},
                {reassignment_outcome::timed_out, "not applied in time"}});
  const auto resp = alter_answer(*reply, 0);
  const std::vector<row> want = {
      {"u", 1, error_code::no_reassignment_in_progress},  {"u", 0, error_code::none},
      {"t", 3, error_code::invalid_replica_assignment},   {"t", 0, error_code::unknown_topic_or_partition},
      {"t", 1, error_code::not_controller},               {"t", 2, error_code::request_timed_out},
  };
  EXPECT_EQ(flat(resp), want);
  EXPECT_EQ(resp.responses[0].partitions[0].error_message, std::optional<std::string>("nothing to cancel"));
  EXPECT_EQ(resp.responses[1].partitions[0].error_message, std::optional<std::string>("broker 6 is not registered"));
  EXPECT_EQ(resp.responses[1].partitions[3].error_message, std::optional<std::string>("not applied in time"));
}

TEST_F(kafka_reassignment_handlers_test, v1_without_replication_factor_change_refuses_a_different_count) {
  alter_partition_reassignments_request req;
  req.allow_replication_factor_change = false;
  req.timeout_ms = -5;  // do not wait
  req.topics = {{"t", {move(0, {1, 2}), move(1, {3, 1, 2}), cancel(2), move(3, {5, 2, 3})}},
                {"u", {move(0, {1, 2, 3})}}};
  auto reply = alter(ctx_, 1, req);
  ctx_.pending_catch_up();
  // t-3 is moving {1,2,3} -> {4,2,3}: its count before the move is 3, not the 4 taking part.
  ASSERT_EQ(ctx_.wanted.size(), 3u);
  EXPECT_EQ(ctx_.wanted[0].partition, 1);
  EXPECT_EQ(ctx_.wanted[1].partition, 2);
  EXPECT_FALSE(ctx_.wanted[1].replicas.has_value()) << "a cancel changes no count";
  EXPECT_EQ(ctx_.wanted[2].partition, 3);
  EXPECT_EQ(ctx_.timeout, std::chrono::milliseconds(0));
  ctx_.pending(std::vector<reassignment_result>(3, {reassignment_outcome::accepted, ""}));
  const auto resp = alter_answer(*reply, 1);
  EXPECT_FALSE(resp.allow_replication_factor_change) << "v1 echoes the option (KIP-860)";
  const std::vector<row> want = {
      {"t", 0, error_code::invalid_replication_factor}, {"t", 1, error_code::none},
      {"t", 2, error_code::none},                       {"t", 3, error_code::none},
      {"u", 0, error_code::invalid_replication_factor},
  };
  EXPECT_EQ(flat(resp), want);
}

TEST_F(kafka_reassignment_handlers_test, replication_factor_changes_are_allowed_by_default_and_in_v0) {
  for (std::int16_t v = 0; v <= 1; ++v) {
    fake_context ctx;
    alter_partition_reassignments_request req;
    req.topics = {{"t", {move(0, {1, 2}), move(1, {1, 2, 3, 4})}}};
    auto reply = alter(ctx, v, req);
    ctx.pending_catch_up();
    ASSERT_EQ(ctx.wanted.size(), 2u) << v;
    ctx.pending(std::vector<reassignment_result>(2, {reassignment_outcome::accepted, ""}));
    const auto resp = alter_answer(*reply, v);
    EXPECT_TRUE(resp.allow_replication_factor_change) << v;
    EXPECT_EQ(flat(resp), (std::vector<row>{{"t", 0, error_code::none}, {"t", 1, error_code::none}})) << v;
  }
}

TEST_F(kafka_reassignment_handlers_test, a_partition_named_twice_is_refused_at_every_mention) {
  alter_partition_reassignments_request req;
  req.topics = {{"t", {move(0, {1, 2, 3}), move(1, {2, 3, 1})}}, {"t", {cancel(0)}}};
  auto reply = alter(ctx_, 0, req);
  ctx_.pending_catch_up();
  ASSERT_EQ(ctx_.wanted.size(), 1u);
  EXPECT_EQ(ctx_.wanted[0].partition, 1);
  ctx_.pending({{reassignment_outcome::accepted, ""}});
  const std::vector<row> want = {
      {"t", 0, error_code::invalid_request}, {"t", 1, error_code::none}, {"t", 0, error_code::invalid_request}};
  EXPECT_EQ(flat(alter_answer(*reply, 0)), want);
}

TEST_F(kafka_reassignment_handlers_test, a_request_with_nothing_valid_never_reaches_the_context) {
  alter_partition_reassignments_request req;
  req.topics = {{"t", {move(0, {})}}};
  auto reply = alter(ctx_, 1, req);
  ctx_.pending_catch_up();
  EXPECT_EQ(ctx_.alter_calls, 0);
  EXPECT_EQ(flat(alter_answer(*reply, 1)), (std::vector<row>{{"t", 0, error_code::invalid_replica_assignment}}));
}

TEST_F(kafka_reassignment_handlers_test, too_many_partitions_are_refused_before_any_lookup) {
  alter_partition_reassignments_request req;
  auto& t = req.topics.emplace_back();
  t.name = "t";
  for (std::int32_t p = 0; p <= 100'000; ++p) t.partitions.push_back(cancel(p));
  auto reply = alter(ctx_, 0, req);
  EXPECT_FALSE(ctx_.pending_catch_up);
  const auto resp = alter_answer(*reply, 0);
  EXPECT_EQ(resp.error, error_code::invalid_request);
  EXPECT_TRUE(resp.responses.empty());
}

TEST_F(kafka_reassignment_handlers_test, a_context_that_cannot_reach_meta_answers_not_controller) {
  class refusing : public fake_context {
   public:
    void alter_reassignments(std::vector<reassignment_request> w, std::chrono::milliseconds t,
                             reassignments_done done) override {
      broker_context::alter_reassignments(std::move(w), t, std::move(done));  // the base's default
    }
  } ctx;
  alter_partition_reassignments_request req;
  req.topics = {{"t", {move(0, {3, 2, 1}), cancel(1)}}};
  auto reply = alter(ctx, 1, req);
  ctx.pending_catch_up();
  const auto resp = alter_answer(*reply, 1);
  EXPECT_EQ(flat(resp), (std::vector<row>{{"t", 0, error_code::not_controller}, {"t", 1, error_code::not_controller}}));
  EXPECT_TRUE(resp.responses[0].partitions[0].error_message.has_value());
}

list_reassignments_partition_result listed(std::int32_t p, std::vector<std::int32_t> replicas,
                                           std::vector<std::int32_t> adding, std::vector<std::int32_t> removing) {
  return {p, std::move(replicas), std::move(adding), std::move(removing)};
}

TEST_F(kafka_reassignment_handlers_test, list_with_null_topics_answers_every_move_after_catching_up) {
  ctx_.moves.push_back({"u", 0, ids({2, 3, 1}), ids({3}), {}});
  auto reply = list(ctx_, {});
  ASSERT_TRUE(ctx_.pending_catch_up);
  EXPECT_FALSE(reply->has_value());
  ctx_.moves.push_back({"u", 1, ids({1, 2}), {}, {}});  // committed before the catch-up answered
  ctx_.pending_catch_up();
  const auto resp = list_answer(*reply);
  EXPECT_EQ(resp.error, error_code::none);
  ASSERT_EQ(resp.topics.size(), 2u);
  EXPECT_EQ(resp.topics[0].name, "t");
  EXPECT_EQ(resp.topics[0].partitions, (std::vector{listed(3, {4, 2, 3, 1}, {4}, {1})}));
  EXPECT_EQ(resp.topics[1].name, "u");
  EXPECT_EQ(resp.topics[1].partitions, (std::vector{listed(0, {2, 3, 1}, {3}, {}), listed(1, {1, 2}, {}, {})}));
}

TEST_F(kafka_reassignment_handlers_test, list_of_named_partitions_leaves_out_those_not_moving) {
  ctx_.moves.push_back({"u", 1, ids({2, 1}), {}, {}});
  list_partition_reassignments_request req;
  req.topics = std::vector<list_reassignments_topic>{{"u", {1, 0, 1}}, {"t", {0, 3, 7}}, {"nope", {0}}};
  auto reply = list(ctx_, req);
  ctx_.pending_catch_up();
  const auto resp = list_answer(*reply);
  ASSERT_EQ(resp.topics.size(), 2u) << "request order; unknown and unmoving partitions are left out";
  EXPECT_EQ(resp.topics[0].name, "u");
  EXPECT_EQ(resp.topics[0].partitions, (std::vector{listed(1, {2, 1}, {}, {})})) << "named twice, listed once";
  EXPECT_EQ(resp.topics[1].name, "t");
  EXPECT_EQ(resp.topics[1].partitions, (std::vector{listed(3, {4, 2, 3, 1}, {4}, {1})}));
}

TEST_F(kafka_reassignment_handlers_test, list_with_nothing_moving_is_empty) {
  ctx_.moves.clear();
  auto reply = list(ctx_, {});
  ctx_.pending_catch_up();
  const auto resp = list_answer(*reply);
  EXPECT_EQ(resp.error, error_code::none);
  EXPECT_TRUE(resp.topics.empty());
}

}  // namespace
}  // namespace chronik::kafka
