// ElectLeaders (kafka/handlers/elect_leaders.cc) through the dispatcher with a fake broker context
// holding a small cluster view: only after the `__meta` catch-up does the handler decide; a
// partition led by its preferred replica is ELECTION_NOT_NEEDED, one whose preferred replica is not
// in sync PREFERRED_LEADER_NOT_AVAILABLE, an unknown one UNKNOWN_TOPIC_OR_PARTITION, all without
// reaching the context; the rest go to the context with their preferred replica and a capped
// timeout, and its outcomes become NONE, REQUEST_TIMED_OUT and the others; a null topic list means
// every partition; an unclean election is INVALID_REQUEST; every version encodes.
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
#include "kafka/protocol/messages/elect_leaders.h"

namespace chronik::kafka {
namespace {

chronik::node_id n(std::uint32_t v) { return chronik::node_id{v}; }

partition_info part(std::int32_t p, std::uint32_t leader, std::vector<chronik::node_id> replicas,
                    std::vector<chronik::node_id> isr) {
  partition_info pi;
  pi.partition = p;
  pi.leader = n(leader);
  pi.leader_epoch = 3;
  pi.replicas = std::move(replicas);
  pi.isr = std::move(isr);
  return pi;
}

class fake_context : public broker_context {
 public:
  fake_context() {
    topic_info t;
    t.name = "t";
    t.partitions = {
        part(0, 1, {n(1), n(2), n(3)}, {n(1), n(2), n(3)}),  // the preferred replica leads
        part(1, 3, {n(2), n(3), n(1)}, {n(2), n(3), n(1)}),  // 2 is preferred, in sync, not leading
        part(2, 1, {n(3), n(1), n(2)}, {n(1), n(2)}),        // 3 is preferred but out of sync
    };
    view.push_back(std::move(t));
    topic_info u;
    u.name = "u";
    u.partitions = {part(0, 2, {n(1), n(2)}, {n(1), n(2)})};
    view.push_back(std::move(u));
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
  partition_manager& partitions() override { std::abort(); }  // not used by ElectLeaders
  void catch_up(std::function<void()> done) override { pending_catch_up = std::move(done); }
  void elect_preferred_leaders(std::vector<election_request> w, std::chrono::milliseconds t,
                               elections_done done) override {
    wanted = std::move(w);
    timeout = t;
    pending = std::move(done);
  }

  std::vector<topic_info> view;
  std::function<void()> pending_catch_up;
  std::vector<election_request> wanted;
  std::chrono::milliseconds timeout{};
  elections_done pending;
};

elect_leaders_topic topic_parts(std::string name, std::vector<std::int32_t> parts) {
  return elect_leaders_topic{std::move(name), std::move(parts)};
}

class kafka_elect_leaders_test : public ::testing::Test {
 protected:
  std::shared_ptr<std::optional<handler_reply>> send(broker_context& ctx, std::int16_t version,
                                                     const elect_leaders_request& req) {
    writer w;
    encode_request_header({api_key::elect_leaders, version, 7, std::string("cli")}, w);
    encode_elect_leaders_request(req, version, w);
    auto slot = std::make_shared<std::optional<handler_reply>>();
    dispatcher d{ctx, log_};
    d.handle(client_info{"127.0.0.9:40000", 1}, w.take(), [slot](handler_reply r) { *slot = std::move(r); });
    return slot;
  }
  elect_leaders_response decode(const std::optional<handler_reply>& r, std::int16_t version) {
    EXPECT_TRUE(r.has_value());
    if (!r) return {};
    EXPECT_EQ(r->what, handler_reply::kind::respond) << r->why;
    const std::string whole = r->prefix + r->frame.flatten();
    reader rd(whole);
    auto corr = decode_response_header(rd, api_key::elect_leaders, version);
    EXPECT_TRUE(corr && *corr == 7);
    auto m = decode_elect_leaders_response(rd, version);
    EXPECT_TRUE(m.has_value());
    EXPECT_EQ(rd.remaining(), 0u);
    return m.value_or(elect_leaders_response{});
  }
  // (topic, partition) -> error, in response order.
  static std::vector<std::tuple<std::string, std::int32_t, error_code>> flat(const elect_leaders_response& r) {
    std::vector<std::tuple<std::string, std::int32_t, error_code>> out;
    for (const auto& t : r.results)
      for (const auto& p : t.partitions) out.emplace_back(t.topic, p.partition_id, p.error);
    return out;
  }

  std::shared_ptr<spdlog::logger> log_ =
      std::make_shared<spdlog::logger>("k", std::make_shared<spdlog::sinks::null_sink_mt>());
  fake_context ctx_;
};

TEST_F(kafka_elect_leaders_test, decides_after_catching_up_and_hands_only_real_transfers_to_the_context) {
  elect_leaders_request req;
  req.topic_partitions.emplace({topic_parts("t", {0, 1, 2, 1, 9}), topic_parts("nope", {0})});
  req.timeout_ms = 9'999'999;  // capped
  auto reply = send(ctx_, 1, req);
  ASSERT_TRUE(ctx_.pending_catch_up) << "caught up with __meta first";
  EXPECT_FALSE(ctx_.pending);
  ctx_.pending_catch_up();
  ASSERT_TRUE(ctx_.pending);
  ASSERT_EQ(ctx_.wanted.size(), 1u) << "partition 1 once, though named twice";
  EXPECT_EQ(ctx_.wanted[0].topic, "t");
  EXPECT_EQ(ctx_.wanted[0].partition, 1);
  EXPECT_EQ(ctx_.wanted[0].preferred, n(2));
  EXPECT_EQ(ctx_.timeout, std::chrono::milliseconds(300'000));
  EXPECT_FALSE(reply->has_value()) << "answered only when the transfers are settled";
  ctx_.pending({election_outcome::elected});
  const auto resp = decode(*reply, 1);
  EXPECT_EQ(resp.error, error_code::none);
  const std::vector<std::tuple<std::string, std::int32_t, error_code>> want = {
      {"t", 0, error_code::election_not_needed},
      {"t", 1, error_code::none},
      {"t", 2, error_code::preferred_leader_not_available},
      {"t", 9, error_code::unknown_topic_or_partition},
      {"nope", 0, error_code::unknown_topic_or_partition},
  };
  EXPECT_EQ(flat(resp), want);
  ASSERT_EQ(resp.results[0].partitions.size(), 4u);
  EXPECT_FALSE(resp.results[0].partitions[1].error_message.has_value()) << "no message without an error";
  EXPECT_TRUE(resp.results[0].partitions[2].error_message.has_value());
}

TEST_F(kafka_elect_leaders_test, context_outcomes_become_kafka_errors) {
  const std::vector<std::pair<election_outcome, error_code>> cases = {
      {election_outcome::elected, error_code::none},
      {election_outcome::not_needed, error_code::election_not_needed},
      {election_outcome::unavailable, error_code::preferred_leader_not_available},
      {election_outcome::unknown, error_code::unknown_topic_or_partition},
      {election_outcome::not_controller, error_code::not_controller},
      {election_outcome::timed_out, error_code::request_timed_out},
  };
  for (const auto& [outcome, code] : cases) {
    fake_context ctx;
    elect_leaders_request req;
    req.topic_partitions.emplace({topic_parts("t", {1})});
    auto reply = send(ctx, 2, req);
    ctx.pending_catch_up();
    ASSERT_TRUE(ctx.pending);
    ctx.pending({outcome});
    const auto got = flat(decode(*reply, 2));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(std::get<2>(got[0]), code) << static_cast<int>(outcome);
  }
}

TEST_F(kafka_elect_leaders_test, a_null_topic_list_means_every_partition) {
  elect_leaders_request req;  // topic_partitions null
  auto reply = send(ctx_, 2, req);
  ctx_.pending_catch_up();
  ASSERT_TRUE(ctx_.pending);
  ASSERT_EQ(ctx_.wanted.size(), 2u);
  EXPECT_EQ(ctx_.wanted[1].topic, "u");
  EXPECT_EQ(ctx_.wanted[1].preferred, n(1));
  ctx_.pending({election_outcome::timed_out, election_outcome::elected});
  const std::vector<std::tuple<std::string, std::int32_t, error_code>> want = {
      {"t", 0, error_code::election_not_needed},
      {"t", 1, error_code::request_timed_out},
      {"t", 2, error_code::preferred_leader_not_available},
      {"u", 0, error_code::none},
  };
  EXPECT_EQ(flat(decode(*reply, 2)), want);
}

TEST_F(kafka_elect_leaders_test, an_unclean_election_is_refused_and_reaches_nobody) {
  elect_leaders_request req;
  req.election_type = 1;
  req.topic_partitions.emplace({topic_parts("t", {1, 2})});
  auto reply = send(ctx_, 1, req);
  ctx_.pending_catch_up();
  EXPECT_FALSE(ctx_.pending);
  const std::vector<std::tuple<std::string, std::int32_t, error_code>> want = {
      {"t", 1, error_code::invalid_request},
      {"t", 2, error_code::invalid_request},
  };
  EXPECT_EQ(flat(decode(*reply, 1)), want);
}

TEST_F(kafka_elect_leaders_test, version_0_is_a_preferred_election_and_every_version_answers) {
  for (std::int16_t v = 0; v <= 2; ++v) {
    fake_context ctx;
    elect_leaders_request req;
    req.topic_partitions.emplace({topic_parts("t", {0})});
    auto reply = send(ctx, v, req);
    ctx.pending_catch_up();
    const auto got = flat(decode(*reply, v));
    ASSERT_EQ(got.size(), 1u) << v;
    EXPECT_EQ(std::get<2>(got[0]), error_code::election_not_needed) << v;
  }
}

TEST_F(kafka_elect_leaders_test, a_context_that_cannot_reach_meta_answers_not_controller) {
  class refusing : public fake_context {
   public:
    void elect_preferred_leaders(std::vector<election_request> w, std::chrono::milliseconds t,
                                 elections_done done) override {
      broker_context::elect_preferred_leaders(std::move(w), t, std::move(done));  // the base's default
    }
  } ctx;
  elect_leaders_request req;
  req.topic_partitions.emplace({topic_parts("t", {1})});
  auto reply = send(ctx, 2, req);
  ctx.pending_catch_up();
  const auto got = flat(decode(*reply, 2));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(std::get<2>(got[0]), error_code::not_controller);
}

}  // namespace
}  // namespace chronik::kafka
