// CreatePartitions (kafka/handlers/create_partitions.cc) through the dispatcher with a fake broker
// context: the request reaches the context as asked (counts, null versus given assignments, Kafka's
// -1 as no node, validate_only, the capped timeout) only after the broker caught up with `__meta`;
// outcomes become Kafka's error codes in request order, in every version; a topic named twice is
// INVALID_REQUEST and never proposed; a context that cannot change `__meta` refuses with
// NOT_CONTROLLER.
#include <chrono>
#include <cstdlib>
#include <functional>
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
#include "kafka/protocol/messages/create_partitions.h"

namespace chronik::kafka {
namespace {

// The context's side of one CreatePartitions call, kept for the test to inspect and answer.
struct call {
  std::vector<partitions_request> topics;
  bool validate_only = false;
  std::chrono::milliseconds timeout{};
  broker_context::topics_done done;
};

// The members every context must have; `create_partitions` is left to the derived fakes.
class base_context : public broker_context {
 public:
  chronik::node_id node_id() const override { return chronik::node_id{1}; }
  std::optional<std::string> cluster_id() const override { return "c"; }
  chronik::node_id controller_id() const override { return chronik::node_id{1}; }
  std::vector<broker_info> brokers() const override { return {{chronik::node_id{1}, "127.0.0.1", 9092, std::nullopt}}; }
  std::vector<topic_info> topics() const override { return {}; }
  std::optional<topic_info> topic(std::string_view) const override { return std::nullopt; }
  broker_defaults defaults() const override { return {}; }
  void create_topics(std::vector<topic_request>, bool, std::chrono::milliseconds, topics_done) override {}
  void delete_topics(std::vector<std::string>, std::chrono::milliseconds, topics_done) override {}
  partition_manager& partitions() override { std::abort(); }  // not used by CreatePartitions
};

class fake_context : public base_context {
 public:
  // The handler must wait for this before it decides anything.
  void catch_up(std::function<void()> done) override { pending_catch_up = std::move(done); }
  void create_partitions(std::vector<partitions_request> topics, bool validate_only, std::chrono::milliseconds timeout,
                         topics_done done) override {
    calls.push_back({std::move(topics), validate_only, timeout, std::move(done)});
  }
  std::function<void()> pending_catch_up;
  std::vector<call> calls;
};

create_partitions_topic grow(std::string name, std::int32_t count,
                             std::optional<std::vector<std::vector<std::int32_t>>> rows = std::nullopt) {
  create_partitions_topic t;
  t.name = std::move(name);
  t.count = count;
  if (rows) {
    t.assignments.emplace();
    for (auto& r : *rows) t.assignments->push_back({std::move(r)});
  }
  return t;
}

class kafka_create_partitions_test : public ::testing::Test {
 protected:
  std::shared_ptr<std::optional<handler_reply>> send(broker_context& ctx, std::int16_t version,
                                                     const create_partitions_request& req) {
    writer w;
    encode_request_header({api_key::create_partitions, version, 7, std::string("cli")}, w);
    encode_create_partitions_request(req, version, w);
    auto slot = std::make_shared<std::optional<handler_reply>>();
    dispatcher d{ctx, log_};
    d.handle(client_info{"127.0.0.9:40000", 1}, w.take(), [slot](handler_reply r) { *slot = std::move(r); });
    return slot;
  }
  create_partitions_response decode(const std::optional<handler_reply>& r, std::int16_t version) {
    EXPECT_TRUE(r.has_value());
    if (!r) return {};
    EXPECT_EQ(r->what, handler_reply::kind::respond) << r->why;
    const std::string whole = r->prefix + r->frame.flatten();
    reader rd(whole);
    auto corr = decode_response_header(rd, api_key::create_partitions, version);
    EXPECT_TRUE(corr && *corr == 7);
    auto m = decode_create_partitions_response(rd, version);
    EXPECT_TRUE(m.has_value());
    EXPECT_EQ(rd.remaining(), 0u);
    return m.value_or(create_partitions_response{});
  }

  std::shared_ptr<spdlog::logger> log_ =
      std::make_shared<spdlog::logger>("k", std::make_shared<spdlog::sinks::null_sink_mt>());
  fake_context ctx_;
};

TEST_F(kafka_create_partitions_test, the_request_reaches_the_context_after_catching_up) {
  create_partitions_request req;
  req.topics = {grow("auto", 6), grow("manual", 4, {{{2, 3}, {3, -1}}}), grow("empty", 5, {{}})};
  req.timeout_ms = 9'999'999;  // capped
  req.validate_only = true;
  auto reply = send(ctx_, 3, req);
  ASSERT_TRUE(ctx_.pending_catch_up) << "caught up with __meta first";
  EXPECT_TRUE(ctx_.calls.empty());
  ctx_.pending_catch_up();
  ASSERT_EQ(ctx_.calls.size(), 1u);
  const call& c = ctx_.calls[0];
  EXPECT_TRUE(c.validate_only);
  EXPECT_EQ(c.timeout, std::chrono::milliseconds(300'000));
  ASSERT_EQ(c.topics.size(), 3u);
  EXPECT_EQ(c.topics[0].name, "auto");
  EXPECT_EQ(c.topics[0].count, 6);
  EXPECT_FALSE(c.topics[0].assignments.has_value()) << "null: the controller places them";
  ASSERT_TRUE(c.topics[1].assignments.has_value());
  const std::vector<std::vector<chronik::node_id>> rows = {{chronik::node_id{2}, chronik::node_id{3}},
                                                           {chronik::node_id{3}, chronik::no_node}};
  EXPECT_EQ(*c.topics[1].assignments, rows);
  ASSERT_TRUE(c.topics[2].assignments.has_value()) << "an empty list is not a null one";
  EXPECT_TRUE(c.topics[2].assignments->empty());
  EXPECT_FALSE(reply->has_value()) << "answered only when the context is done";
}

TEST_F(kafka_create_partitions_test, outcomes_become_kafka_errors_in_request_order_in_every_version) {
  for (std::int16_t v = 0; v <= 3; ++v) {
    fake_context ctx;
    create_partitions_request req;
    req.topics = {grow("a", 2), grow("b", 1), grow("c", 3, {{{9}}}), grow("d", 2), grow("e", 2), grow("f", 2),
                  grow("g", 4)};
    req.timeout_ms = -5;  // do not wait
    auto reply = send(ctx, v, req);
    ctx.pending_catch_up();
    ASSERT_EQ(ctx.calls.size(), 1u);
    EXPECT_FALSE(ctx.calls[0].validate_only);
    EXPECT_EQ(ctx.calls[0].timeout, std::chrono::milliseconds(0));
    // Answered out of request order: the response follows the request's.
    ctx.calls[0].done({{"g", topic_outcome::invalid_replication_factor, "too few brokers"},
                       {"f", topic_outcome::timed_out, "late"},
                       {"e", topic_outcome::not_controller, "no leader"},
                       {"d", topic_outcome::unknown_topic, "unknown topic 'd'"},
                       {"c", topic_outcome::invalid_assignment, "bad rows"},
                       {"b", topic_outcome::invalid_partitions, "not an increase"},
                       {"a", topic_outcome::done, {}}});
    const auto resp = decode(*reply, v);
    ASSERT_EQ(resp.results.size(), 7u) << "v" << v;
    const std::vector<std::pair<std::string, error_code>> want = {
        {"a", error_code::none},
        {"b", error_code::invalid_partitions},
        {"c", error_code::invalid_replica_assignment},
        {"d", error_code::unknown_topic_or_partition},
        {"e", error_code::not_controller},
        {"f", error_code::request_timed_out},
        {"g", error_code::invalid_replication_factor},
    };
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(resp.results[i].name, want[i].first);
      EXPECT_EQ(resp.results[i].error, want[i].second) << want[i].first << " v" << v;
    }
    EXPECT_EQ(resp.results[0].error_message, std::nullopt) << "no message without an error";
    EXPECT_EQ(resp.results[1].error_message, std::optional<std::string>("not an increase"));
  }
}

TEST_F(kafka_create_partitions_test, a_topic_named_twice_is_invalid_and_never_proposed) {
  create_partitions_request req;
  req.topics = {grow("x", 2), grow("y", 3), grow("x", 4)};
  auto reply = send(ctx_, 2, req);
  ctx_.pending_catch_up();
  ASSERT_EQ(ctx_.calls.size(), 1u);
  ASSERT_EQ(ctx_.calls[0].topics.size(), 1u);
  EXPECT_EQ(ctx_.calls[0].topics[0].name, "y");
  ctx_.calls[0].done({{"y", topic_outcome::done, {}}});
  const auto resp = decode(*reply, 2);
  ASSERT_EQ(resp.results.size(), 3u);
  EXPECT_EQ(resp.results[0].error, error_code::invalid_request);
  EXPECT_EQ(resp.results[1].error, error_code::none);
  EXPECT_EQ(resp.results[2].error, error_code::invalid_request);
}

TEST_F(kafka_create_partitions_test, an_empty_request_is_answered_empty) {
  auto reply = send(ctx_, 1, create_partitions_request{});
  ctx_.pending_catch_up();
  ASSERT_EQ(ctx_.calls.size(), 1u);
  ctx_.calls[0].done({});
  EXPECT_TRUE(decode(*reply, 1).results.empty());
}

// A context without `__meta` (the default) refuses cleanly rather than pretending.
TEST_F(kafka_create_partitions_test, the_default_context_refuses_with_not_controller) {
  base_context plain;
  create_partitions_request req;
  req.topics = {grow("t", 3)};
  auto reply = send(plain, 0, req);
  const auto resp = decode(*reply, 0);
  ASSERT_EQ(resp.results.size(), 1u);
  EXPECT_EQ(resp.results[0].error, error_code::not_controller);
}

TEST_F(kafka_create_partitions_test, api_versions_advertises_v0_to_v3) {
  bool found = false;
  for (const auto& h : all_handlers()) {
    if (h.key != api_key::create_partitions) continue;
    found = true;
    EXPECT_EQ(h.versions.min, 0);
    EXPECT_EQ(h.versions.max, 3);
  }
  EXPECT_TRUE(found);
}

TEST_F(kafka_create_partitions_test, a_truncated_body_closes_the_connection) {
  writer w;
  encode_request_header({api_key::create_partitions, 2, 7, std::string("cli")}, w);
  w.write_int8(3);  // a compact array length, then nothing
  auto slot = std::make_shared<std::optional<handler_reply>>();
  dispatcher d{ctx_, log_};
  d.handle(client_info{"127.0.0.9:40000", 1}, w.take(), [slot](handler_reply r) { *slot = std::move(r); });
  ASSERT_TRUE(slot->has_value());
  EXPECT_EQ((*slot)->what, handler_reply::kind::close);
  EXPECT_TRUE(ctx_.calls.empty());
}

}  // namespace
}  // namespace chronik::kafka
