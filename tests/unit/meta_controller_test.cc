// The `__meta` controller's decisions (metadata/meta_controller.h): registration, brokers marked
// dead from SWIM, learners, promotion up to meta_voters (docs/design.md "Formation" property 5) and
// the replacement of a voter SWIM confirmed dead for voter_replace_after (property 6).
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "metadata/meta_controller.h"

namespace chronik::metadata {
namespace {

using namespace std::chrono_literals;
using consensus::conf_change;

std::string uuid_of(std::uint64_t id) { return "uuid-" + std::to_string(id); }

node_view live(std::uint64_t id, cluster_relation rel = cluster_relation::member) {
  node_view n{node_id{static_cast<std::uint32_t>(id)}, uuid_of(id), "127.0.0." + std::to_string(id) + ":9092",
              "127.0.0." + std::to_string(id) + ":9093"};
  n.relation = rel;
  return n;
}

node_view down(std::uint64_t id, std::chrono::milliseconds for_how_long) {
  auto n = live(id);
  n.swim = swim_view::down;
  n.down_for = for_how_long;
  return n;
}

// A leader (node 1) whose registry holds `registered` alive brokers with matching uuids and
// addresses, and whose followers are all caught up.
struct scenario {
  meta_data registry;
  controller_input in;

  scenario(std::vector<std::uint64_t> voters, std::vector<std::uint64_t> learners,
           std::vector<std::uint64_t> registered) {
    for (auto id : registered) {
      const auto n = live(id);
      registry.brokers[node_id{static_cast<std::uint32_t>(id)}] = {node_id{static_cast<std::uint32_t>(id)}, n.uuid, n.kafka_addr, n.rpc_addr, {}, broker_state::alive,
                                       log_index{id}};
    }
    in.self = node_id{1};
    in.state = &registry;
    in.commit = log_index{50};
    for (auto v : voters) in.conf.voters.push_back(node_id{static_cast<std::uint32_t>(v)});
    for (auto l : learners) in.conf.learners.push_back(node_id{static_cast<std::uint32_t>(l)});
    for (auto id : voters) in.match[node_id{static_cast<std::uint32_t>(id)}] = log_index{50};
    for (auto id : learners) in.match[node_id{static_cast<std::uint32_t>(id)}] = log_index{50};
    in.voter_replace_after = 10s;
  }
  controller_plan plan() const { return plan_controller(in); }
};

bool is(const controller_plan& p, conf_change::kind op, std::uint64_t id) {
  return p.change && p.change->op == op && p.change->node == node_id{static_cast<std::uint32_t>(id)};
}

TEST(MetaController, RegistersNewBrokersAndNothingWhenAllIsInPlace) {
  scenario s({1, 2, 3}, {}, {1, 2});
  s.in.nodes = {live(1), live(2), live(3)};
  auto p = s.plan();
  ASSERT_EQ(p.registrations.size(), 1u);
  EXPECT_EQ(p.registrations[0].id, node_id{3});
  EXPECT_EQ(p.registrations[0].uuid, uuid_of(3));
  EXPECT_FALSE(p.change);

  scenario settled({1, 2, 3}, {}, {1, 2, 3});
  settled.in.nodes = {live(1), live(2), live(3)};
  auto q = settled.plan();
  EXPECT_TRUE(q.registrations.empty());
  EXPECT_TRUE(q.state_changes.empty());
  EXPECT_FALSE(q.change);
}

TEST(MetaController, MarksABrokerDeadWhenSwimSaysDownAndBackAliveWhenItReturns) {
  scenario s({1, 2, 3}, {}, {1, 2, 3});
  s.in.nodes = {live(1), live(2), down(3, 1ms)};
  auto p = s.plan();
  ASSERT_EQ(p.state_changes.size(), 1u);
  EXPECT_EQ(p.state_changes[0].id, node_id{3});
  EXPECT_EQ(p.state_changes[0].state, broker_state::dead);
  EXPECT_TRUE(p.registrations.empty());

  s.registry.brokers[node_id{3}].state = broker_state::dead;
  EXPECT_TRUE(s.plan().state_changes.empty());  // already recorded
  s.in.nodes[2] = live(3);
  auto back = s.plan();
  ASSERT_EQ(back.registrations.size(), 1u);  // re-registration brings it back alive
  EXPECT_EQ(back.registrations[0].id, node_id{3});
}

TEST(MetaController, AJoinerBecomesALearnerAndIsPromotedOnlyWhenCaughtUp) {
  scenario s({1, 2}, {}, {1, 2, 3});
  s.in.nodes = {live(1), live(2), live(3, cluster_relation::joining)};
  EXPECT_TRUE(is(s.plan(), conf_change::kind::add_learner, 3));

  s.in.conf.learners.push_back(node_id{3});
  s.in.match[node_id{3}] = log_index{10};  // behind the commit index
  EXPECT_FALSE(s.plan().change);
  s.in.match[node_id{3}] = log_index{50};
  EXPECT_TRUE(is(s.plan(), conf_change::kind::add_voter, 3));
}

TEST(MetaController, PromotesUpToMetaVotersAndNoFurther) {
  scenario s({1, 2, 3}, {4, 5}, {1, 2, 3, 4});
  s.in.nodes = {live(1), live(2), live(3), live(4), live(5)};
  EXPECT_FALSE(s.plan().change) << "automatic: 3 voters below 5 registered brokers";
  s.in.meta_voters = 5;
  EXPECT_TRUE(is(s.plan(), conf_change::kind::add_voter, 4));

  scenario five({1, 2, 3}, {4, 5}, {1, 2, 3, 4, 5});
  five.in.nodes = {live(1), live(2), live(3), live(4), live(5)};
  EXPECT_TRUE(is(five.plan(), conf_change::kind::add_voter, 4)) << "automatic: 5 voters from 5 brokers";
}

TEST(MetaController, OneChangeAtATime) {
  scenario s({1, 2}, {}, {1, 2, 3});
  s.in.nodes = {live(1), live(2), live(3, cluster_relation::joining)};
  s.in.conf_change_in_flight = true;
  auto p = s.plan();
  EXPECT_FALSE(p.change);
}

TEST(MetaController, ReplacesAVoterDeadLongerThanVoterReplaceAfter) {
  scenario s({1, 2, 3}, {4}, {1, 2, 3, 4});
  s.in.nodes = {live(1), live(2), down(3, 9s), live(4)};
  EXPECT_FALSE(s.plan().change) << "not dead for voter_replace_after yet";

  s.in.nodes[2] = down(3, 10s);
  EXPECT_TRUE(is(s.plan(), conf_change::kind::add_voter, 4)) << "the replacement is promoted first";

  s.in.conf.voters.push_back(node_id{4});
  s.in.conf.learners.clear();
  EXPECT_TRUE(is(s.plan(), conf_change::kind::remove, 3)) << "then the dead voter leaves";

  std::erase(s.in.conf.voters, node_id{3});
  EXPECT_FALSE(s.plan().change);
}

// The node_decommission suite's race: node 4's promotion replacing dead node 3 committed, then node 3
// came back before it was removed, which left four voters for good.
TEST(MetaController, AVoterOverTheTargetLeavesWhenTheReplacedOneCameBack) {
  scenario s({1, 2, 3, 4}, {}, {1, 2, 3, 4});
  s.in.nodes = {live(1), live(2), live(3), live(4)};
  EXPECT_TRUE(is(s.plan(), conf_change::kind::remove, 4)) << "the highest id, never the leader";

  s.in.nodes[1] = down(2, 1s);  // dead, not yet replaceable: it goes before a live one
  EXPECT_TRUE(is(s.plan(), conf_change::kind::remove, 2));

  std::erase(s.in.conf.voters, node_id{4});
  s.in.nodes[1] = live(2);
  EXPECT_TRUE(is(s.plan(), conf_change::kind::add_learner, 4)) << "back as a learner";
}

TEST(MetaController, AVoterOverTheTargetWaitsWhileOneIsDecommissioned) {
  scenario s({1, 2, 3, 4}, {}, {1, 2, 3, 4});
  s.in.nodes = {live(1), live(2), live(3), live(4)};
  s.registry.brokers[node_id{2}].decommission = decommission_state::moving;
  const auto p = s.plan();
  EXPECT_FALSE(p.change && p.change->op == conf_change::kind::remove && p.change->node != node_id{2})
      << "the leaving voter is the one that goes, when its replicas have moved";
}

TEST(MetaController, KeepsADeadVoterWhenNoLiveCaughtUpLearnerCanReplaceIt) {
  scenario s({1, 2, 3}, {4}, {1, 2, 3, 4});
  s.in.nodes = {live(1), live(2), down(3, 1h), down(4, 1h)};
  auto p = s.plan();
  EXPECT_FALSE(p.change) << "the only learner is down too";

  s.in.nodes[3] = live(4);
  s.in.match[node_id{4}] = log_index{3};
  EXPECT_FALSE(s.plan().change) << "the learner is behind";
}

TEST(MetaController, AVoterGossipHasNotHeardOfIsNotReplaced) {
  scenario s({1, 2, 3}, {4}, {1, 2, 3, 4});
  s.in.nodes = {live(1), live(2), live(4)};  // a new leader whose gossip has not listed 3 yet
  EXPECT_FALSE(s.plan().change);
}

TEST(MetaController, AReplicaRemovedWhileDeadIsAddedBackAsALearner) {
  scenario s({1, 2, 4}, {}, {1, 2, 3, 4});
  s.in.nodes = {live(1), live(2), live(3), live(4)};
  EXPECT_TRUE(is(s.plan(), conf_change::kind::add_learner, 3));
}

TEST(MetaController, AWipedNodeLeavesAsItsOldReplicaThenRejoins) {
  scenario s({1, 2, 3}, {}, {1, 2, 3});
  auto wiped = live(3, cluster_relation::joining);
  wiped.uuid = "uuid-3-new";
  s.in.nodes = {live(1), live(2), wiped};
  auto p = s.plan();
  EXPECT_TRUE(p.registrations.empty()) << "not registered under the new uuid while the old replica is in";
  EXPECT_TRUE(is(p, conf_change::kind::remove, 3));

  std::erase(s.in.conf.voters, node_id{3});
  auto q = s.plan();
  ASSERT_EQ(q.registrations.size(), 1u);
  EXPECT_EQ(q.registrations[0].uuid, "uuid-3-new");
  EXPECT_FALSE(q.change) << "added as learner only once registered under its new uuid";
}

// Regression (formation sim, soak seed 69000162): the wiped node already announces itself a
// member (it joined before the registration of its old uuid committed). Its old replica must
// still leave; the plan used to wait for a joiner that would never ask again.
TEST(MetaController, AWipedNodeThatAnnouncesMembershipStillLosesItsOldReplica) {
  scenario s({1, 2, 3}, {}, {1, 2, 3});
  auto wiped = live(3, cluster_relation::member);
  wiped.uuid = "uuid-3-new";
  s.in.nodes = {live(1), live(2), wiped};
  auto p = s.plan();
  EXPECT_TRUE(p.registrations.empty());
  EXPECT_TRUE(is(p, conf_change::kind::remove, 3)) << p.reason;
  std::erase(s.in.conf.voters, node_id{3});
  auto q = s.plan();
  ASSERT_EQ(q.registrations.size(), 1u);
  EXPECT_EQ(q.registrations[0].uuid, "uuid-3-new");
}

// Property 7: a second process with node id 3, a new uuid and its own addresses, while broker 3
// is alive in `__meta`. The controller neither registers it nor removes the holder's replica; it
// records the holder dead first. Once the holder is marked dead, the new uuid
// is the wiped node's case: old replica out, then registered.
TEST(MetaController, ANewUuidNeverTakesTheIdOfABrokerThatIsNotDown) {
  scenario s({1, 2, 3}, {}, {1, 2, 3});
  auto other = live(3, cluster_relation::joining);
  other.uuid = "uuid-3-other";
  other.kafka_addr = "127.0.0.9:9092";
  other.rpc_addr = "127.0.0.9:9093";
  s.in.nodes = {live(1), live(2), other};
  auto p = s.plan();
  EXPECT_TRUE(p.registrations.empty());
  EXPECT_FALSE(p.change) << p.reason;
  // Gossip holds the id for another uuid only over a dead or departed holder: the registered one
  // is recorded dead first (fenced by its own uuid), even if `__meta` never saw it dead because it
  // died and was replaced within one pacing interval (the takeover in node_id_cluster).
  ASSERT_EQ(p.state_changes.size(), 1u);
  EXPECT_EQ(p.state_changes[0].uuid, "uuid-3");
  EXPECT_EQ(p.state_changes[0].state, broker_state::dead);

  s.registry.brokers[node_id{3}].state = broker_state::dead;
  EXPECT_TRUE(is(s.plan(), conf_change::kind::remove, 3));
  std::erase(s.in.conf.voters, node_id{3});
  auto q = s.plan();
  ASSERT_EQ(q.registrations.size(), 1u);
  EXPECT_EQ(q.registrations[0].uuid, "uuid-3-other");
  EXPECT_EQ(q.registrations[0].rpc_addr, "127.0.0.9:9093");
}

TEST(MetaController, TargetVoters) {
  EXPECT_EQ(target_voters(0, 1), 3u);
  EXPECT_EQ(target_voters(0, 4), 3u);
  EXPECT_EQ(target_voters(0, 5), 5u);
  EXPECT_EQ(target_voters(1, 9), 1u);
  EXPECT_EQ(target_voters(7, 3), 7u);
}

}  // namespace
}  // namespace chronik::metadata
