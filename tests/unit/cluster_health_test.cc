// `cluster health` (daemon/cluster_health.h) over /v1/cluster bodies: healthy, each rule that makes
// a cluster unhealthy, and the notes that do not; and the /v1/cluster fields it reads
// (daemon/cluster_status_json.h: partition problems, "waiting").
#include "daemon/cluster_health.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/cluster_status_json.h"

namespace chronik::daemon {
namespace {

nlohmann::json healthy_cluster() {
  auto brokers = nlohmann::json::array();
  auto nodes = nlohmann::json::array();
  for (int id = 1; id <= 3; ++id) {
    brokers.push_back({{"node_id", id}, {"state", "alive"}});
    nodes.push_back({{"node_id", id}, {"state", "alive"}, {"formation", "member"}, {"cluster_id", "c1"}});
  }
  return {{"cluster_id", "c1"},
          {"formation", "member c1 1:a,2:b,3:c"},
          {"read", "linearizable"},
          {"meta_leader", 1},
          {"voters", {1, 2, 3}},
          {"learners", nlohmann::json::array()},
          {"brokers", brokers},
          {"nodes", nodes},
          {"partitions", 6},
          {"under_replicated_partitions", 0},
          {"leaderless_partitions", 0},
          {"partition_problems", nlohmann::json::array()},
          {"fenced", nlohmann::json::array()}};
}

health_report assess(const nlohmann::json& c) {
  auto r = assess_cluster_health(c);
  EXPECT_TRUE(r.has_value()) << r.error();
  return r.value_or(health_report{});
}

TEST(cluster_health_test, a_formed_cluster_with_everything_up_is_healthy) {
  const auto r = assess(healthy_cluster());
  EXPECT_TRUE(r.healthy);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.summary, "healthy: 3 of 3 nodes alive, __meta leader 1, 6 partitions");
  EXPECT_EQ(format_health_report(r), "healthy: 3 of 3 nodes alive, __meta leader 1, 6 partitions\n");
  EXPECT_EQ(health_report_json(r)["healthy"], true);
}

TEST(cluster_health_test, a_dead_node_names_itself_and_the_voter_down) {
  auto c = healthy_cluster();
  c["nodes"][2]["state"] = "dead";
  c["brokers"][2]["state"] = "dead";
  const auto r = assess(c);
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.problems, (std::vector<std::string>{"__meta voter 3 down: the quorum holds with 2 of 3",
                                                  "node 3 is dead in gossip and dead in __meta"}));
  EXPECT_EQ(r.summary, "unhealthy (2 problems): 2 of 3 nodes alive, __meta leader 1, 6 partitions");
}

TEST(cluster_health_test, a_suspect_node_is_a_problem_before_meta_marks_it_dead) {
  auto c = healthy_cluster();
  c["voters"] = {1, 2};
  c["nodes"][2]["state"] = "suspect";
  const auto r = assess(c);
  EXPECT_EQ(r.problems, (std::vector<std::string>{"node 3 is suspect in gossip"}));
}

TEST(cluster_health_test, quorum_lost_and_no_leader) {
  auto c = healthy_cluster();
  c["meta_leader"] = 0;
  c["read"] = "local";
  for (int i : {1, 2}) {
    c["nodes"][i]["state"] = "dead";
    c["brokers"][i]["state"] = "dead";
  }
  const auto r = assess(c);
  ASSERT_GE(r.problems.size(), 3U);
  EXPECT_EQ(r.problems[0], "this node cannot reach a __meta leader: the status is its own last view (read local)");
  EXPECT_EQ(r.problems[1], "__meta has no leader");
  EXPECT_EQ(r.problems[2], "__meta quorum lost: 1 of 3 voters alive (voters 1,2,3, down 2,3)");
}

TEST(cluster_health_test, leaderless_and_under_replicated_partitions_are_named) {
  auto c = healthy_cluster();
  c["leaderless_partitions"] = 1;
  c["under_replicated_partitions"] = 7;
  c["partition_problems"] = {
      {{"topic", "t"}, {"partition", 0}, {"leader", 0}, {"replicas", {3}}, {"isr", nlohmann::json::array()},
       {"leaderless", true}, {"under_replicated", true}},
      {{"topic", "u"}, {"partition", 2}, {"leader", 1}, {"replicas", {1, 2, 3}}, {"isr", {1, 2}},
       {"leaderless", false}, {"under_replicated", true}}};
  const auto r = assess(c);
  EXPECT_EQ(r.problems, (std::vector<std::string>{
                            "1 leaderless partition: t:0 (replicas 3)",
                            "7 under-replicated partitions: t:0 (in sync none of 3) and u:2 (in sync 1,2 of 1,2,3), ..."}));
}

TEST(cluster_health_test, a_graceful_leave_and_a_drain_are_notes) {
  auto c = healthy_cluster();
  c["voters"] = {1, 2};
  c["nodes"][2]["state"] = "left";
  c["brokers"][2]["state"] = "left";
  c["brokers"][1]["state"] = "draining";
  const auto r = assess(c);
  EXPECT_TRUE(r.healthy) << format_health_report(r);
  EXPECT_EQ(r.notes, (std::vector<std::string>{
                         "node 2 is draining",
                         "node 3 left the cluster gracefully (still a registered broker; its replicas are offline)"}));
}

TEST(cluster_health_test, a_node_not_yet_a_member_or_fenced_is_a_problem) {
  auto c = healthy_cluster();
  c["nodes"].push_back({{"node_id", 4}, {"state", "alive"}, {"formation", "fresh"}, {"cluster_id", nullptr}});
  c["fenced"] = {2};
  const auto r = assess(c);
  EXPECT_EQ(r.problems, (std::vector<std::string>{
                            "__meta voter 2 down: the quorum holds with 2 of 3",
                            "node 2 is fenced: its WAL failed (docs/storage.md \"Disk faults\")",
                            "node 4 is alive but not a member of the cluster yet (fresh)"}));
}

TEST(cluster_health_test, a_node_still_forming_says_what_it_waits_for) {
  auto c = healthy_cluster();
  c["formation"] = "fresh";
  c["waiting"] = "sees 1 of 3 expected nodes: seeds a and b not reached yet";
  const auto r = assess(c);
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.problems, (std::vector<std::string>{
                            "this node is not a member of a cluster yet (fresh): sees 1 of 3 expected nodes: seeds a "
                            "and b not reached yet"}));
  EXPECT_EQ(r.summary, "unhealthy: the cluster has not formed");
}

TEST(cluster_health_test, a_node_not_ready_is_a_problem_and_one_not_asked_a_note) {
  using answer = node_readiness::answer;
  const std::vector<node_readiness> readiness{{1, answer::ready, ""},
                                              {2, answer::not_ready, "catching up: __meta has not reached the leader's commit index"},
                                              {3, answer::unknown, "its admin endpoint 127.0.0.1:9644 cannot be reached from here"}};
  const auto r = assess_cluster_health(healthy_cluster(), readiness).value();
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.problems, (std::vector<std::string>{
                            "node 2 is not ready: catching up: __meta has not reached the leader's commit index"}));
  EXPECT_EQ(r.notes, (std::vector<std::string>{
                         "node 3's readiness is unknown: its admin endpoint 127.0.0.1:9644 cannot be reached from here"}));
  EXPECT_TRUE(assess_cluster_health(healthy_cluster(), {{1, answer::ready, ""}, {3, answer::unknown, "x"}})->healthy);
}

TEST(cluster_health_test, not_a_cluster_body_is_an_error) {
  EXPECT_FALSE(assess_cluster_health(nlohmann::json::array()).has_value());
  EXPECT_FALSE(assess_cluster_health(nlohmann::json{{"cluster_id", "x"}}).has_value());
}

TEST(cluster_health_test, partition_problems_from_the_broker_view) {
  kafka::partition_info p;
  p.partition = 4;
  p.leader = chronik::node_id{1};
  p.replicas = {chronik::node_id{1}, chronik::node_id{2}};
  p.isr = p.replicas;
  EXPECT_FALSE(partition_problem_of("t", p).has_value());
  p.isr = {chronik::node_id{1}};
  auto under = partition_problem_of("t", p);
  ASSERT_TRUE(under.has_value());
  EXPECT_TRUE(under->under_replicated);
  EXPECT_FALSE(under->leaderless);
  EXPECT_EQ(under->leader, 1U);
  // A leader whose broker is offline leads nothing.
  p.offline = {chronik::node_id{1}};
  p.isr = {chronik::node_id{2}};
  auto dead_leader = partition_problem_of("t", p);
  ASSERT_TRUE(dead_leader.has_value());
  EXPECT_TRUE(dead_leader->leaderless);
  EXPECT_EQ(dead_leader->leader, 0U);
  p = {};
  p.replicas = {chronik::node_id{1}};
  p.isr = p.replicas;
  EXPECT_TRUE(partition_problem_of("t", p)->leaderless);
}

TEST(cluster_health_test, the_cluster_body_lists_problems_and_what_formation_waits_for) {
  cluster_view v;
  v.self_id = 1;
  v.bootstrap_expect = 3;
  v.seeds = {"127.0.0.2:7946"};
  v.leaderless_partitions = 1;
  v.partition_problems.push_back({"t", 0, 0, {3}, {}, true, true});
  v.fenced = {2};
  auto j = cluster_status_json(v);
  EXPECT_EQ(j["leaderless_partitions"], 1);
  EXPECT_EQ(j["partition_problems"][0]["topic"], "t");
  EXPECT_EQ(j["partition_problems"][0]["leaderless"], true);
  EXPECT_EQ(j["fenced"], nlohmann::json({2}));
  EXPECT_EQ(j["waiting"], "sees 1 of 3 expected nodes: seed 127.0.0.2:7946 not reached yet");
  v.formation.state = metadata::formation::kind::member;
  EXPECT_FALSE(cluster_status_json(v).contains("waiting"));
}

}  // namespace
}  // namespace chronik::daemon
