// CreateAcls, DescribeAcls and DeleteAcls, and the handlers' enforcement (kafka/handlers/
// authorization.h), through the dispatcher with a fake broker context whose ACL changes apply to its
// authorizer as `__meta` would: a client refused by an ACL is allowed after CreateAcls; ALTER and
// DESCRIBE on the cluster guard the ACL APIs; Metadata hides or refuses topics it may not describe;
// with no ACLs and an unauthenticated listener, everything is allowed as before.
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "kafka/handlers/dispatcher.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/create_acls.h"
#include "kafka/protocol/messages/create_topics.h"
#include "kafka/protocol/messages/delete_acls.h"
#include "kafka/protocol/messages/delete_topics.h"
#include "kafka/protocol/messages/describe_acls.h"
#include "kafka/protocol/messages/metadata.h"
#include "kafka/protocol/messages/produce.h"

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
    for (const auto& name : topics_) out.push_back(*topic(name));
    return out;
  }
  std::optional<topic_info> topic(std::string_view name) const override {
    if (!topics_.contains(std::string(name))) return std::nullopt;
    topic_info t;
    t.name = std::string(name);
    t.partitions.push_back({0, chronik::node_id{1}, 1, {chronik::node_id{1}}, {chronik::node_id{1}}, {}});
    return t;
  }
  broker_defaults defaults() const override { return {}; }
  void create_topics(std::vector<topic_request> topics, bool, std::chrono::milliseconds, topics_done done) override {
    std::vector<topic_result> out;
    for (auto& t : topics) {
      topics_.insert(t.name);
      out.push_back({t.name, topic_outcome::done, {}});
    }
    done(std::move(out));
  }
  void delete_topics(std::vector<std::string> names, std::chrono::milliseconds, topics_done done) override {
    std::vector<topic_result> out;
    for (auto& n : names) {
      out.push_back({n, topics_.erase(n) ? topic_outcome::done : topic_outcome::unknown_topic, {}});
    }
    done(std::move(out));
  }
  partition_manager& partitions() override { std::abort(); }  // not reached by these requests

  const acl::authorizer& authorizer() const override { return auth; }
  void create_acls(std::vector<acl::binding> bindings, std::chrono::milliseconds, acls_done done) override {
    ++changes;
    std::vector<acl::binding> all(auth.bindings().begin(), auth.bindings().end());
    all.insert(all.end(), bindings.begin(), bindings.end());
    auth.set_bindings(all);
    done(acl_outcome::done, {});
  }
  void delete_acls(std::vector<acl::binding> bindings, std::chrono::milliseconds, acls_done done) override {
    ++changes;
    std::set<acl::binding> all = auth.bindings();
    for (const auto& b : bindings) all.erase(b);
    auth.set_bindings({all.begin(), all.end()});
    done(acl_outcome::done, {});
  }

  acl::authorizer auth{acl::authorizer_config{{"User:admin"}, acl::no_acl_rule::allow_unauthenticated}};
  std::set<std::string> topics_{"orders", "payments"};
  int changes = 0;
};

client_info user(std::string name) {
  client_info c;
  c.peer = "10.1.2.3:5555";
  c.connection_id = 1;
  c.listener = "SASL_PLAINTEXT";
  c.protocol = security_protocol::sasl_plaintext;
  c.principal = "User:" + std::move(name);
  return c;
}

client_info anonymous() {
  client_info c;
  c.peer = "10.1.2.3:5555";
  c.connection_id = 2;
  c.listener = "PLAINTEXT";
  return c;
}

class kafka_acl_handlers_test : public ::testing::Test {
 protected:
  template <typename Encode, typename Decode>
  auto call(const client_info& who, api_key key, std::int16_t version, Encode encode, Decode decode) {
    writer w;
    encode_request_header({key, version, 7, std::string("cli")}, w);
    encode(w);
    std::optional<handler_reply> reply;
    dispatcher_.handle(who, w.take(), [&](handler_reply r) { reply = std::move(r); });
    EXPECT_TRUE(reply.has_value());
    EXPECT_EQ(reply->what, handler_reply::kind::respond) << reply->why;
    const std::string whole = reply->prefix + reply->frame.flatten();
    reader rd(whole);
    EXPECT_TRUE(decode_response_header(rd, key, version).has_value());
    auto m = decode(rd, version);
    EXPECT_TRUE(m.has_value());
    return *m;
  }

  create_acls_response create(const client_info& who, std::vector<acl_creation> creations, std::int16_t v = 3) {
    create_acls_request req{std::move(creations)};
    return call(who, api_key::create_acls, v, [&](writer& w) { encode_create_acls_request(req, v, w); },
                decode_create_acls_response);
  }

  describe_acls_response list(const client_info& who, describe_acls_request req = {1, std::nullopt, 1, std::nullopt,
                                                                                     std::nullopt, 1, 1},
                              std::int16_t v = 3) {
    return call(who, api_key::describe_acls, v, [&](writer& w) { encode_describe_acls_request(req, v, w); },
                decode_describe_acls_response);
  }

  delete_acls_response remove(const client_info& who, std::vector<delete_acls_filter> filters, std::int16_t v = 3) {
    delete_acls_request req{std::move(filters)};
    return call(who, api_key::delete_acls, v, [&](writer& w) { encode_delete_acls_request(req, v, w); },
                decode_delete_acls_response);
  }

  metadata_response metadata(const client_info& who, std::optional<std::vector<std::string>> names,
                             bool auto_create = false) {
    metadata_request req;
    if (names) {
      req.topics.emplace();
      for (auto& n : *names) req.topics->push_back({uuid{}, n});
    }
    req.allow_auto_topic_creation = auto_create;
    return call(who, api_key::metadata, 12, [&](writer& w) { encode_metadata_request(req, 12, w); },
                decode_metadata_response);
  }

  static acl_creation allow_read(std::string topic, std::string principal) {
    return {2, std::move(topic), 3, std::move(principal), "*", 3, 3};
  }

  std::shared_ptr<spdlog::logger> log_ = std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>());
  fake_context ctx_;
  dispatcher dispatcher_{ctx_, log_};
};

TEST_F(kafka_acl_handlers_test, WithoutAclsAnUnauthenticatedListenerIsAllowedEverything) {
  auto m = metadata(anonymous(), std::nullopt);
  EXPECT_EQ(m.topics.size(), 2u);
  auto d = list(anonymous());
  EXPECT_EQ(d.error, error_code::none);
  EXPECT_TRUE(d.resources.empty());
  auto c = create(anonymous(), {allow_read("orders", "User:alice")});
  ASSERT_EQ(c.results.size(), 1u);
  EXPECT_EQ(c.results[0].error, error_code::none);
}

TEST_F(kafka_acl_handlers_test, AnAuthenticatedUserIsDeniedByDefaultAndAllowedAfterCreateAcls) {
  // alice (SASL) with no ACL: the topic is refused, the ACL APIs too.
  auto m = metadata(user("alice"), std::vector<std::string>{"orders"});
  ASSERT_EQ(m.topics.size(), 1u);
  EXPECT_EQ(m.topics[0].error, error_code::topic_authorization_failed);
  EXPECT_EQ(metadata(user("alice"), std::nullopt).topics.size(), 0u);  // listing hides it
  auto refused = create(user("alice"), {allow_read("orders", "User:alice")});
  EXPECT_EQ(refused.results.at(0).error, error_code::cluster_authorization_failed);
  EXPECT_EQ(list(user("alice")).error, error_code::cluster_authorization_failed);
  EXPECT_EQ(ctx_.changes, 0);

  // The super user grants READ on "orders" (READ implies DESCRIBE).
  auto c = create(user("admin"), {allow_read("orders", "User:alice")});
  EXPECT_EQ(c.results.at(0).error, error_code::none);
  m = metadata(user("alice"), std::vector<std::string>{"orders", "payments"});
  ASSERT_EQ(m.topics.size(), 2u);
  EXPECT_EQ(m.topics[0].error, error_code::none);
  EXPECT_EQ(m.topics[0].partitions.size(), 1u);
  EXPECT_EQ(m.topics[1].error, error_code::topic_authorization_failed);
  auto all = metadata(user("alice"), std::nullopt);
  ASSERT_EQ(all.topics.size(), 1u);
  EXPECT_EQ(all.topics[0].name, "orders");
  // "orders" has ACLs now: ANONYMOUS on the plaintext listener no longer sees it.
  auto anon = metadata(anonymous(), std::vector<std::string>{"orders", "payments"});
  EXPECT_EQ(anon.topics[0].error, error_code::topic_authorization_failed);
  EXPECT_EQ(anon.topics[1].error, error_code::none);
}

TEST_F(kafka_acl_handlers_test, CreateAclsAnswersEachCreationAndRefusesBadOnes) {
  auto c = create(user("admin"), {allow_read("orders", "User:alice"),
                                  {2, "orders", 3, "alice", "*", 3, 3},           // principal without type
                                  {1, "orders", 3, "User:bob", "*", 3, 3},        // resource type ANY
                                  {2, "orders", 2, "User:bob", "*", 3, 3},        // pattern MATCH
                                  {2, "orders", 3, "User:bob", "*", 1, 3},        // operation ANY
                                  {2, "orders", 3, "User:bob", "*", 3, 9},        // unknown permission
                                  {4, "kafka-cluster", 3, "User:ops", "*", 7, 3}});
  ASSERT_EQ(c.results.size(), 7u);
  EXPECT_EQ(c.results[0].error, error_code::none);
  for (std::size_t i = 1; i < 6; ++i) {
    EXPECT_EQ(c.results[i].error, error_code::invalid_request) << i;
    EXPECT_TRUE(c.results[i].error_message.has_value());
  }
  EXPECT_EQ(c.results[6].error, error_code::none);
  EXPECT_EQ(ctx_.auth.bindings().size(), 2u);
  EXPECT_EQ(ctx_.changes, 1);  // one record for every valid creation
}

TEST_F(kafka_acl_handlers_test, DescribeAclsFiltersAndGroupsByResource) {
  create(user("admin"), {allow_read("orders", "User:alice"), allow_read("orders", "User:bob"),
                         {2, "ord", 4, "User:carol", "*", 4, 3}, allow_read("payments", "User:alice")});
  auto all = list(user("admin"));
  ASSERT_EQ(all.resources.size(), 3u);  // ord (PREFIXED), orders, payments
  // MATCH on "orders": the literal bindings and the prefix "ord".
  auto match = list(user("admin"), {2, std::string("orders"), 2, std::nullopt, std::nullopt, 1, 1});
  ASSERT_EQ(match.resources.size(), 2u);
  std::size_t acls = 0;
  for (const auto& r : match.resources) acls += r.acls.size();
  EXPECT_EQ(acls, 3u);
  auto alice = list(user("admin"), {1, std::nullopt, 1, std::string("User:alice"), std::nullopt, 1, 1});
  EXPECT_EQ(alice.resources.size(), 2u);
  // v0 filters are LITERAL: the prefixed binding is not listed.
  auto v0 = list(user("admin"), {1, std::nullopt, 3, std::nullopt, std::nullopt, 1, 1}, 0);
  EXPECT_EQ(v0.resources.size(), 2u);
  // An UNKNOWN element is refused.
  EXPECT_EQ(list(user("admin"), {0, std::nullopt, 1, std::nullopt, std::nullopt, 1, 1}).error, error_code::invalid_request);
}

TEST_F(kafka_acl_handlers_test, DeleteAclsRemovesWhatEachFilterMatches) {
  create(user("admin"), {allow_read("orders", "User:alice"), allow_read("orders", "User:bob"),
                         allow_read("payments", "User:alice")});
  auto refused = remove(user("alice"), {{1, std::nullopt, 1, std::nullopt, std::nullopt, 1, 1}});
  EXPECT_EQ(refused.filter_results.at(0).error, error_code::cluster_authorization_failed);
  EXPECT_EQ(ctx_.auth.bindings().size(), 3u);

  auto r = remove(user("admin"), {{2, std::string("orders"), 3, std::string("User:alice"), std::nullopt, 1, 1},
                                  {2, std::string("payments"), 1, std::nullopt, std::nullopt, 1, 1},
                                  {0, std::nullopt, 1, std::nullopt, std::nullopt, 1, 1}});
  ASSERT_EQ(r.filter_results.size(), 3u);
  EXPECT_EQ(r.filter_results[0].error, error_code::none);
  ASSERT_EQ(r.filter_results[0].matching_acls.size(), 1u);
  EXPECT_EQ(r.filter_results[0].matching_acls[0].principal, "User:alice");
  EXPECT_EQ(r.filter_results[1].matching_acls.size(), 1u);
  EXPECT_EQ(r.filter_results[2].error, error_code::invalid_request);
  ASSERT_EQ(ctx_.auth.bindings().size(), 1u);
  EXPECT_EQ(ctx_.auth.bindings().begin()->principal, "User:bob");
}

TEST_F(kafka_acl_handlers_test, CreateTopicsNeedsCreateOnTheClusterOrTheTopic) {
  const auto create_topic = [&](const client_info& who, std::string name) {
    create_topics_request req;
    req.topics.push_back({std::move(name), 1, 1, {}, {}});
    auto resp = call(who, api_key::create_topics, 7, [&](writer& w) { encode_create_topics_request(req, 7, w); },
                     decode_create_topics_response);
    return resp.topics.at(0).error;
  };
  EXPECT_EQ(create_topic(user("alice"), "new1"), error_code::topic_authorization_failed);
  EXPECT_FALSE(ctx_.topics_.contains("new1"));
  create(user("admin"), {{2, "team-", 4, "User:alice", "*", 5, 3}});  // CREATE on prefix "team-"
  EXPECT_EQ(create_topic(user("alice"), "team-a"), error_code::none);
  EXPECT_EQ(create_topic(user("alice"), "other"), error_code::topic_authorization_failed);
  create(user("admin"), {{4, "kafka-cluster", 3, "User:alice", "*", 5, 3}});  // CREATE on the cluster
  EXPECT_EQ(create_topic(user("alice"), "other"), error_code::none);
}

TEST_F(kafka_acl_handlers_test, DeleteTopicsNeedsDelete) {
  const auto delete_topic = [&](const client_info& who, std::string name) {
    delete_topics_request req;
    req.topic_names.push_back(std::move(name));
    auto resp = call(who, api_key::delete_topics, 5, [&](writer& w) { encode_delete_topics_request(req, 5, w); },
                     decode_delete_topics_response);
    return resp.responses.at(0).error;
  };
  create(user("admin"), {{2, "orders", 3, "User:alice", "*", 4, 3}});  // WRITE does not imply DELETE
  EXPECT_EQ(delete_topic(user("alice"), "orders"), error_code::topic_authorization_failed);
  EXPECT_TRUE(ctx_.topics_.contains("orders"));
  create(user("admin"), {{2, "orders", 3, "User:alice", "*", 6, 3}});
  EXPECT_EQ(delete_topic(user("alice"), "orders"), error_code::none);
  EXPECT_FALSE(ctx_.topics_.contains("orders"));
}

TEST_F(kafka_acl_handlers_test, TransactionalProduceNeedsWriteOnTheTransactionalId) {
  create(user("admin"), {{2, "orders", 3, "User:alice", "*", 4, 3}});
  produce_request req;
  req.transactional_id = "tx-1";
  req.acks = -1;
  req.timeout_ms = 1000;
  req.topics.push_back({"orders", {{0, std::string()}}});
  auto resp = call(user("alice"), api_key::produce, 9, [&](writer& w) { encode_produce_request(req, 9, w); },
                   decode_produce_response);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].partitions.at(0).error, error_code::transactional_id_authorization_failed);
}

}  // namespace
}  // namespace chronik::kafka
