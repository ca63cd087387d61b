// The consumer group handlers through the dispatcher, with a fake broker context over a real
// group_coordinator that leads partition 0 of a three-partition offsets topic (brokers 2 and 3 lead
// the others): FindCoordinator agrees with the placement, a consumer's whole life (KIP-394
// join, sync, heartbeat, commit, fetch, leave) in classic and flexible versions, deferred JoinGroup
// answers, NOT_COORDINATOR on the wrong broker, COORDINATOR_NOT_AVAILABLE without a coordinator,
// unknown topics in OffsetCommit, and static members (KIP-345) with LeaveGroup v3's batch.
#include <cstdlib>
#include <limits>
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
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/describe_cluster.h"
#include "kafka/protocol/messages/describe_groups.h"
#include "kafka/protocol/messages/find_coordinator.h"
#include "kafka/protocol/messages/heartbeat.h"
#include "kafka/protocol/messages/join_group.h"
#include "kafka/protocol/messages/leave_group.h"
#include "kafka/protocol/messages/list_groups.h"
#include "kafka/protocol/messages/offset_commit.h"
#include "kafka/protocol/messages/offset_fetch.h"
#include "kafka/protocol/messages/sync_group.h"
#include "tests/unit/group_test_util.h"

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
  std::optional<std::string> cluster_id() const override { return "c"; }
  chronik::node_id controller_id() const override { return chronik::node_id{1}; }
  std::vector<broker_info> brokers() const override {
    return {{chronik::node_id{1}, "127.0.0.1", 9092, std::nullopt}, {chronik::node_id{2}, "127.0.0.2", 9093, std::nullopt},
            {chronik::node_id{3}, "127.0.0.3", 9094, std::nullopt}};
  }
  std::vector<topic_info> topics() const override { return {*topic("t")}; }
  std::optional<topic_info> topic(std::string_view name) const override {
    if (name != "t") return std::nullopt;
    topic_info t;
    t.name = "t";
    t.partitions = {{0, n(1), 1, ns({1}), ns({1}), {}}, {1, n(1), 1, ns({1}), ns({1}), {}}};
    return t;
  }
  broker_defaults defaults() const override { return {}; }
  void create_topics(std::vector<topic_request>, bool, std::chrono::milliseconds, topics_done) override {}
  void delete_topics(std::vector<std::string>, std::chrono::milliseconds, topics_done) override {}
  partition_manager& partitions() override { std::abort(); }  // not used by the group APIs
  group_coordinator* groups() override { return with_coordinator ? &coordinator : nullptr; }
  // Broker b leads offsets partition b - 1.
  std::optional<broker_info> coordinator_for(std::string_view group) override {
    const auto p = offsets_partition_for(group, 3);
    return brokers()[static_cast<std::size_t>(p)];
  }

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

// A group id whose offsets partition `broker` of {1, 2, 3} leads.
std::string group_on(std::int32_t broker) {
  for (int i = 0;; ++i) {
    std::string g = "group-" + std::to_string(i);
    if (offsets_partition_for(g, 3) == broker - 1) return g;
  }
}

class kafka_group_handlers_test : public ::testing::Test {
 protected:
  // Sends one request; the reply slot fills when the handler answers (maybe later).
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
  join_group_response join(const std::string& group, const std::string& member, std::int16_t v) {
    auto r = send(api_key::join_group, v, [&](writer& w) {
      join_group_request req{group, 10'000, 30'000, member, std::nullopt, "consumer", {{"range", "sub"}}};
      encode_join_group_request(req, v, w);
    });
    return decode(*r, api_key::join_group, v, decode_join_group_response);
  }

  fake_context ctx_;
  dispatcher dispatcher_{ctx_, std::make_shared<spdlog::logger>("k", std::make_shared<spdlog::sinks::null_sink_mt>())};
};

TEST_F(kafka_group_handlers_test, find_coordinator_agrees_with_the_placement_in_every_version) {
  const std::string on2 = group_on(2);
  for (std::int16_t v = 0; v <= 3; ++v) {
    auto r = send(api_key::find_coordinator, v, [&](writer& w) { encode_find_coordinator_request({on2}, v, w); });
    auto resp = decode(*r, api_key::find_coordinator, v, decode_find_coordinator_response);
    EXPECT_EQ(resp.error, error_code::none);
    EXPECT_EQ(resp.node_id, 2);
    EXPECT_EQ(resp.host, "127.0.0.2");
    EXPECT_EQ(resp.port, 9093);
  }
  auto r = send(api_key::find_coordinator, 4, [&](writer& w) {
    encode_find_coordinator_request({"", coordinator_key_group, {on2, group_on(3)}}, 4, w);
  });
  auto resp = decode(*r, api_key::find_coordinator, 4, decode_find_coordinator_response);
  ASSERT_EQ(resp.coordinators.size(), 2u);
  EXPECT_EQ(resp.coordinators[0].node_id, 2);
  EXPECT_EQ(resp.coordinators[1].node_id, 3);
  auto txn = send(api_key::find_coordinator, 1, [&](writer& w) {
    encode_find_coordinator_request({"tx", coordinator_key_transaction, {}}, 1, w);
  });
  EXPECT_EQ(decode(*txn, api_key::find_coordinator, 1, decode_find_coordinator_response).error,
            error_code::coordinator_not_available);
}

TEST_F(kafka_group_handlers_test, a_consumer_lifecycle_in_classic_and_flexible_versions) {
  const std::string g = group_on(1);
  for (const std::int16_t flexible : {0, 1}) {
    const std::int16_t join_v = flexible ? 7 : 5, sync_v = flexible ? 5 : 3, hb_v = flexible ? 4 : 3;
    const std::int16_t commit_v = flexible ? 8 : 7, fetch_v = flexible ? 7 : 5, leave_v = flexible ? 4 : 3;
    auto first = join(g, "", join_v);
    ASSERT_EQ(first.error, error_code::member_id_required);
    const std::string id = first.member_id;
    EXPECT_TRUE(id.starts_with("cli-"));
    auto joined = join(g, id, join_v);
    ASSERT_EQ(joined.error, error_code::none);
    EXPECT_EQ(joined.leader, id);
    EXPECT_EQ(joined.protocol_name, "range");
    ASSERT_EQ(joined.members.size(), 1u);
    if (flexible) {
      EXPECT_EQ(joined.protocol_type, "consumer");
    }
    const std::int32_t gen = joined.generation_id;

    auto s = send(api_key::sync_group, sync_v, [&](writer& w) {
      encode_sync_group_request({g, gen, id, std::nullopt, std::nullopt, std::nullopt, {{id, "A"}}}, sync_v, w);
    });
    auto synced = decode(*s, api_key::sync_group, sync_v, decode_sync_group_response);
    EXPECT_EQ(synced.error, error_code::none);
    EXPECT_EQ(synced.assignment, "A");

    auto hb = send(api_key::heartbeat, hb_v, [&](writer& w) { encode_heartbeat_request({g, gen, id, {}}, hb_v, w); });
    EXPECT_EQ(decode(*hb, api_key::heartbeat, hb_v, decode_heartbeat_response).error, error_code::none);
    auto stale = send(api_key::heartbeat, hb_v,
                      [&](writer& w) { encode_heartbeat_request({g, gen + 5, id, {}}, hb_v, w); });
    EXPECT_EQ(decode(*stale, api_key::heartbeat, hb_v, decode_heartbeat_response).error,
              error_code::illegal_generation);

    auto c = send(api_key::offset_commit, commit_v, [&](writer& w) {
      offset_commit_request req{g, gen, id, std::nullopt, -1, {{"t", {{0, 42, 5, -1, "m"}, {9, 1, -1, -1, {}}}}}};
      encode_offset_commit_request(req, commit_v, w);
    });
    auto committed = decode(*c, api_key::offset_commit, commit_v, decode_offset_commit_response);
    ASSERT_EQ(committed.topics.size(), 1u);
    EXPECT_EQ(committed.topics[0].partitions[0].error, error_code::none);
    EXPECT_EQ(committed.topics[0].partitions[1].error, error_code::unknown_topic_or_partition);

    auto f = send(api_key::offset_fetch, fetch_v, [&](writer& w) {
      encode_offset_fetch_request({g, std::vector<offset_fetch_topic>{{"t", {0, 1}}}, false}, fetch_v, w);
    });
    auto fetched = decode(*f, api_key::offset_fetch, fetch_v, decode_offset_fetch_response);
    EXPECT_EQ(fetched.error, error_code::none);
    ASSERT_EQ(fetched.topics.size(), 1u);
    ASSERT_EQ(fetched.topics[0].partitions.size(), 2u);
    EXPECT_EQ(fetched.topics[0].partitions[0].committed_offset, 42);
    EXPECT_EQ(fetched.topics[0].partitions[0].committed_leader_epoch, 5);
    EXPECT_EQ(fetched.topics[0].partitions[0].metadata, "m");
    EXPECT_EQ(fetched.topics[0].partitions[1].committed_offset, -1);

    auto all = send(api_key::offset_fetch, fetch_v, [&](writer& w) {
      encode_offset_fetch_request({g, std::nullopt, false}, fetch_v, w);
    });
    auto everything = decode(*all, api_key::offset_fetch, fetch_v, decode_offset_fetch_response);
    ASSERT_EQ(everything.topics.size(), 1u);
    EXPECT_EQ(everything.topics[0].partitions.size(), 1u);

    auto l = send(api_key::leave_group, leave_v, [&](writer& w) {
      encode_leave_group_request({g, "", {{id, std::nullopt}, {"ghost", std::nullopt}}}, leave_v, w);
    });
    auto left = decode(*l, api_key::leave_group, leave_v, decode_leave_group_response);
    ASSERT_EQ(left.members.size(), 2u);
    EXPECT_EQ(left.members[0].error, error_code::none);
    EXPECT_EQ(left.members[1].error, error_code::unknown_member_id);
    EXPECT_EQ(ctx_.coordinator.describe(g)->state, group_state::empty);
  }
}

TEST_F(kafka_group_handlers_test, a_rebalancing_join_is_answered_when_the_group_completes) {
  const std::string g = group_on(1);
  auto a = join(g, "", 3);  // v3: no KIP-394 round trip
  ASSERT_EQ(a.error, error_code::none);
  auto s = send(api_key::sync_group, 2, [&](writer& w) {
    encode_sync_group_request({g, a.generation_id, a.member_id, {}, {}, {}, {{a.member_id, "A"}}}, 2, w);
  });
  ASSERT_TRUE(s->has_value());
  auto b = send(api_key::join_group, 3, [&](writer& w) {
    encode_join_group_request({g, 10'000, 30'000, "", std::nullopt, "consumer", {{"range", "sub"}}}, 3, w);
  });
  EXPECT_FALSE(b->has_value());  // waits for a to rejoin
  auto hb = send(api_key::heartbeat, 2, [&](writer& w) {
    encode_heartbeat_request({g, a.generation_id, a.member_id, {}}, 2, w);
  });
  EXPECT_EQ(decode(*hb, api_key::heartbeat, 2, decode_heartbeat_response).error, error_code::rebalance_in_progress);
  auto again = join(g, a.member_id, 3);
  EXPECT_EQ(again.generation_id, a.generation_id + 1);
  ASSERT_TRUE(b->has_value());
  auto joined_b = decode(*b, api_key::join_group, 3, decode_join_group_response);
  EXPECT_EQ(joined_b.error, error_code::none);
  EXPECT_EQ(joined_b.leader, a.member_id);
  EXPECT_TRUE(joined_b.members.empty());
}

TEST_F(kafka_group_handlers_test, the_wrong_broker_answers_not_coordinator) {
  const std::string g = group_on(3);
  EXPECT_EQ(join(g, "", 5).error, error_code::not_coordinator);
  auto hb = send(api_key::heartbeat, 0, [&](writer& w) { encode_heartbeat_request({g, 1, "m", {}}, 0, w); });
  EXPECT_EQ(decode(*hb, api_key::heartbeat, 0, decode_heartbeat_response).error, error_code::not_coordinator);
  auto f2 = send(api_key::offset_fetch, 2, [&](writer& w) {
    encode_offset_fetch_request({g, std::vector<offset_fetch_topic>{{"t", {0}}}, false}, 2, w);
  });
  EXPECT_EQ(decode(*f2, api_key::offset_fetch, 2, decode_offset_fetch_response).error, error_code::not_coordinator);
  auto f1 = send(api_key::offset_fetch, 1, [&](writer& w) {
    encode_offset_fetch_request({g, std::vector<offset_fetch_topic>{{"t", {0}}}, false}, 1, w);
  });
  auto v1 = decode(*f1, api_key::offset_fetch, 1, decode_offset_fetch_response);
  ASSERT_EQ(v1.topics.size(), 1u);
  EXPECT_EQ(v1.topics[0].partitions[0].error, error_code::not_coordinator);
  auto c = send(api_key::offset_commit, 2, [&](writer& w) {
    encode_offset_commit_request({g, -1, "", {}, -1, {{"t", {{0, 1, -1, -1, {}}}}}}, 2, w);
  });
  EXPECT_EQ(decode(*c, api_key::offset_commit, 2, decode_offset_commit_response).topics[0].partitions[0].error,
            error_code::not_coordinator);
  EXPECT_TRUE(ctx_.coordinator.group_ids().empty());
}

TEST_F(kafka_group_handlers_test, without_a_coordinator_and_with_bad_group_ids) {
  ctx_.with_coordinator = false;
  EXPECT_EQ(join(group_on(1), "", 4).error, error_code::coordinator_not_available);
  ctx_.with_coordinator = true;
  EXPECT_EQ(join("", "", 4).error, error_code::invalid_group_id);
  auto hb = send(api_key::heartbeat, 1, [&](writer& w) { encode_heartbeat_request({"", 1, "m", {}}, 1, w); });
  EXPECT_EQ(decode(*hb, api_key::heartbeat, 1, decode_heartbeat_response).error, error_code::invalid_group_id);
  // A truncated body closes the connection, as for every API.
  auto bad = send(api_key::join_group, 2, [](writer& w) { w.write_int16(3); });
  ASSERT_TRUE(bad->has_value());
  EXPECT_EQ((*bad)->what, handler_reply::kind::close);
}

// ListGroups lists the groups this broker coordinates, with their state from v4 and a state filter
// compared without case (KIP-518), and from v5 their type, "classic", and a type filter (KIP-848,
// as Kafka 4's Admin.listGroups sends it); DescribeGroups shows members, and the protocol, metadata and
// assignments once the group is Stable; an unknown group is Dead with no members.
TEST_F(kafka_group_handlers_test, list_and_describe_groups_show_members_and_states) {
  const std::string g = group_on(1);
  const std::string other = group_on(2);
  auto first = join(g, "", 4);  // KIP-394: the first join answers member_id_required
  ASSERT_EQ(first.error, error_code::member_id_required);
  const std::string id = first.member_id;
  auto joined = join(g, id, 4);
  ASSERT_EQ(joined.error, error_code::none);

  // CompletingRebalance until the leader's SyncGroup: no protocol data or assignments yet.
  auto d = send(api_key::describe_groups, 4, [&](writer& w) {
    encode_describe_groups_request({{g, other, "never-joined", ""}, true}, 4, w);
  });
  auto described = decode(*d, api_key::describe_groups, 4, decode_describe_groups_response);
  ASSERT_EQ(described.groups.size(), 4u);
  EXPECT_EQ(described.groups[0].error, error_code::none);
  EXPECT_EQ(described.groups[0].group_state, "CompletingRebalance");
  EXPECT_EQ(described.groups[0].protocol_type, "consumer");
  EXPECT_EQ(described.groups[0].protocol_data, "");
  ASSERT_EQ(described.groups[0].members.size(), 1u);
  EXPECT_EQ(described.groups[0].members[0].member_id, id);
  EXPECT_EQ(described.groups[0].members[0].client_id, "cli");
  EXPECT_EQ(described.groups[0].members[0].client_host, "/127.0.0.9");
  EXPECT_EQ(described.groups[0].members[0].member_metadata, "");
  EXPECT_EQ(described.groups[1].error, error_code::not_coordinator);
  EXPECT_EQ(described.groups[2].group_state, "Dead");
  EXPECT_TRUE(described.groups[2].members.empty());
  EXPECT_EQ(described.groups[3].error, error_code::invalid_group_id);

  auto s = send(api_key::sync_group, 3, [&](writer& w) {
    encode_sync_group_request({g, joined.generation_id, id, std::nullopt, std::nullopt, std::nullopt, {{id, "A"}}}, 3, w);
  });
  ASSERT_EQ(decode(*s, api_key::sync_group, 3, decode_sync_group_response).error, error_code::none);
  for (std::int16_t v = 0; v <= 5; ++v) {
    auto again = send(api_key::describe_groups, v, [&](writer& w) { encode_describe_groups_request({{g}, false}, v, w); });
    auto stable = decode(*again, api_key::describe_groups, v, decode_describe_groups_response);
    ASSERT_EQ(stable.groups.size(), 1u) << "v" << v;
    EXPECT_EQ(stable.groups[0].group_state, "Stable") << "v" << v;
    EXPECT_EQ(stable.groups[0].protocol_data, "range") << "v" << v;
    ASSERT_EQ(stable.groups[0].members.size(), 1u) << "v" << v;
    EXPECT_EQ(stable.groups[0].members[0].member_metadata, "sub") << "v" << v;
    EXPECT_EQ(stable.groups[0].members[0].member_assignment, "A") << "v" << v;
  }

  for (std::int16_t v = 0; v <= 5; ++v) {
    auto l = send(api_key::list_groups, v, [&](writer& w) { encode_list_groups_request({}, v, w); });
    auto listed = decode(*l, api_key::list_groups, v, decode_list_groups_response);
    EXPECT_EQ(listed.error, error_code::none);
    ASSERT_EQ(listed.groups.size(), 1u) << "v" << v;
    EXPECT_EQ(listed.groups[0].group_id, g);
    EXPECT_EQ(listed.groups[0].protocol_type, "consumer");
    EXPECT_EQ(listed.groups[0].group_state, v >= 4 ? "Stable" : "") << "v" << v;
    EXPECT_EQ(listed.groups[0].group_type, v >= 5 ? "classic" : "") << "v" << v;
  }
  auto filtered = [&](std::vector<std::string> states, std::vector<std::string> types) {
    auto l = send(api_key::list_groups, 5,
                  [&](writer& w) { encode_list_groups_request({std::move(states), std::move(types)}, 5, w); });
    return decode(*l, api_key::list_groups, 5, decode_list_groups_response).groups.size();
  };
  EXPECT_EQ(filtered({"stable"}, {}), 1u);
  EXPECT_EQ(filtered({"Empty", "Dead"}, {}), 0u);
  EXPECT_EQ(filtered({}, {"Classic"}), 1u);
  EXPECT_EQ(filtered({}, {"consumer"}), 0u);  // KIP-848 groups: chronik has none
  EXPECT_EQ(filtered({}, {"share", "CLASSIC"}), 1u);
  EXPECT_EQ(filtered({"Empty"}, {"classic"}), 0u);

  ctx_.with_coordinator = false;
  auto none = send(api_key::list_groups, 3, [&](writer& w) { encode_list_groups_request({}, 3, w); });
  EXPECT_EQ(decode(*none, api_key::list_groups, 3, decode_list_groups_response).error,
            error_code::coordinator_not_available);
}

TEST_F(kafka_group_handlers_test, describe_cluster_reports_the_brokers_and_the_controller) {
  auto r = send(api_key::describe_cluster, 0, [&](writer& w) { encode_describe_cluster_request({true}, 0, w); });
  auto cluster = decode(*r, api_key::describe_cluster, 0, decode_describe_cluster_response);
  EXPECT_EQ(cluster.error, error_code::none);
  EXPECT_EQ(cluster.cluster_id, "c");
  EXPECT_EQ(cluster.controller_id, 1);
  ASSERT_EQ(cluster.brokers.size(), 3u);
  EXPECT_EQ(cluster.brokers[1].broker_id, 2);
  EXPECT_EQ(cluster.brokers[1].host, "127.0.0.2");
  EXPECT_EQ(cluster.brokers[1].port, 9093);
  EXPECT_EQ(cluster.cluster_authorized_operations, std::numeric_limits<std::int32_t>::min());

  // v1 asks for brokers or controllers (every node is both); anything else is refused.
  for (const std::int8_t type : {1, 2}) {
    auto ok = send(api_key::describe_cluster, 2, [&](writer& w) { encode_describe_cluster_request({false, type, true}, 2, w); });
    auto answer = decode(*ok, api_key::describe_cluster, 2, decode_describe_cluster_response);
    EXPECT_EQ(answer.error, error_code::none);
    EXPECT_EQ(answer.endpoint_type, type);
    EXPECT_EQ(answer.brokers.size(), 3u);
  }
  auto bad = send(api_key::describe_cluster, 1, [&](writer& w) { encode_describe_cluster_request({false, 3}, 1, w); });
  auto refused = decode(*bad, api_key::describe_cluster, 1, decode_describe_cluster_response);
  EXPECT_EQ(refused.error, error_code::unsupported_endpoint_type);
  EXPECT_TRUE(refused.brokers.empty());
}

// KIP-345 through the wire: static members join without MEMBER_ID_REQUIRED (JoinGroup v5), a
// restarted instance takes its place without a rebalance, the old id is fenced (Heartbeat v3,
// OffsetCommit v7), DescribeGroups v4 shows the instance ids, and one LeaveGroup v3 batch answers
// each member: fenced, removed by instance id alone, unknown instance, removed by member id.
TEST_F(kafka_group_handlers_test, static_members_restart_are_fenced_and_leave_in_one_batch) {
  const std::string g = group_on(1);
  auto join_static = [&](const std::string& member, const std::string& instance) {
    auto r = send(api_key::join_group, 5, [&](writer& w) {
      join_group_request req{g, 10'000, 30'000, member, instance, "consumer", {{"range", "sub"}}};
      encode_join_group_request(req, 5, w);
    });
    return decode(*r, api_key::join_group, 5, decode_join_group_response);
  };
  auto heartbeat = [&](std::int32_t gen, const std::string& member, const std::string& instance) {
    auto r = send(api_key::heartbeat, 3, [&](writer& w) { encode_heartbeat_request({g, gen, member, instance}, 3, w); });
    return decode(*r, api_key::heartbeat, 3, decode_heartbeat_response).error;
  };
  auto first = join_static("", "i1");
  ASSERT_EQ(first.error, error_code::none);  // no MEMBER_ID_REQUIRED round trip for static members
  EXPECT_TRUE(first.member_id.starts_with("i1-"));
  ASSERT_EQ(first.members.size(), 1u);
  EXPECT_EQ(first.members[0].group_instance_id, "i1");
  const std::string id1 = first.member_id;
  auto s = send(api_key::sync_group, 3, [&](writer& w) {
    encode_sync_group_request({g, first.generation_id, id1, "i1", std::nullopt, std::nullopt, {{id1, "A"}}}, 3, w);
  });
  ASSERT_EQ(decode(*s, api_key::sync_group, 3, decode_sync_group_response).error, error_code::none);

  auto restarted = join_static("", "i1");
  ASSERT_EQ(restarted.error, error_code::none);
  EXPECT_EQ(restarted.generation_id, first.generation_id);  // no rebalance
  EXPECT_EQ(restarted.leader, id1);
  const std::string id1b = restarted.member_id;
  EXPECT_NE(id1b, id1);
  EXPECT_EQ(heartbeat(first.generation_id, id1, "i1"), error_code::fenced_instance_id);
  EXPECT_EQ(heartbeat(first.generation_id, id1b, "i1"), error_code::none);
  auto c = send(api_key::offset_commit, 7, [&](writer& w) {
    encode_offset_commit_request({g, first.generation_id, id1, "i1", -1, {{"t", {{0, 1, -1, -1, {}}}}}}, 7, w);
  });
  EXPECT_EQ(decode(*c, api_key::offset_commit, 7, decode_offset_commit_response).topics.at(0).partitions.at(0).error,
            error_code::fenced_instance_id);

  auto d = send(api_key::describe_groups, 4, [&](writer& w) { encode_describe_groups_request({{g}, false}, 4, w); });
  auto described = decode(*d, api_key::describe_groups, 4, decode_describe_groups_response);
  ASSERT_EQ(described.groups.at(0).members.size(), 1u);
  EXPECT_EQ(described.groups[0].members[0].member_id, id1b);
  EXPECT_EQ(described.groups[0].members[0].group_instance_id, "i1");

  // A dynamic member too, so the batch can also remove by member id.
  auto dyn = join(g, "", 5);
  auto dyn_joined = send(api_key::join_group, 5, [&](writer& w) {
    encode_join_group_request({g, 10'000, 30'000, dyn.member_id, std::nullopt, "consumer", {{"range", "sub"}}}, 5, w);
  });
  EXPECT_FALSE(dyn_joined->has_value());  // a rebalance: it waits for i1 to rejoin
  {
    const std::int16_t leave_v = 3;
    auto l = send(api_key::leave_group, leave_v, [&](writer& w) {
      encode_leave_group_request(
          {g, "", {{id1, "i1"}, {"", "i1"}, {"", "nobody"}, {dyn.member_id, std::nullopt}}}, leave_v, w);
    });
    auto left = decode(*l, api_key::leave_group, leave_v, decode_leave_group_response);
    EXPECT_EQ(left.error, error_code::none);
    ASSERT_EQ(left.members.size(), 4u);
    EXPECT_EQ(left.members[0].error, error_code::fenced_instance_id);
    EXPECT_EQ(left.members[0].group_instance_id, "i1");
    EXPECT_EQ(left.members[1].error, error_code::none);
    EXPECT_EQ(left.members[2].error, error_code::unknown_member_id);
    EXPECT_EQ(left.members[3].error, error_code::none);
  }
  // i1's removal completed the rebalance the dynamic member waited for.
  EXPECT_EQ(decode(*dyn_joined, api_key::join_group, 5, decode_join_group_response).error, error_code::none);
  EXPECT_TRUE(ctx_.coordinator.describe(g)->member_ids.empty());
}

}  // namespace
}  // namespace chronik::kafka
