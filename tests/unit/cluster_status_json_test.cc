// The /v1/cluster body (daemon/cluster_status_json.h): every field the cluster and partition suites
// read (tests/cluster, tests/partition), built from plain copies without a running node.
#include "daemon/cluster_status_json.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "daemon/config.h"
#include "daemon/node_identity.h"
#include "daemon/node_meta.h"
#include "metadata/core/formation_codec.h"

namespace chronik::daemon {
namespace {

using namespace std::chrono_literals;

gossip::member_snapshot member_with(std::uint32_t id, gossip::member_state state, std::string meta) {
  gossip::member m;
  m.id = gossip::node_id{id};
  m.uuid = std::string(16, static_cast<char>(id));
  m.addr = "127.0.0.1:" + std::to_string(7945 + id);
  m.meta = std::move(meta);
  m.state = state;
  return {m, std::chrono::system_clock::time_point(1'700'000'000'000ms)};
}

cluster_view sample_view() {
  cluster_view v;
  v.status.cluster_id = "c0ffee";
  v.status.running = true;
  v.status.meta_leader = 2;
  v.status.term = 3;
  v.status.commit = 9;
  v.status.applied = 8;
  v.status.role = "follower";
  v.status.voters = {1, 2, 3};
  v.status.learners = {4};
  v.status.brokers = {{1, "u1", "127.0.0.1:9092", "127.0.0.1:9093", "alive"}};
  v.linearizable = true;
  v.state_hash = "0badf00d";
  v.formation.state = metadata::formation::kind::member;
  v.formation.cluster_id = "c0ffee";
  v.formation.voters = {{chronik::node_id{1}, "u1"}, {chronik::node_id{2}, "u2"}, {chronik::node_id{3}, "u3"}};
  v.load = nlohmann::json{{"ticks", {{"raft_max_late_ms", 4}, {"gossip_max_late_ms", 5}}}};
  v.partitions = 12;
  v.under_replicated_partitions = 2;
  return v;
}

TEST(cluster_status_json_test, carries_status_read_formation_nodes_and_load) {
  const auto v = sample_view();
  const auto j = cluster_status_json(v);
  EXPECT_EQ(j["cluster_id"], "c0ffee");
  EXPECT_EQ(j["meta_leader"], 2);
  EXPECT_EQ(j["term"], 3);
  EXPECT_EQ(j["commit"], 9);
  EXPECT_EQ(j["applied"], 8);
  EXPECT_EQ(j["role"], "follower");
  EXPECT_EQ(j["voters"], nlohmann::json::array({1, 2, 3}));
  EXPECT_EQ(j["learners"], nlohmann::json::array({4}));
  ASSERT_EQ(j["brokers"].size(), 1u);
  EXPECT_EQ(j["brokers"][0]["uuid"], "u1");
  EXPECT_EQ(j["read"], "linearizable");
  EXPECT_EQ(j["state_hash"], "0badf00d");
  EXPECT_EQ(j["formation"], metadata::encode_formation(v.formation));
  EXPECT_FALSE(j.contains("joining"));  // only while joining
  EXPECT_EQ(j["nodes"], nlohmann::json::array());
  EXPECT_EQ(j["load"]["ticks"]["raft_max_late_ms"], 4);
  EXPECT_EQ(j["load"]["ticks"]["gossip_max_late_ms"], 5);
  EXPECT_EQ(j["partitions"], 12);
  EXPECT_EQ(j["under_replicated_partitions"], 2);
}

TEST(cluster_status_json_test, local_read_joining_and_every_member_in_nodes) {
  auto v = sample_view();
  v.linearizable = false;
  v.joining = "beef";
  node_config cfg;
  cfg.node_id = gossip::node_id{5};
  auto uuid = node_uuid::random();
  ASSERT_TRUE(uuid);
  v.members = {member_with(5, gossip::member_state::alive, encode_fresh_node_meta(cfg, *uuid)),
               member_with(6, gossip::member_state::dead, "")};
  const auto j = cluster_status_json(v);
  EXPECT_EQ(j["read"], "local");
  EXPECT_EQ(j["joining"], "beef");
  ASSERT_EQ(j["nodes"].size(), 2u);
  EXPECT_EQ(j["nodes"][0]["node_id"], 5);
  EXPECT_EQ(j["nodes"][0]["state"], "alive");
  EXPECT_EQ(j["nodes"][0]["formation"], "fresh");
  EXPECT_EQ(j["nodes"][1]["node_id"], 6);
  EXPECT_EQ(j["nodes"][1]["state"], "dead");
  EXPECT_TRUE(j["nodes"][1]["formation"].is_null());  // its meta does not decode
}

// `__meta` marks a gracefully left broker dead like a crashed one; `cluster status` showed `dead`
// while `cluster members` showed `left`. Gossip's `left` under the registered uuid is shown.
TEST(cluster_status_json_test, a_broker_that_left_gracefully_shows_left) {
  node_config cfg;
  auto member_meta = [&cfg](std::uint32_t id, const node_uuid& uuid) {
    cfg.node_id = gossip::node_id{id};
    return encode_fresh_node_meta(cfg, uuid);
  };
  const auto u2 = node_uuid::random(), u3 = node_uuid::random(), u4 = node_uuid::random(),
             u5 = node_uuid::random(), other = node_uuid::random();
  ASSERT_TRUE(u2 && u3 && u4 && u5 && other);
  auto v = sample_view();
  v.status.brokers = {{2, u2->hex(), "127.0.0.2:9092", "127.0.0.2:9093", "dead"},
                      {3, u3->hex(), "127.0.0.3:9092", "127.0.0.3:9093", "dead"},
                      {4, u4->hex(), "127.0.0.4:9092", "127.0.0.4:9093", "dead"},
                      {5, u5->hex(), "127.0.0.5:9092", "127.0.0.5:9093", "alive"}};
  v.members = {member_with(2, gossip::member_state::left, member_meta(2, *u2)),      // left: shown left
               member_with(3, gossip::member_state::dead, member_meta(3, *u3)),      // crashed: dead
               member_with(4, gossip::member_state::left, member_meta(4, *other)),   // another uuid left
               member_with(5, gossip::member_state::left, member_meta(5, *u5))};     // `__meta` not caught up
  const auto j = cluster_status_json(v);
  ASSERT_EQ(j["brokers"].size(), 4u);
  EXPECT_EQ(j["brokers"][0]["state"], "left");
  EXPECT_EQ(j["brokers"][1]["state"], "dead");
  EXPECT_EQ(j["brokers"][2]["state"], "dead");
  EXPECT_EQ(j["brokers"][3]["state"], "alive");  // clients are still sent to it until `__meta` says dead
}

}  // namespace
}  // namespace chronik::daemon
