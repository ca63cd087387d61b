// Quiescence of idle groups (docs/raft.md "Quiescence", after CockroachDB's replica quiescence):
// when a quiesced group's leader goes quiet, its followers follow only when their logs provably
// match, anything that matters wakes the group, and a follower whose leader died and who is woken
// by the failure detector still gets a new leader elected (pre-vote and check-quorum, dissertation
// §9.6 and §6.2).
#include <gtest/gtest.h>

#include <initializer_list>

#include "tests/unit/raft_test_net.h"

namespace chronik::consensus::testing {
namespace {

constexpr std::uint32_t quiesce_ticks = 20;  // test_config(): the default, 2 x election minimum

// One tick on every live node, then the network settles.
void tick_all(raft_net& net, int rounds, std::initializer_list<std::uint64_t> ids = {1, 2, 3}) {
  for (int r = 0; r < rounds; ++r) {
    for (std::uint64_t id : ids)
      if (net.has(id)) net.tick(id);
    net.stabilize();
  }
}

// Ticks until every listed node is quiesced; the number of rounds it took, or -1.
int rounds_until_quiesced(raft_net& net, std::initializer_list<std::uint64_t> ids = {1, 2, 3}, int max = 200) {
  for (int r = 1; r <= max; ++r) {
    tick_all(net, 1, ids);
    bool all = true;
    for (std::uint64_t id : ids) all = all && net.node(id).quiesced();
    if (all) return r;
  }
  return -1;
}

// Like stabilize(), but only heartbeats and their answers get through: the group stays in
// contact while nothing else moves.
void exchange_heartbeats_only(raft_net& net) {
  for (int round = 0; round < 100; ++round) {
    net.collect();
    if (net.queue().empty()) return;
    auto pending = std::move(net.queue());
    net.queue().clear();
    for (const auto& m : pending)
      if (m.type == message_type::heartbeat || m.type == message_type::heartbeat_response) net.deliver(m);
  }
}

std::uint64_t leader_among(raft_net& net, std::initializer_list<std::uint64_t> ids) {
  for (std::uint64_t id : ids)
    if (net.has(id) && net.node(id).state() == role::leader) return id;
  return 0;
}

TEST(RaftQuiesce, ConfigRejectsQuiesceShorterThanElectionTimeout) {
  raft_config c = test_config();
  c.quiesce_after_ticks = c.election_timeout_ticks_min - 1;
  ASSERT_FALSE(c.validate().has_value());
  EXPECT_NE(c.validate().error().find("quiesce_after_ticks"), std::string::npos);
  c.quiesce_after_ticks = 0;  // off
  EXPECT_TRUE(c.validate().has_value());
  EXPECT_EQ(raft_config{}.quiesce_after_ticks, 2 * raft_config{}.election_timeout_ticks_min);
}

// An idle, fully replicated group goes quiet after quiesce_after_ticks, not before; then a tick
// sends nothing at all.
TEST(RaftQuiesce, IdleGroupQuiescesAndThenSendsNothing) {
  raft_net net(3);
  net.elect(1);
  ASSERT_TRUE(net.node(1).propose("x"));
  net.stabilize();
  tick_all(net, static_cast<int>(quiesce_ticks) - 1);
  EXPECT_FALSE(net.node(1).quiesced()) << "quiesced before quiesce_after_ticks";
  const int more = rounds_until_quiesced(net);
  ASSERT_GT(more, 0);
  EXPECT_LE(more, 3);
  EXPECT_TRUE(net.node(1).status().quiesced);
  EXPECT_EQ(net.node(2).log().committed(), net.node(1).log().last_index());
  for (int r = 0; r < 50; ++r) {
    for (std::uint64_t id : {1, 2, 3}) net.tick(id);
    net.collect();
    ASSERT_TRUE(net.queue().empty()) << "a quiesced group sent " << net.queue().size() << " messages";
  }
  EXPECT_EQ(net.node(1).state(), role::leader);  // 50 silent ticks elected nobody
  EXPECT_EQ(net.node(2).state(), role::follower);
}

TEST(RaftQuiesce, DisabledNeverQuiesces) {
  raft_config cfg = test_config();
  cfg.quiesce_after_ticks = 0;
  raft_net net(3, cfg);
  net.elect(1);
  tick_all(net, 100);
  for (std::uint64_t id : {1, 2, 3}) EXPECT_FALSE(net.node(id).quiesced());
}

// A follower that misses entries keeps the leader awake: it still owes that follower appends.
TEST(RaftQuiesce, LaggingFollowerPreventsQuiescence) {
  raft_net net(3);
  net.elect(1);
  net.cut_one_way(1, 3);  // node 3 stops hearing the leader, the leader keeps hearing node 3
  ASSERT_TRUE(net.node(1).propose("missed-by-3"));
  net.stabilize();
  tick_all(net, 100, {1, 2});
  EXPECT_FALSE(net.node(1).quiesced());
  EXPECT_EQ(net.node(1).state(), role::leader);
  net.heal();
  ASSERT_GT(rounds_until_quiesced(net), 0);  // caught up, then quiet
  EXPECT_EQ(net.applied_data(3), std::vector<std::string>{"missed-by-3"});
}

// An entry that is not committed keeps the leader awake even while every follower answers its
// heartbeats.
TEST(RaftQuiesce, UncommittedEntryPreventsQuiescence) {
  raft_net net(3);
  net.elect(1);
  ASSERT_TRUE(net.node(1).propose("pending"));
  net.collect();
  net.drop_queued();  // the appends are lost
  for (int t = 0; t < 100; ++t) {
    for (std::uint64_t id : {1, 2, 3}) net.tick(id);
    exchange_heartbeats_only(net);
  }
  EXPECT_LT(net.node(1).log().committed(), net.node(1).log().last_index());
  EXPECT_FALSE(net.node(1).quiesced());
}

// A leader cut off from everyone must not fall asleep: it stays awake and check-quorum makes it
// step down (§6.2).
TEST(RaftQuiesce, IsolatedLeaderStepsDownInsteadOfQuiescing) {
  raft_net net(3);
  net.elect(1);
  tick_all(net, static_cast<int>(quiesce_ticks) - 5);
  net.isolate(1);
  tick_all(net, 40, {1});
  EXPECT_FALSE(net.node(1).quiesced());
  EXPECT_NE(net.node(1).state(), role::leader);  // stepped down (and, alone, tries pre-votes)
}

// A proposal wakes the leader; its append wakes the followers; once idle again, all go quiet.
TEST(RaftQuiesce, ProposalWakesTheGroup) {
  raft_net net(3);
  net.elect(1);
  ASSERT_GT(rounds_until_quiesced(net), 0);
  ASSERT_TRUE(net.node(1).propose("wake-up"));
  EXPECT_FALSE(net.node(1).quiesced());
  net.collect();
  net.deliver_all();  // the appends
  EXPECT_FALSE(net.node(2).quiesced());
  EXPECT_FALSE(net.node(3).quiesced());
  net.stabilize();
  for (std::uint64_t id : {1, 2, 3}) EXPECT_EQ(net.applied_data(id), std::vector<std::string>{"wake-up"});
  ASSERT_GT(rounds_until_quiesced(net), static_cast<int>(quiesce_ticks) - 2);
}

// A follower whose log does not end with the leader's last entry refuses to go quiet, and its
// refusal wakes the leader.
TEST(RaftQuiesce, MismatchedFollowerRefusesAndWakesLeader) {
  raft_net net(3);
  net.elect(1);
  ASSERT_GT(rounds_until_quiesced(net), 0);
  message m{message_type::heartbeat, nid(1), nid(2), net.node(1).term()};
  m.index = net.node(1).log().last_index().next();  // an entry node 2 does not have
  m.log_term = net.node(1).term();
  m.commit = m.index;
  net.node(2).step(m);
  EXPECT_FALSE(net.node(2).quiesced());
  EXPECT_LT(net.node(2).log().committed(), m.index);  // nothing committed on a hunch
  net.collect();
  ASSERT_EQ(net.queue().size(), 1u);
  EXPECT_TRUE(net.queue().front().reject);
  net.deliver_all();
  EXPECT_FALSE(net.node(1).quiesced());
  // Answers to its own quiesce heartbeat leave a quiet leader asleep.
  ASSERT_GT(rounds_until_quiesced(net), 0);
  message ack{message_type::heartbeat_response, nid(3), nid(1), net.node(1).term()};
  net.node(1).step(ack);
  EXPECT_TRUE(net.node(1).quiesced());
}

// The leader dies while the group is quiet. Quiet followers never notice by themselves; once the
// failure detector wakes them, they elect a new leader within a few election timeouts.
TEST(RaftQuiesce, WokenFollowersElectWhenTheLeaderDied) {
  raft_net net(3);
  net.elect(1);
  ASSERT_TRUE(net.node(1).propose("before"));
  net.stabilize();
  ASSERT_GT(rounds_until_quiesced(net), 0);
  const term_id old_term = net.node(1).term();
  net.crash(1);
  tick_all(net, 100, {2, 3});
  EXPECT_EQ(leader_among(net, {2, 3}), 0u) << "quiet followers must not campaign on their own";
  net.node(2).wake();
  net.node(3).wake();
  int t = 0;
  while (leader_among(net, {2, 3}) == 0 && t < 80) tick_all(net, 1, {2, 3}), ++t;
  const std::uint64_t l = leader_among(net, {2, 3});
  ASSERT_NE(l, 0u) << "no leader 80 ticks after waking";
  EXPECT_GT(net.node(l).term(), old_term);
  ASSERT_TRUE(net.node(l).propose("after"));
  net.stabilize();
  for (std::uint64_t id : {2, 3}) EXPECT_EQ(net.applied_data(id), (std::vector<std::string>{"before", "after"}));
}

// Only one follower learns that the leader died; its pre-vote wakes the other, whose leader
// stickiness runs out an election timeout later, and the two elect a leader.
TEST(RaftQuiesce, OneWokenFollowersPreVoteWakesTheOthers) {
  raft_net net(3);
  net.elect(1);
  ASSERT_GT(rounds_until_quiesced(net), 0);
  net.crash(1);
  net.node(2).wake();
  int t = 0;
  while (net.node(3).quiesced() && t < 40) tick_all(net, 1, {2, 3}), ++t;
  ASSERT_FALSE(net.node(3).quiesced()) << "node 2's pre-vote did not wake node 3";
  while (leader_among(net, {2, 3}) == 0 && t < 120) tick_all(net, 1, {2, 3}), ++t;
  EXPECT_NE(leader_among(net, {2, 3}), 0u);
}

// A false alarm (the leader is alive) costs a round of pre-votes, which the leader's stickiness
// refuses; the leader keeps its term and the group goes quiet again.
TEST(RaftQuiesce, SpuriousWakeDoesNotDeposeALiveLeader) {
  raft_net net(3);
  net.elect(1);
  ASSERT_GT(rounds_until_quiesced(net), 0);
  const term_id term = net.node(1).term();
  net.node(2).wake();
  ASSERT_GT(rounds_until_quiesced(net), 0);
  EXPECT_EQ(net.node(1).state(), role::leader);
  EXPECT_EQ(net.node(1).term(), term);
}

// A vote request of a higher term wakes a quiet node (here: a rejoining node with pre-vote off,
// which then forces a new election exactly as without quiescence).
TEST(RaftQuiesce, HigherTermWakesQuietLeader) {
  raft_net net(3);
  net.elect(1);
  ASSERT_GT(rounds_until_quiesced(net), 0);
  message vote{message_type::vote, nid(3), nid(1), term_id{net.node(1).term().value + 1}};
  vote.index = net.node(3).log().last_index();
  vote.log_term = net.node(3).log().last_term();
  net.node(1).step(vote);
  EXPECT_FALSE(net.node(1).quiesced());
}

}  // namespace
}  // namespace chronik::consensus::testing
