// Rejoining replicas (docs/raft.md "Rejoining replicas"): a voter whose log was wiped must not
// help elect a leader that misses an entry it once acknowledged (Raft paper §5.4.1 assumes voters
// keep what they acknowledged), and it votes again once caught up with a leader.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "tests/unit/raft_test_net.h"

namespace chronik::consensus {
namespace {

using testing::raft_net;

bool has(const std::vector<std::string>& v, const std::string& s) { return std::ranges::find(v, s) != v.end(); }

// Ticks the running nodes `ids` until one leads, at most 400 rounds.
void tick_until_leader(raft_net& net, std::initializer_list<std::uint64_t> ids) {
  for (int i = 0; i < 400 && net.leader_count() == 0; ++i) {
    for (std::uint64_t id : ids) net.tick(id);
    net.stabilize();
  }
}

// Node 1 leads; "x" commits on {1, 2} while node 3 is cut off. Node 2's disk is then wiped and the
// leader goes down: only node 3 (without "x") and the wiped node 2 remain.
void commit_on_two_then_wipe(raft_net& net, testing::rejoin_mode mode) {
  net.elect(1);
  ASSERT_EQ(net.node(1).state(), role::leader);
  net.cut(1, 3);
  ASSERT_TRUE(net.node(1).propose("x").has_value());
  net.stabilize();
  ASSERT_TRUE(has(net.applied_data(1), "x"));
  ASSERT_FALSE(has(net.applied_data(3), "x"));
  net.crash(1);
  net.wipe(2, mode);
  net.heal();
}

// §5.4.1: the hazard itself. Without the rule the wiped voter grants its vote to node 3, whose log
// is longer than its own empty one, and "x", acknowledged by a majority, is gone.
TEST(raft_rejoin, a_wiped_voter_that_votes_elects_a_leader_without_a_committed_entry) {
  raft_net net(3);
  commit_on_two_then_wipe(net, testing::rejoin_mode::unsafe_fresh);
  net.node(3).campaign();
  net.stabilize();
  ASSERT_EQ(net.node(3).state(), role::leader);
  ASSERT_TRUE(net.node(3).propose("y").has_value());
  net.stabilize();
  EXPECT_FALSE(has(net.applied_data(3), "x")) << "committed entry lost, as the rule predicts";
}

TEST(raft_rejoin, a_rejoining_voter_refuses_votes_until_caught_up) {
  raft_net net(3);
  commit_on_two_then_wipe(net, testing::rejoin_mode::rejoin);
  EXPECT_TRUE(net.node(2).status().rejoining);
  net.node(3).campaign();
  net.stabilize();
  EXPECT_NE(net.node(3).state(), role::leader);
  EXPECT_EQ(net.leader_count(), 0u);
  // The rejoining node never campaigns for real, however long it waits.
  for (int i = 0; i < 200; ++i) {
    net.tick(2);
    net.stabilize();
  }
  EXPECT_NE(net.node(2).state(), role::leader);
  EXPECT_NE(net.node(2).state(), role::candidate);

  // The old leader comes back with "x": it is the only node that can win, and node 2 catches up.
  net.start(1);
  tick_until_leader(net, {1, 2, 3});
  ASSERT_EQ(net.node(1).state(), role::leader);
  ASSERT_TRUE(net.node(1).propose("z").has_value());
  net.stabilize();
  for (std::uint64_t id : {1u, 2u, 3u}) {
    EXPECT_TRUE(has(net.applied_data(id), "x")) << id;
    EXPECT_TRUE(has(net.applied_data(id), "z")) << id;
  }
  EXPECT_FALSE(net.node(2).status().rejoining);
  EXPECT_FALSE(net.disk(2).persisted_hard_state().rejoining) << "the end of rejoining is durable";
  // Its vote in this term went to the leader it caught up with: no second vote in a term it may
  // have voted in before the wipe.
  EXPECT_EQ(net.node(2).status().vote, testing::nid(1));
}

TEST(raft_rejoin, a_caught_up_replica_votes_again) {
  raft_net net(3);
  commit_on_two_then_wipe(net, testing::rejoin_mode::rejoin);
  net.start(1);
  tick_until_leader(net, {1, 2, 3});
  ASSERT_EQ(net.node(1).state(), role::leader);
  ASSERT_TRUE(net.node(1).propose("z").has_value());
  net.stabilize();
  ASSERT_FALSE(net.node(2).status().rejoining);
  // Now node 2 is a voter like any other: with node 1 gone it elects node 3 or itself, and every
  // committed entry survives because both hold them.
  net.crash(1);
  tick_until_leader(net, {2, 3});
  ASSERT_EQ(net.leader_count(), 1u);
  const std::uint64_t leader = net.node(2).state() == role::leader ? 2 : 3;
  ASSERT_TRUE(net.node(leader).propose("w").has_value());
  net.stabilize();
  for (std::uint64_t id : {2u, 3u}) {
    EXPECT_TRUE(has(net.applied_data(id), "x")) << id;
    EXPECT_TRUE(has(net.applied_data(id), "w")) << id;
  }
}

// A restart while still rejoining keeps the rule: it is part of the hard state.
TEST(raft_rejoin, rejoining_survives_a_restart) {
  raft_net net(3);
  commit_on_two_then_wipe(net, testing::rejoin_mode::rejoin);
  net.crash(2);
  net.start(2);
  EXPECT_TRUE(net.node(2).status().rejoining);
  net.node(3).campaign();
  net.stabilize();
  EXPECT_EQ(net.leader_count(), 0u);
}

// An idle group's leader has quiesced and sends nothing; the rejoining replica's pre-votes (which
// can never turn into an election) wake it, and the replica catches up.
TEST(raft_rejoin, pre_votes_wake_a_quiesced_leader) {
  raft_config cfg = testing::test_config();
  cfg.pre_vote = true;
  cfg.check_quorum = true;
  cfg.quiesce_after_ticks = 5;
  raft_net net(3, cfg);
  net.elect(1);
  ASSERT_TRUE(net.node(1).propose("x").has_value());
  net.stabilize();
  for (int i = 0; i < 20 && !net.node(1).quiesced(); ++i) {
    for (std::uint64_t id : {1u, 2u, 3u}) net.tick(id);
    net.stabilize();
  }
  ASSERT_TRUE(net.node(1).quiesced());
  net.crash(2);
  net.wipe(2, testing::rejoin_mode::rejoin);
  for (int i = 0; i < 400 && net.node(2).status().rejoining; ++i) {
    for (std::uint64_t id : {1u, 2u, 3u}) net.tick(id);
    net.stabilize();
  }
  EXPECT_FALSE(net.node(2).status().rejoining);
  EXPECT_TRUE(has(net.applied_data(2), "x"));
  EXPECT_EQ(net.node(1).state(), role::leader) << "the rejoining replica's pre-votes never unseat the leader";
}

}  // namespace
}  // namespace chronik::consensus
