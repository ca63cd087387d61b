// AlterConfigs, IncrementalAlterConfigs, DescribeConfigs and CreateTopics' config checks through
// the dispatcher, with a fake broker context whose alter_topic_configs applies each change to its
// topics as `__meta` would: values checked against the schema and refused with INVALID_CONFIG
// before anything is proposed, validate_only, full replacement against incremental edits, the
// cluster-wide broker defaults (a broker resource named "") set and reported, a named broker's
// settings refused, and DescribeConfigs' sources for topics and brokers.
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "kafka/handlers/dispatcher.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/alter_configs.h"
#include "kafka/protocol/messages/create_topics.h"
#include "kafka/protocol/messages/describe_configs.h"
#include "kafka/protocol/messages/incremental_alter_configs.h"

namespace chronik::kafka {
namespace {

class fake_context : public broker_context {
 public:
  chronik::node_id node_id() const override { return chronik::node_id{1}; }
  std::optional<std::string> cluster_id() const override { return "c"; }
  chronik::node_id controller_id() const override { return chronik::node_id{1}; }
  std::vector<broker_info> brokers() const override { return {{chronik::node_id{1}, "127.0.0.1", 9092, std::nullopt}}; }
  std::vector<topic_info> topics() const override {
    std::vector<topic_info> out;
    for (const auto& [name, configs] : configs_) out.push_back(*topic(name));
    return out;
  }
  std::optional<topic_info> topic(std::string_view name) const override {
    auto it = configs_.find(std::string(name));
    if (it == configs_.end()) return std::nullopt;
    topic_info t;
    t.name = it->first;
    t.configs = it->second;
    return t;
  }
  broker_defaults defaults() const override { return {}; }
  void create_topics(std::vector<topic_request> topics, bool, std::chrono::milliseconds, topics_done done) override {
    std::vector<topic_result> out;
    for (auto& t : topics) {
      created.push_back(t.name);
      configs_[t.name] = t.configs;
      out.push_back({t.name, topic_outcome::done, {}});
    }
    done(std::move(out));
  }
  void delete_topics(std::vector<std::string>, std::chrono::milliseconds, topics_done) override {}
  void alter_topic_configs(std::vector<topic_config_change> changes, std::chrono::milliseconds,
                           topics_done done) override {
    std::vector<topic_result> out;
    for (const auto& c : changes) {
      ++proposals;
      auto& cfg = configs_[c.topic];
      for (const auto& k : c.remove) cfg.erase(k);
      for (const auto& [k, v] : c.set) cfg[k] = v;
      out.push_back({c.topic, topic_outcome::done, {}});
    }
    done(std::move(out));
  }
  std::map<std::string, std::string> cluster_configs() const override { return cluster_; }
  // As `__meta` would: the value in `set` of an edited key is the edit's outcome on this view.
  void alter_cluster_configs(topic_config_change change, std::chrono::milliseconds,
                             std::function<void(topic_result)> done) override {
    ++cluster_proposals;
    for (const auto& k : change.remove) cluster_.erase(k);
    for (const auto& [k, v] : change.set) cluster_[k] = v;
    done({"", topic_outcome::done, {}});
  }
  partition_manager& partitions() override { std::abort(); }  // not used by the config APIs

  std::map<std::string, std::map<std::string, std::string>> configs_{{"t", {}}};
  std::map<std::string, std::string> cluster_;
  int cluster_proposals = 0;
  std::vector<std::string> created;
  int proposals = 0;
};

class kafka_config_handlers_test : public ::testing::Test {
 protected:
  template <typename Encode, typename Decode>
  auto call(api_key key, std::int16_t version, Encode encode, Decode decode) {
    writer w;
    encode_request_header({key, version, 7, std::string("cli")}, w);
    encode(w);
    std::optional<handler_reply> reply;
    dispatcher_.handle(client_info{"127.0.0.9:40000", 1}, w.take(), [&](handler_reply r) { reply = std::move(r); });
    EXPECT_TRUE(reply.has_value());
    EXPECT_EQ(reply->what, handler_reply::kind::respond) << reply->why;
    const std::string whole = reply->prefix + reply->frame.flatten();
    reader rd(whole);
    EXPECT_TRUE(decode_response_header(rd, key, version).has_value());
    auto m = decode(rd, version);
    EXPECT_TRUE(m.has_value());
    return *m;
  }

  incremental_alter_configs_resource_response incremental(std::int8_t type, std::string name,
                                                           std::vector<incremental_alterable_config> configs,
                                                           bool validate_only = false, std::int16_t v = 1) {
    incremental_alter_configs_request req{{{type, std::move(name), std::move(configs)}}, validate_only};
    auto resp = call(
        api_key::incremental_alter_configs, v, [&](writer& w) { encode_incremental_alter_configs_request(req, v, w); },
        decode_incremental_alter_configs_response);
    EXPECT_EQ(resp.responses.size(), 1u);
    return resp.responses.at(0);
  }

  describe_configs_result describe(std::int8_t type, std::string name, std::int16_t v = 4) {
    describe_configs_request req{{{type, std::move(name), std::nullopt}}, true, true};
    auto resp = call(
        api_key::describe_configs, v, [&](writer& w) { encode_describe_configs_request(req, v, w); },
        decode_describe_configs_response);
    EXPECT_EQ(resp.results.size(), 1u);
    return resp.results.at(0);
  }

  static creatable_topic creatable(std::string name, std::vector<creatable_topic_config> configs) {
    creatable_topic t;
    t.name = std::move(name);
    t.num_partitions = 1;
    t.replication_factor = 1;
    t.configs = std::move(configs);
    return t;
  }

  create_topics_response create(std::vector<creatable_topic> topics) {
    create_topics_request req;
    req.timeout_ms = 1000;
    req.topics = std::move(topics);
    return call(
        api_key::create_topics, 5, [&](writer& w) { encode_create_topics_request(req, 5, w); },
        decode_create_topics_response);
  }

  static const describe_configs_entry* entry(const describe_configs_result& r, std::string_view name) {
    for (const auto& e : r.configs)
      if (e.name == name) return &e;
    return nullptr;
  }

  fake_context ctx_;
  dispatcher dispatcher_{ctx_, std::make_shared<spdlog::logger>("k", std::make_shared<spdlog::sinks::null_sink_mt>())};
};

using namespace config_operation;
constexpr std::int8_t topic = config_resource_type::topic;
constexpr std::int8_t broker = config_resource_type::broker;

TEST_F(kafka_config_handlers_test, incremental_set_and_delete_change_only_the_named_keys) {
  for (std::int16_t v : {0, 1}) {
    ctx_.configs_["t"] = {{"segment.ms", "1000"}};
    auto r = incremental(topic, "t", {{"retention.ms", set, "60000"}, {"retention.bytes", set, "1024"}}, false, v);
    EXPECT_EQ(r.error, error_code::none) << r.error_message.value_or("");
    EXPECT_EQ(ctx_.configs_["t"], (std::map<std::string, std::string>{
                                      {"retention.bytes", "1024"}, {"retention.ms", "60000"}, {"segment.ms", "1000"}}));
    r = incremental(topic, "t", {{"retention.bytes", config_operation::remove, std::nullopt}}, false, v);
    EXPECT_EQ(r.error, error_code::none);
    EXPECT_EQ(ctx_.configs_["t"],
              (std::map<std::string, std::string>{{"retention.ms", "60000"}, {"segment.ms", "1000"}}));
  }
}

TEST_F(kafka_config_handlers_test, bad_and_unsupported_values_are_refused_before_any_proposal) {
  for (const auto& [k, value] : std::vector<std::pair<std::string, std::string>>{
           {"retention.ms", "abc"}, {"cleanup.policy", "shred"}, {"no.such.key", "1"}, {"segment.bytes", "5"}}) {
    auto r = incremental(topic, "t", {{"retention.bytes", set, "1"}, {k, set, value}});
    EXPECT_EQ(r.error, error_code::invalid_config) << k;
    ASSERT_TRUE(r.error_message.has_value());
    EXPECT_NE(r.error_message->find(k), std::string::npos) << *r.error_message;
  }
  EXPECT_EQ(ctx_.proposals, 0);
  EXPECT_TRUE(ctx_.configs_["t"].empty());
  EXPECT_EQ(incremental(topic, "t", {{"retention.ms", set, std::nullopt}}).error, error_code::invalid_request);
  EXPECT_EQ(incremental(topic, "t", {{"retention.ms", 9, "1"}}).error, error_code::invalid_request);
  EXPECT_EQ(incremental(topic, "t", {{"retention.ms", set, "1"}, {"retention.ms", set, "2"}}).error,
            error_code::invalid_request);
  EXPECT_EQ(incremental(topic, "nope", {{"retention.ms", set, "1"}}).error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(ctx_.proposals, 0);
}

TEST_F(kafka_config_handlers_test, validate_only_checks_and_changes_nothing) {
  EXPECT_EQ(incremental(topic, "t", {{"retention.ms", set, "5"}}, true).error, error_code::none);
  EXPECT_EQ(incremental(topic, "t", {{"retention.ms", set, "x"}}, true).error, error_code::invalid_config);
  EXPECT_EQ(ctx_.proposals, 0);
  EXPECT_TRUE(ctx_.configs_["t"].empty());
}

TEST_F(kafka_config_handlers_test, append_and_subtract_edit_list_configs_only) {
  // "delete" is already there: appending it again changes nothing, and the value stays supported.
  EXPECT_EQ(incremental(topic, "t", {{"cleanup.policy", append, "delete"}}).error, error_code::none);
  EXPECT_EQ(ctx_.configs_["t"]["cleanup.policy"], "delete");
  // compact beside delete, then alone; neither is refused.
  EXPECT_EQ(incremental(topic, "t", {{"cleanup.policy", append, "compact"}}).error, error_code::none);
  EXPECT_EQ(ctx_.configs_["t"]["cleanup.policy"], "delete,compact");
  EXPECT_EQ(incremental(topic, "t", {{"cleanup.policy", subtract, "delete"}}).error, error_code::none);
  EXPECT_EQ(ctx_.configs_["t"]["cleanup.policy"], "compact");
  EXPECT_EQ(incremental(topic, "t", {{"cleanup.policy", subtract, "compact"}}).error, error_code::invalid_config);
  EXPECT_EQ(incremental(topic, "t", {{"leader.replication.throttled.replicas", append, "0:1"}}).error, error_code::none);
  EXPECT_EQ(incremental(topic, "t", {{"leader.replication.throttled.replicas", append, "1:2"}}).error, error_code::none);
  EXPECT_EQ(ctx_.configs_["t"]["leader.replication.throttled.replicas"], "0:1,1:2");
  EXPECT_EQ(incremental(topic, "t", {{"leader.replication.throttled.replicas", subtract, "0:1"}}).error, error_code::none);
  EXPECT_EQ(ctx_.configs_["t"]["leader.replication.throttled.replicas"], "1:2");
  auto r = incremental(topic, "t", {{"retention.ms", append, "5"}});
  EXPECT_EQ(r.error, error_code::invalid_config);
  EXPECT_NE(r.error_message.value_or("").find("not a list"), std::string::npos);
}

TEST_F(kafka_config_handlers_test, alter_configs_replaces_the_whole_set) {
  ctx_.configs_["t"] = {{"segment.ms", "1000"}, {"retention.ms", "abc"}};  // stored before values were checked
  for (std::int16_t v : {0, 1, 2}) {
    alter_configs_request req{{{topic, "t", {{"retention.bytes", "4096"}}}}, false};
    auto resp = call(
        api_key::alter_configs, v, [&](writer& w) { encode_alter_configs_request(req, v, w); }, decode_alter_configs_response);
    ASSERT_EQ(resp.responses.size(), 1u);
    EXPECT_EQ(resp.responses[0].error, error_code::none) << resp.responses[0].error_message.value_or("");
    EXPECT_EQ(resp.responses[0].resource_name, "t");
    EXPECT_EQ(ctx_.configs_["t"], (std::map<std::string, std::string>{{"retention.bytes", "4096"}}));
  }
  alter_configs_request bad{{{topic, "t", {{"compression.type", "gzip"}}}}, false};
  auto resp = call(
      api_key::alter_configs, 2, [&](writer& w) { encode_alter_configs_request(bad, 2, w); }, decode_alter_configs_response);
  EXPECT_EQ(resp.responses.at(0).error, error_code::invalid_config);
  EXPECT_EQ(ctx_.configs_["t"], (std::map<std::string, std::string>{{"retention.bytes", "4096"}}));
}

TEST_F(kafka_config_handlers_test, a_named_brokers_configs_cannot_change_and_resources_are_named_once) {
  for (const auto& key : {"num.partitions", "log.retention.ms"}) {
    auto r = incremental(broker, "1", {{key, set, "3"}});
    EXPECT_EQ(r.error, error_code::invalid_request);
    EXPECT_NE(r.error_message.value_or("").find(key), std::string::npos);
    EXPECT_NE(r.error_message.value_or("").find("--entity-default"), std::string::npos) << r.error_message.value_or("");
  }
  incremental_alter_configs_request twice{
      {{topic, "t", {{"retention.ms", set, "1"}}}, {topic, "t", {{"retention.ms", set, "2"}}}}, false};
  auto resp = call(
      api_key::incremental_alter_configs, 1, [&](writer& w) { encode_incremental_alter_configs_request(twice, 1, w); },
      decode_incremental_alter_configs_response);
  ASSERT_EQ(resp.responses.size(), 2u);
  EXPECT_EQ(resp.responses[0].error, error_code::invalid_request);
  EXPECT_EQ(resp.responses[1].error, error_code::invalid_request);
  EXPECT_EQ(ctx_.proposals, 0);
  EXPECT_EQ(ctx_.cluster_proposals, 0);
}

// kafka-configs --entity-type brokers --entity-default: IncrementalAlterConfigs of the broker
// resource named "", checked against the topic key each broker key stands for.
TEST_F(kafka_config_handlers_test, cluster_defaults_are_set_checked_and_edited_through_the_broker_named_empty) {
  auto r = incremental(broker, "", {{"log.retention.ms", set, "60000"}, {"message.max.bytes", set, "2000000"}});
  EXPECT_EQ(r.error, error_code::none) << r.error_message.value_or("");
  EXPECT_EQ(ctx_.cluster_, (std::map<std::string, std::string>{{"log.retention.ms", "60000"}, {"message.max.bytes", "2000000"}}));
  EXPECT_EQ(ctx_.cluster_proposals, 1);
  // A key read at start only is INVALID_REQUEST, a bad value INVALID_CONFIG; neither is proposed.
  EXPECT_EQ(incremental(broker, "", {{"num.io.threads", set, "8"}}).error, error_code::invalid_request);
  EXPECT_EQ(incremental(broker, "", {{"log.retention.ms", set, "soon"}}).error, error_code::invalid_config);
  EXPECT_EQ(incremental(broker, "", {{"compression.type", set, "gzip"}}).error, error_code::invalid_config);
  EXPECT_EQ(incremental(broker, "", {{"log.bogus", config_operation::remove, std::nullopt}}).error, error_code::invalid_config);
  EXPECT_EQ(incremental(broker, "", {{"log.retention.ms", set, "1"}}, true).error, error_code::none);  // validate_only
  EXPECT_EQ(ctx_.cluster_proposals, 1);
  EXPECT_EQ(ctx_.cluster_.at("log.retention.ms"), "60000");
  // APPEND starts from the built-in default of the topic key.
  r = incremental(broker, "", {{"log.cleanup.policy", config_operation::append, "compact"}});
  EXPECT_EQ(r.error, error_code::none) << r.error_message.value_or("");
  EXPECT_EQ(ctx_.cluster_.at("log.cleanup.policy"), "delete,compact");
  // A topic's APPEND starts from the cluster default in effect for it.
  ctx_.cluster_["log.cleanup.policy"] = "compact";
  r = incremental(topic, "t", {{"cleanup.policy", config_operation::append, "delete"}});
  EXPECT_EQ(r.error, error_code::none) << r.error_message.value_or("");
  EXPECT_EQ(ctx_.configs_["t"].at("cleanup.policy"), "compact,delete");
  // AlterConfigs replaces the whole set: what it leaves out is removed.
  alter_configs_request replace{{{broker, "", {{"log.retention.bytes", "1048576"}}}}, false};
  auto resp = call(
      api_key::alter_configs, 2, [&](writer& w) { encode_alter_configs_request(replace, 2, w); }, decode_alter_configs_response);
  EXPECT_EQ(resp.responses.at(0).error, error_code::none) << resp.responses.at(0).error_message.value_or("");
  EXPECT_EQ(ctx_.cluster_, (std::map<std::string, std::string>{{"log.retention.bytes", "1048576"}}));
}

// DescribeConfigs: the default entity lists what is set; a topic that does not set a key reports
// the cluster's value (DYNAMIC_DEFAULT_BROKER_CONFIG) with its synonyms; this broker's entry of the
// key reports it too, and may change.
TEST_F(kafka_config_handlers_test, describe_reports_cluster_defaults_where_they_govern) {
  ctx_.cluster_ = {{"log.retention.ms", "60000"}};
  auto d = describe(broker, "");
  ASSERT_EQ(d.configs.size(), 1u);
  EXPECT_EQ(d.configs[0].name, "log.retention.ms");
  EXPECT_EQ(d.configs[0].value, "60000");
  EXPECT_EQ(d.configs[0].config_source, 3);  // DYNAMIC_DEFAULT_BROKER_CONFIG
  EXPECT_EQ(d.configs[0].config_type, static_cast<std::int8_t>(config_type::int64));

  auto t = describe(topic, "t");
  const auto* retention = entry(t, "retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->value, "60000");
  EXPECT_EQ(retention->config_source, 3);
  EXPECT_FALSE(retention->is_default);
  ASSERT_EQ(retention->synonyms.size(), 2u);
  EXPECT_EQ(retention->synonyms[0].value, "60000");
  EXPECT_EQ(retention->synonyms[1].value, "604800000");
  EXPECT_EQ(retention->synonyms[1].source, 5);
  ctx_.configs_["t"] = {{"retention.ms", "1000"}};
  t = describe(topic, "t");
  retention = entry(t, "retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->value, "1000");
  EXPECT_EQ(retention->config_source, 1);
  EXPECT_EQ(retention->synonyms.size(), 3u);

  auto b = describe(broker, "1");
  const auto* broker_retention = entry(b, "log.retention.ms");
  ASSERT_NE(broker_retention, nullptr);
  EXPECT_EQ(broker_retention->value, "60000");
  EXPECT_EQ(broker_retention->config_source, 3);
  EXPECT_FALSE(broker_retention->read_only);
  EXPECT_TRUE(entry(b, "broker.id")->read_only);
}

TEST_F(kafka_config_handlers_test, describe_topic_reports_sources_types_and_synonyms) {
  ctx_.configs_["t"] = {{"retention.ms", "60000"}};
  auto r = describe(topic, "t");
  EXPECT_EQ(r.error, error_code::none);
  const auto* set_entry = entry(r, "retention.ms");
  ASSERT_NE(set_entry, nullptr);
  EXPECT_EQ(set_entry->value, "60000");
  EXPECT_EQ(set_entry->config_source, 1);  // DYNAMIC_TOPIC_CONFIG
  EXPECT_EQ(set_entry->config_type, static_cast<std::int8_t>(config_type::int64));
  ASSERT_EQ(set_entry->synonyms.size(), 2u);
  EXPECT_EQ(set_entry->synonyms[1].name, "log.retention.ms");
  const auto* default_entry = entry(r, "retention.bytes");
  ASSERT_NE(default_entry, nullptr);
  EXPECT_EQ(default_entry->value, "-1");
  EXPECT_EQ(default_entry->config_source, 5);  // DEFAULT_CONFIG
  EXPECT_EQ(r.configs.size(), topic_config_keys().size());
  auto v0 = describe(topic, "t", 0);
  EXPECT_TRUE(entry(v0, "retention.bytes")->is_default);
  EXPECT_FALSE(entry(v0, "retention.ms")->is_default);
}

TEST_F(kafka_config_handlers_test, describe_broker_reports_this_brokers_read_only_settings) {
  auto r = describe(broker, "1");
  EXPECT_EQ(r.error, error_code::none);
  const auto* id = entry(r, "broker.id");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->value, "1");
  EXPECT_TRUE(id->read_only);
  EXPECT_EQ(id->config_source, 4);  // STATIC_BROKER_CONFIG
  const auto* listeners = entry(r, "advertised.listeners");
  ASSERT_NE(listeners, nullptr);
  EXPECT_EQ(listeners->value, "PLAINTEXT://127.0.0.1:9092");
  const auto* partitions = entry(r, "num.partitions");
  ASSERT_NE(partitions, nullptr);
  EXPECT_EQ(partitions->value, "1");
  EXPECT_EQ(partitions->config_source, 5);  // DEFAULT_CONFIG
  const auto* retention = entry(r, "log.retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->value, "604800000");
  EXPECT_NE(entry(r, "message.max.bytes"), nullptr);
  EXPECT_EQ(describe(broker, "2").error, error_code::invalid_request);
  EXPECT_TRUE(describe(broker, "").configs.empty());
}

// CreateTopics v5+ answers with the created topic's configs (KIP-525) as DescribeConfigs would:
// a key it does not set but the cluster does is DYNAMIC_DEFAULT_BROKER_CONFIG.
TEST_F(kafka_config_handlers_test, create_topics_reports_the_cluster_defaults_a_new_topic_takes) {
  ctx_.cluster_ = {{"log.retention.ms", "60000"}, {"log.retention.bytes", "4096"}};
  auto resp = create({creatable("fresh", {{"retention.bytes", "8192"}})});
  ASSERT_EQ(resp.topics.size(), 1u);
  ASSERT_EQ(resp.topics[0].error, error_code::none);
  ASSERT_TRUE(resp.topics[0].configs.has_value());
  std::map<std::string, std::pair<std::string, std::int8_t>> got;
  for (const auto& c : *resp.topics[0].configs) got[c.name] = {c.value.value_or(""), c.config_source};
  EXPECT_EQ(got.at("retention.ms"), std::make_pair(std::string("60000"), config_source::dynamic_default_broker));
  EXPECT_EQ(got.at("retention.bytes"), std::make_pair(std::string("8192"), config_source::dynamic_topic));
  EXPECT_EQ(got.at("segment.ms"), std::make_pair(std::string("604800000"), config_source::default_config));
}

TEST_F(kafka_config_handlers_test, create_topics_refuses_bad_configs_with_invalid_config) {
  auto resp = create({creatable("good", {{"retention.ms", "1000"}}), creatable("bad", {{"retention.ms", "abc"}}),
                      creatable("compact", {{"cleanup.policy", "compact,shred"}})});
  ASSERT_EQ(resp.topics.size(), 3u);
  EXPECT_EQ(resp.topics[0].error, error_code::none);
  EXPECT_EQ(resp.topics[1].error, error_code::invalid_config);
  EXPECT_NE(resp.topics[1].error_message.value_or("").find("retention.ms"), std::string::npos);
  EXPECT_EQ(resp.topics[2].error, error_code::invalid_config);
  EXPECT_EQ(ctx_.created, std::vector<std::string>{"good"});
}

}  // namespace
}  // namespace chronik::kafka
