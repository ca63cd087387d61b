// kafka/handlers through the dispatcher, with a fake broker context: ApiVersions advertises exactly
// the dispatched ranges (and answers an unsupported version in v0), Metadata lists brokers and
// topics and auto-creates only when both sides allow it, CreateTopics/DeleteTopics map outcomes to
// Kafka error codes, DescribeConfigs reports defaults and explicit values, and malformed or
// unsupported requests close the connection.
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "kafka/handlers/creation_rate_limit.h"
#include "kafka/handlers/dispatcher.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/topic_config_schema.h"
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/api_versions.h"
#include "kafka/protocol/messages/create_topics.h"
#include "kafka/protocol/messages/delete_topics.h"
#include "kafka/protocol/messages/describe_configs.h"
#include "kafka/protocol/messages/metadata.h"

namespace chronik::kafka {
namespace {

// Test ids as Kafka writes them, turned into node ids (-1: no node) as broker_context carries them.
chronik::node_id n(std::int32_t id) { return node_id_from_kafka(id); }
std::vector<chronik::node_id> ns(std::initializer_list<std::int32_t> ids) {
  std::vector<chronik::node_id> out;
  for (auto id : ids) out.push_back(n(id));
  return out;
}

class fake_context : public broker_context {
 public:
  chronik::node_id node_id() const override { return chronik::node_id{1}; }
  std::optional<std::string> cluster_id() const override { return "c0ffee"; }
  chronik::node_id controller_id() const override { return chronik::node_id{2}; }
  std::vector<broker_info> brokers() const override {
    return {{chronik::node_id{1}, "127.0.0.1", 9092, std::nullopt}, {chronik::node_id{2}, "127.0.0.2", 9092, std::string("r2")}};
  }
  std::vector<topic_info> topics() const override {
    std::vector<topic_info> out;
    for (const auto& [n, t] : topics_) out.push_back(t);
    return out;
  }
  std::optional<topic_info> topic(std::string_view name) const override {
    auto it = topics_.find(std::string(name));
    if (it == topics_.end()) return std::nullopt;
    return it->second;
  }
  broker_defaults defaults() const override { return defaults_; }
  std::size_t auto_create_allowance(std::size_t wanted) override { return rate.take(wanted, now_ms); }
  void catch_up(std::function<void()> done) override {
    if (defer_catch_up) {
      caught_up = std::move(done);
    } else {
      done();
    }
  }
  bool caught_up_since_start() const override { return current_since_start; }
  void create_topics(std::vector<topic_request> topics, bool validate_only, std::chrono::milliseconds,
                     topics_done done) override {
    std::vector<topic_result> out;
    for (auto& t : topics) {
      created.push_back(t);
      out.push_back({t.name, topics_.contains(t.name) ? topic_outcome::already_exists : next_outcome, {}});
      if (materialize && out.back().outcome == topic_outcome::done && !validate_only) add_created(t);
    }
    done(std::move(out));
  }
  // What the daemon's `__meta` would hold once `t` is applied: an id, the broker defaults for -1.
  void add_created(const topic_request& t) {
    topic_info info;
    info.name = t.name;
    info.id = {0x1d, static_cast<std::uint8_t>(topics_.size())};
    const std::int32_t count = t.partitions < 0 ? defaults_.partitions : t.partitions;
    const std::int16_t rf = t.replication_factor < 0 ? defaults_.replication_factor : t.replication_factor;
    for (std::int32_t p = 0; p < count; ++p) {
      std::vector<chronik::node_id> replicas;
      for (std::int16_t r = 0; r < rf; ++r) replicas.push_back(chronik::node_id{static_cast<std::uint32_t>(r + 1)});
      info.partitions.push_back({p, replicas[0], 0, replicas, replicas, {}});
    }
    info.configs = t.configs;
    topics_[t.name] = info;
  }
  void delete_topics(std::vector<std::string> names, std::chrono::milliseconds, topics_done done) override {
    std::vector<topic_result> out;
    for (auto& n : names) out.push_back({n, topics_.contains(n) ? topic_outcome::done : topic_outcome::unknown_topic, {}});
    done(std::move(out));
  }
  // The partition handlers are tested in kafka_data_handlers_test.cc, over real replicas.
  partition_manager& partitions() override { std::abort(); }

  std::map<std::string, topic_info> topics_;
  broker_defaults defaults_;
  topic_outcome next_outcome = topic_outcome::done;
  std::vector<topic_request> created;
  bool materialize = false;  // create_topics adds the created topics to topics_
  bool defer_catch_up = false;
  std::function<void()> caught_up;  // the deferred catch_up's continuation
  bool current_since_start = true;   // caught_up_since_start()
  creation_rate_limit rate{5};      // auto-creations per second
  std::int64_t now_ms = 0;
};

class kafka_handlers_test : public ::testing::Test {
 protected:
  kafka_handlers_test() {
    topic_info t;
    t.name = "orders";
    t.partitions.push_back({0, n(2), 5, ns({2, 1}), ns({2, 1}), {}});
    t.partitions.push_back({1, n(-1), -1, ns({1, 2}), ns({1}), ns({2})});
    t.configs["retention.ms"] = "1000";
    ctx_.topics_["orders"] = t;
  }
  // Sends one request through the dispatcher; returns the reply (its frame, if any).
  handler_reply call(api_key key, std::int16_t version, const std::function<void(writer&)>& body) {
    writer w;
    encode_request_header({key, version, 42, std::string("test")}, w);
    body(w);
    std::optional<handler_reply> got;
    dispatcher_.handle(client_info{"test", 1}, w.take(), [&](handler_reply r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value());
    return got.value_or(handler_reply::no_response());
  }
  template <typename T, typename Decode>
  T decode(const handler_reply& r, api_key key, std::int16_t version, Decode fn) {
    EXPECT_EQ(r.what, handler_reply::kind::respond) << r.why;
    const std::string whole = r.prefix + r.frame.flatten();
    reader rd(whole);
    auto corr = decode_response_header(rd, key, version);
    EXPECT_TRUE(corr && *corr == 42);
    auto m = fn(rd, version);
    EXPECT_TRUE(m.has_value());
    EXPECT_EQ(rd.remaining(), 0u);
    return m.value_or(T{});
  }

  fake_context ctx_;
  dispatcher dispatcher_{ctx_, std::make_shared<spdlog::logger>("k", std::make_shared<spdlog::sinks::null_sink_mt>())};
};

// The Kafka edge of a node id: -1 for no node and for an id above INT32_MAX (never wrapped into a
// negative or another broker's id); request ids below 0 are no node.
TEST(kafka_id, is_the_broker_id_or_minus_one) {
  EXPECT_EQ(kafka_id(chronik::node_id{7}), 7);
  EXPECT_EQ(kafka_id(chronik::node_id{2147483647u}), 2147483647);
  EXPECT_EQ(kafka_id(chronik::no_node), -1);
  EXPECT_EQ(kafka_id(chronik::node_id{2147483648u}), -1);
  EXPECT_EQ(node_id_from_kafka(-1), chronik::no_node);
  EXPECT_EQ(node_id_from_kafka(3), chronik::node_id{3});
}

TEST_F(kafka_handlers_test, api_versions_advertises_the_dispatched_ranges_at_every_version) {
  for (std::int16_t v = 0; v <= 4; ++v) {
    auto r = call(api_key::api_versions, v, [&](writer& w) { encode_api_versions_request({"t", "1"}, v, w); });
    auto resp = decode<api_versions_response>(r, api_key::api_versions, v, decode_api_versions_response);
    EXPECT_EQ(resp.error, error_code::none);
    ASSERT_EQ(resp.api_keys.size(), all_handlers().size());
    for (std::size_t i = 0; i < resp.api_keys.size(); ++i) {
      EXPECT_EQ(resp.api_keys[i].key, all_handlers()[i].key);
      EXPECT_EQ(resp.api_keys[i].max_version, all_handlers()[i].versions.max);
    }
  }
}

// Features go only to v4 clients, the first that accept a supported range starting at 0
// (KAFKA-17011): each of Kafka 4's client-visible features at level 0, none finalized.
TEST_F(kafka_handlers_test, api_versions_lists_the_features_at_level_zero_from_v4) {
  for (std::int16_t v = 3; v <= 4; ++v) {
    auto r = call(api_key::api_versions, v, [&](writer& w) { encode_api_versions_request({"t", "1"}, v, w); });
    auto resp = decode<api_versions_response>(r, api_key::api_versions, v, decode_api_versions_response);
    EXPECT_TRUE(resp.finalized_features.empty());
    EXPECT_EQ(resp.finalized_features_epoch, -1);
    if (v < 4) {
      EXPECT_TRUE(resp.supported_features.empty()) << "v" << v;
      continue;
    }
    std::vector<std::string> names;
    for (const auto& f : resp.supported_features) {
      names.push_back(f.name);
      EXPECT_EQ(f.min_version, 0) << f.name;
      EXPECT_EQ(f.max_version, 0) << f.name;
    }
    EXPECT_EQ(names, (std::vector<std::string>{"eligible.leader.replicas.version", "group.version", "kraft.version",
                                                "share.version", "streams.version", "transaction.version"}));
  }
}

TEST_F(kafka_handlers_test, api_versions_beyond_the_range_answers_unsupported_in_v0) {
  auto r = call(api_key::api_versions, 9, [](writer&) {});
  auto resp = decode<api_versions_response>(r, api_key::api_versions, 0, decode_api_versions_response);
  EXPECT_EQ(resp.error, error_code::unsupported_version);
  EXPECT_FALSE(resp.api_keys.empty());
}

TEST_F(kafka_handlers_test, unsupported_versions_unknown_keys_and_garbage_close_the_connection) {
  EXPECT_EQ(call(api_key::metadata, 42, [](writer&) {}).what, handler_reply::kind::close);
  EXPECT_EQ(call(static_cast<api_key>(999), 0, [](writer&) {}).what, handler_reply::kind::close);
  EXPECT_EQ(call(api_key::create_topics, 2, [](writer& w) { w.write_int32(7); }).what, handler_reply::kind::close);
  std::optional<handler_reply> got;
  dispatcher_.handle(client_info{}, std::string("\x00\x03", 2), [&](handler_reply r) { got = std::move(r); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->what, handler_reply::kind::close);
}

// A Metadata request's topic list naming these topics.
std::vector<metadata_request_topic> asking_for(std::initializer_list<std::string> names) {
  std::vector<metadata_request_topic> out;
  for (const auto& n : names) out.push_back({.name = n});
  return out;
}

TEST_F(kafka_handlers_test, metadata_lists_brokers_controller_and_partitions) {
  ctx_.topics_["orders"].id = {7, 7};
  for (std::int16_t v : {0, 1, 5, 9, 10, 11, 12}) {
    auto r = call(api_key::metadata, v, [&](writer& w) { encode_metadata_request({}, v, w); });
    auto resp = decode<metadata_response>(r, api_key::metadata, v, decode_metadata_response);
    ASSERT_EQ(resp.brokers.size(), 2u);
    EXPECT_EQ(resp.brokers[1].host, "127.0.0.2");
    if (v >= 1) {
      EXPECT_EQ(resp.controller_id, 2);
    }
    if (v >= 2) {
      EXPECT_EQ(resp.cluster_id, "c0ffee");
    }
    ASSERT_EQ(resp.topics.size(), 1u);
    EXPECT_EQ(resp.topics[0].topic_id, (v >= 10 ? uuid{7, 7} : uuid{})) << "v" << v;
    ASSERT_EQ(resp.topics[0].partitions.size(), 2u);
    EXPECT_EQ(resp.topics[0].partitions[0].leader_id, 2);
    EXPECT_EQ(resp.topics[0].partitions[0].error, error_code::none);
    EXPECT_EQ(resp.topics[0].partitions[1].error, error_code::leader_not_available);
  }
}

// v0 has no null list and asks for all topics with an empty one; from v1 an empty list asks for
// none and null for all (Kafka's MetadataRequest.isAllTopics).
TEST_F(kafka_handlers_test, metadata_empty_list_means_all_topics_in_v0_only) {
  metadata_request none;
  none.topics.emplace();
  for (std::int16_t v : {0, 1, 4, 9}) {
    auto r = call(api_key::metadata, v, [&](writer& w) { encode_metadata_request(none, v, w); });
    auto resp = decode<metadata_response>(r, api_key::metadata, v, decode_metadata_response);
    EXPECT_EQ(resp.topics.size(), v == 0 ? 1u : 0u) << "v" << v;
  }
  metadata_request all;
  auto r = call(api_key::metadata, 1, [&](writer& w) { encode_metadata_request(all, 1, w); });
  EXPECT_EQ(decode<metadata_response>(r, api_key::metadata, 1, decode_metadata_response).topics.size(), 1u);
  EXPECT_TRUE(ctx_.created.empty());
}

// KIP-516: from v10 a topic may be asked for by id. A known id is answered with the topic and its
// name, an unknown one with UNKNOWN_TOPIC_ID and a null name (v12; empty before), and an id never
// auto-creates anything.
TEST_F(kafka_handlers_test, metadata_answers_topics_asked_for_by_id) {
  const uuid orders_id{1, 2, 3};
  const uuid unknown_id{9, 9, 9};
  ctx_.topics_["orders"].id = orders_id;
  metadata_request req;
  req.topics = std::vector<metadata_request_topic>{
      {.topic_id = unknown_id}, {.topic_id = orders_id}, {.name = "orders"}};
  for (std::int16_t v : {10, 12}) {
    auto r = call(api_key::metadata, v, [&](writer& w) { encode_metadata_request(req, v, w); });
    auto resp = decode<metadata_response>(r, api_key::metadata, v, decode_metadata_response);
    ASSERT_EQ(resp.topics.size(), 3u);
    EXPECT_EQ(resp.topics[0].error, error_code::unknown_topic_id);
    EXPECT_EQ(resp.topics[0].topic_id, unknown_id);
    EXPECT_EQ(resp.topics[0].name, v >= 12 ? std::nullopt : std::optional<std::string>(""));
    EXPECT_TRUE(resp.topics[0].partitions.empty());
    for (std::size_t i : {1u, 2u}) {
      EXPECT_EQ(resp.topics[i].error, error_code::none);
      EXPECT_EQ(resp.topics[i].name, "orders");
      EXPECT_EQ(resp.topics[i].topic_id, orders_id);
      EXPECT_EQ(resp.topics[i].partitions.size(), 2u);
    }
  }
  EXPECT_TRUE(ctx_.created.empty());
}

TEST_F(kafka_handlers_test, metadata_answers_only_after_catching_up_and_shows_what_it_caught_up_to) {
  // A topic committed elsewhere reaches this broker during its ReadIndex: the answer waits for
  // it and lists it (read-your-writes across brokers).
  ctx_.defer_catch_up = true;
  writer w;
  encode_request_header({api_key::metadata, 9, 42, std::string("test")}, w);
  encode_metadata_request({}, 9, w);
  std::optional<handler_reply> got;
  dispatcher_.handle(client_info{"test", 1}, w.take(), [&](handler_reply r) { got = std::move(r); });
  EXPECT_FALSE(got.has_value()) << "answered before catching up";
  ASSERT_TRUE(ctx_.caught_up);
  topic_info t;
  t.name = "fresh";
  ctx_.topics_["fresh"] = t;
  ctx_.caught_up();
  ASSERT_TRUE(got.has_value());
  auto resp = decode<metadata_response>(*got, api_key::metadata, 9, decode_metadata_response);
  ASSERT_EQ(resp.topics.size(), 2u);
  EXPECT_EQ(resp.topics[0].name, "fresh");
}

// A client that got NOT_LEADER_OR_FOLLOWER asks for the topics it writes: those known here are
// answered at once, without the read of `__meta` (it took 150-470 ms during a drain, and every
// moved partition waited for it). A request naming a topic not known here, or asking for all,
// still waits for the read, so that a topic created through another broker is found.
TEST_F(kafka_handlers_test, metadata_for_topics_known_here_answers_without_catching_up) {
  ctx_.defer_catch_up = true;
  ctx_.topics_["orders"].id = {4, 4};
  const auto send = [&](const metadata_request& req, std::optional<handler_reply>& got) {
    writer w;
    encode_request_header({api_key::metadata, 12, 42, std::string("test")}, w);
    encode_metadata_request(req, 12, w);
    dispatcher_.handle(client_info{"test", 1}, w.take(), [&](handler_reply r) { got = std::move(r); });
  };
  metadata_request known;
  known.topics = std::vector<metadata_request_topic>{{.name = "orders"}, {.topic_id = uuid{4, 4}}};
  std::optional<handler_reply> got;
  send(known, got);
  ASSERT_TRUE(got.has_value()) << "a known topic waited for __meta";
  EXPECT_FALSE(ctx_.caught_up);
  auto resp = decode<metadata_response>(*got, api_key::metadata, 12, decode_metadata_response);
  ASSERT_EQ(resp.topics.size(), 2u);
  EXPECT_EQ(resp.topics[0].partitions[0].leader_id, 2);

  for (const auto& waits : {metadata_request{std::vector<metadata_request_topic>{{.name = "orders"}, {.name = "fresh"}}},
                            metadata_request{std::vector<metadata_request_topic>{{.topic_id = uuid{8, 8}}}},
                            metadata_request{}}) {
    std::optional<handler_reply> later;
    send(waits, later);
    EXPECT_FALSE(later.has_value()) << "answered before catching up";
    ASSERT_TRUE(ctx_.caught_up);
    auto continuation = std::move(ctx_.caught_up);
    ctx_.caught_up = nullptr;
    continuation();
    EXPECT_TRUE(later.has_value());
  }
}

// A restarted broker's view is the one it stopped with: it named itself leader of a partition
// that had moved on, and listed an ISR that had shrunk, to a client that asked right after the
// restart (kafka_epoch in CI, 2026-12-07). Until a read of `__meta` has caught it up since it
// started, even topics known here wait for one.
TEST_F(kafka_handlers_test, metadata_waits_for_a_catch_up_until_the_first_since_start) {
  ctx_.defer_catch_up = true;
  ctx_.current_since_start = false;
  ctx_.topics_["orders"].id = {4, 4};
  metadata_request known;
  known.topics = std::vector<metadata_request_topic>{{.name = "orders"}};
  writer w;
  encode_request_header({api_key::metadata, 12, 42, std::string("test")}, w);
  encode_metadata_request(known, 12, w);
  std::optional<handler_reply> got;
  dispatcher_.handle(client_info{"test", 1}, w.take(), [&](handler_reply r) { got = std::move(r); });
  EXPECT_FALSE(got.has_value()) << "a broker not caught up since its start answered from its old view";
  ASSERT_TRUE(ctx_.caught_up);
  ctx_.caught_up();
  EXPECT_TRUE(got.has_value());
}

TEST_F(kafka_handlers_test, metadata_auto_creates_only_when_both_sides_allow_it) {
  metadata_request req;
  req.topics = asking_for({"fresh", "bad name!"});
  auto r = call(api_key::metadata, 9, [&](writer& w) { encode_metadata_request(req, 9, w); });
  auto resp = decode<metadata_response>(r, api_key::metadata, 9, decode_metadata_response);
  ASSERT_EQ(resp.topics.size(), 2u);
  EXPECT_EQ(resp.topics[0].error, error_code::leader_not_available);
  EXPECT_EQ(resp.topics[1].error, error_code::invalid_topic_exception);
  ASSERT_EQ(ctx_.created.size(), 1u);
  EXPECT_EQ(ctx_.created[0].name, "fresh");

  req.allow_auto_topic_creation = false;
  r = call(api_key::metadata, 9, [&](writer& w) { encode_metadata_request(req, 9, w); });
  resp = decode<metadata_response>(r, api_key::metadata, 9, decode_metadata_response);
  EXPECT_EQ(resp.topics[0].error, error_code::unknown_topic_or_partition);
  ctx_.defaults_.auto_create_topics = false;
  req.allow_auto_topic_creation = true;
  r = call(api_key::metadata, 9, [&](writer& w) { encode_metadata_request(req, 9, w); });
  resp = decode<metadata_response>(r, api_key::metadata, 9, decode_metadata_response);
  EXPECT_EQ(resp.topics[0].error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(ctx_.created.size(), 1u);
}

// `__consumer_offsets` is the brokers' own (docs/kafka.md "Durable groups"): Metadata never
// auto-creates it as an ordinary topic (one partition and 7-day retention would lose offsets), and
// reports it as internal once the brokers made it.
TEST_F(kafka_handlers_test, metadata_neither_creates_nor_hides_the_internal_offsets_topic) {
  metadata_request req;
  req.topics = asking_for({"__consumer_offsets"});
  auto r = call(api_key::metadata, 9, [&](writer& w) { encode_metadata_request(req, 9, w); });
  auto resp = decode<metadata_response>(r, api_key::metadata, 9, decode_metadata_response);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error, error_code::unknown_topic_or_partition);
  EXPECT_TRUE(ctx_.created.empty());

  ctx_.add_created({"__consumer_offsets", 2, 1, {}, {}, true});
  ctx_.add_created({"plain", 1, 1, {}, {}});
  req.topics = asking_for({"__consumer_offsets", "plain"});
  r = call(api_key::metadata, 9, [&](writer& w) { encode_metadata_request(req, 9, w); });
  resp = decode<metadata_response>(r, api_key::metadata, 9, decode_metadata_response);
  ASSERT_EQ(resp.topics.size(), 2u);
  EXPECT_TRUE(resp.topics[0].is_internal);
  EXPECT_FALSE(resp.topics[1].is_internal);
}

// One unauthenticated Metadata request used to auto-create every topic it named (1,000 in one go).
TEST_F(kafka_handlers_test, metadata_auto_creation_is_capped_per_request_and_per_second) {
  ctx_.defaults_.auto_create_max_per_request = 3;
  metadata_request req;
  req.topics = asking_for({"orders", "t0", "t1", "t1", "t2", "t3", "t4"});
  auto r = call(api_key::metadata, 9, [&](writer& w) { encode_metadata_request(req, 9, w); });
  auto resp = decode<metadata_response>(r, api_key::metadata, 9, decode_metadata_response);
  ASSERT_EQ(resp.topics.size(), 7u);
  EXPECT_EQ(resp.topics[0].error, error_code::none);  // exists: not counted
  EXPECT_EQ(resp.topics[1].error, error_code::leader_not_available);
  EXPECT_EQ(resp.topics[2].error, error_code::leader_not_available);
  EXPECT_EQ(resp.topics[3].error, error_code::leader_not_available);  // named twice, created once
  EXPECT_EQ(resp.topics[4].error, error_code::leader_not_available);
  // Over the request's cap: answered as not auto-created, which clients retry.
  EXPECT_EQ(resp.topics[5].error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(resp.topics[6].error, error_code::unknown_topic_or_partition);
  ASSERT_EQ(ctx_.created.size(), 3u);
  EXPECT_EQ(ctx_.created[2].name, "t2");

  // The node's per-second cap (5 here): 3 were taken, 2 remain in this second.
  req.topics = asking_for({"u0", "u1", "u2"});
  r = call(api_key::metadata, 9, [&](writer& w) { encode_metadata_request(req, 9, w); });
  resp = decode<metadata_response>(r, api_key::metadata, 9, decode_metadata_response);
  EXPECT_EQ(resp.topics[0].error, error_code::leader_not_available);
  EXPECT_EQ(resp.topics[1].error, error_code::leader_not_available);
  EXPECT_EQ(resp.topics[2].error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(ctx_.created.size(), 5u);

  // A second later the retry creates it.
  ctx_.now_ms += 1000;
  req.topics = asking_for({"u2"});
  r = call(api_key::metadata, 9, [&](writer& w) { encode_metadata_request(req, 9, w); });
  resp = decode<metadata_response>(r, api_key::metadata, 9, decode_metadata_response);
  EXPECT_EQ(resp.topics[0].error, error_code::leader_not_available);
  ASSERT_EQ(ctx_.created.size(), 6u);
  EXPECT_EQ(ctx_.created[5].name, "u2");
}

TEST(creation_rate_limit_test, grants_up_to_the_cap_in_each_one_second_window) {
  creation_rate_limit limit(10);
  EXPECT_EQ(limit.take(4, 5000), 4u);
  EXPECT_EQ(limit.take(8, 5500), 6u);
  EXPECT_EQ(limit.take(1, 5999), 0u);
  EXPECT_EQ(limit.take(12, 6000), 10u);
  EXPECT_EQ(limit.take(0, 7000), 0u);
}

TEST_F(kafka_handlers_test, create_topics_maps_outcomes_and_refuses_duplicates) {
  create_topics_request req;
  req.topics.push_back({"orders", 3, 2, {}, {}});
  req.topics.push_back({"new", 3, 2, {}, {{"retention.ms", std::string("5")}}});
  req.topics.push_back({"twice", 1, 1, {}, {}});
  req.topics.push_back({"twice", 1, 1, {}, {}});
  for (std::int16_t v : {0, 2, 5}) {
    ctx_.created.clear();
    auto r = call(api_key::create_topics, v, [&](writer& w) { encode_create_topics_request(req, v, w); });
    auto resp = decode<create_topics_response>(r, api_key::create_topics, v, decode_create_topics_response);
    ASSERT_EQ(resp.topics.size(), 4u);
    EXPECT_EQ(resp.topics[0].error, error_code::topic_already_exists);
    EXPECT_EQ(resp.topics[1].error, error_code::none);
    EXPECT_EQ(resp.topics[2].error, error_code::invalid_request);
    EXPECT_EQ(resp.topics[3].error, error_code::invalid_request);
    ASSERT_EQ(ctx_.created.size(), 2u) << "a name given twice is never proposed";
    EXPECT_EQ(ctx_.created[1].configs.at("retention.ms"), "5");
  }
  ctx_.next_outcome = topic_outcome::not_controller;
  create_topics_request one;
  one.topics.push_back({"elsewhere", 1, 1, {}, {}});
  auto r = call(api_key::create_topics, 4, [&](writer& w) { encode_create_topics_request(one, 4, w); });
  auto resp = decode<create_topics_response>(r, api_key::create_topics, 4, decode_create_topics_response);
  EXPECT_EQ(resp.topics[0].error, error_code::not_controller);
}

// KIP-525 (v5+): a created topic is answered with its partition count, replication factor and
// every config (set on the topic or default), and from v7 with its topic id (KIP-516), as
// `__meta` holds them after the creation; validate_only answers what would be created, with the
// zero id; a refused topic keeps -1, -1, null configs and the zero id.
TEST_F(kafka_handlers_test, create_topics_answers_the_created_topic_settings_and_id) {
  ctx_.materialize = true;
  ctx_.defaults_.partitions = 4;
  ctx_.defaults_.replication_factor = 2;
  for (std::int16_t v : {4, 5, 6, 7}) {
    ctx_.topics_.erase("fresh");
    create_topics_request req;
    req.topics.push_back({"fresh", -1, -1, {}, {{"retention.ms", std::string("5000")}}});
    req.topics.push_back({"orders", 3, 2, {}, {}});
    auto r = call(api_key::create_topics, v, [&](writer& w) { encode_create_topics_request(req, v, w); });
    auto resp = decode<create_topics_response>(r, api_key::create_topics, v, decode_create_topics_response);
    ASSERT_EQ(resp.topics.size(), 2u);
    const auto& made = resp.topics[0];
    EXPECT_EQ(made.error, error_code::none);
    EXPECT_EQ(made.topic_id, (v >= 7 ? ctx_.topics_.at("fresh").id : uuid{})) << "v" << v;
    EXPECT_EQ(made.num_partitions, v >= 5 ? 4 : -1) << "v" << v;
    EXPECT_EQ(made.replication_factor, v >= 5 ? 2 : -1) << "v" << v;
    ASSERT_EQ(made.configs.has_value(), v >= 5) << "v" << v;
    const auto& refused = resp.topics[1];
    EXPECT_EQ(refused.error, error_code::topic_already_exists);
    EXPECT_EQ(refused.topic_id, uuid{});
    EXPECT_EQ(refused.num_partitions, -1);
    EXPECT_EQ(refused.configs, std::nullopt);
    if (v < 5) continue;
    ASSERT_EQ(made.configs->size(), topic_config_keys().size());
    for (const auto& c : *made.configs) {
      if (c.name == "retention.ms") {
        EXPECT_EQ(c.value, "5000");
        EXPECT_EQ(c.config_source, config_source::dynamic_topic);
      } else {
        EXPECT_EQ(c.value, std::string(find_topic_config(c.name)->default_value)) << c.name;
        EXPECT_EQ(c.config_source, config_source::default_config) << c.name;
      }
      EXPECT_FALSE(c.read_only);
      EXPECT_FALSE(c.is_sensitive);
    }
  }

  create_topics_request dry;
  dry.validate_only = true;
  dry.topics.push_back({"dry", -1, 3, {}, {}});
  dry.topics.push_back({"manual", -1, -1, {{0, {1, 2, 3}}, {1, {2, 3, 1}}}, {}});
  auto r = call(api_key::create_topics, 7, [&](writer& w) { encode_create_topics_request(dry, 7, w); });
  auto resp = decode<create_topics_response>(r, api_key::create_topics, 7, decode_create_topics_response);
  ASSERT_EQ(resp.topics.size(), 2u);
  EXPECT_EQ(resp.topics[0].error, error_code::none);
  EXPECT_EQ(resp.topics[0].topic_id, uuid{}) << "nothing was created";
  EXPECT_EQ(resp.topics[0].num_partitions, 4);
  EXPECT_EQ(resp.topics[0].replication_factor, 3);
  EXPECT_EQ(resp.topics[1].num_partitions, 2);
  EXPECT_EQ(resp.topics[1].replication_factor, 3);
  EXPECT_FALSE(ctx_.topics_.contains("dry"));
}

TEST_F(kafka_handlers_test, delete_topics_by_name_and_unknown_ids) {
  delete_topics_request req;
  req.topic_names = {"orders", "missing"};
  auto r = call(api_key::delete_topics, 4, [&](writer& w) { encode_delete_topics_request(req, 4, w); });
  auto resp = decode<delete_topics_response>(r, api_key::delete_topics, 4, decode_delete_topics_response);
  ASSERT_EQ(resp.responses.size(), 2u);
  EXPECT_EQ(resp.responses[0].error, error_code::none);
  EXPECT_EQ(resp.responses[1].error, error_code::unknown_topic_or_partition);

  delete_topics_request by_id;
  by_id.topics.push_back({std::nullopt, uuid{{9}}});
  r = call(api_key::delete_topics, 6, [&](writer& w) { encode_delete_topics_request(by_id, 6, w); });
  resp = decode<delete_topics_response>(r, api_key::delete_topics, 6, decode_delete_topics_response);
  ASSERT_EQ(resp.responses.size(), 1u);
  EXPECT_EQ(resp.responses[0].error, error_code::unknown_topic_id);
}

TEST_F(kafka_handlers_test, describe_configs_reports_explicit_values_and_defaults) {
  describe_configs_request req;
  req.resources.push_back({config_resource_type::topic, "orders", std::nullopt});
  req.resources.push_back({config_resource_type::topic, "missing", std::nullopt});
  req.resources.push_back({config_resource_type::topic, "orders", std::vector<std::string>{"cleanup.policy"}});
  for (std::int16_t v : {0, 1, 3}) {
    auto r = call(api_key::describe_configs, v, [&](writer& w) { encode_describe_configs_request(req, v, w); });
    auto resp = decode<describe_configs_response>(r, api_key::describe_configs, v, decode_describe_configs_response);
    ASSERT_EQ(resp.results.size(), 3u);
    auto find = [&](const std::string& name) {
      for (const auto& e : resp.results[0].configs)
        if (e.name == name) return e;
      return describe_configs_entry{};
    };
    EXPECT_EQ(find("retention.ms").value, "1000");
    EXPECT_EQ(find("cleanup.policy").value, "delete");
    if (v >= 1) {
      EXPECT_EQ(find("retention.ms").config_source, 1);
      EXPECT_EQ(find("cleanup.policy").config_source, 5);
    }
    EXPECT_EQ(resp.results[1].error, error_code::unknown_topic_or_partition);
    ASSERT_EQ(resp.results[2].configs.size(), 1u);
  }
}

}  // namespace
}  // namespace chronik::kafka
