// Maintenance mode (docs/operations.md "Maintenance: drain"): the `__meta` record, the pure
// decisions of metadata/leadership_drain.h, and the Raft core's reluctant campaign mode
// (consensus/core/raft.h campaign_mode) that keeps a drained node from leading new terms when
// another voter can.
#include <cstdint>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "metadata/leadership_drain.h"
#include "metadata/meta_commands.h"
#include "metadata/meta_state.h"
#include "tests/unit/raft_test_net.h"

namespace chronik::metadata {
namespace {

namespace cmd = commands;
using consensus::campaign_mode;
using consensus::testing::nid;

struct machine {
  meta_state s;
  std::uint64_t next_index = 1;
  std::expected<apply_result, meta_errc> run(const std::string& bytes) { return s.apply(log_index{next_index++}, bytes); }
};

cmd::broker_registration broker(std::uint64_t id, std::string uuid = "") {
  const std::string n = std::to_string(id);
  return {nid(id), uuid.empty() ? "uuid-" + n : uuid, "127.0.0." + n + ":9092", "127.0.0." + n + ":7000", ""};
}

machine three_brokers() {
  machine m;
  for (std::uint64_t id = 1; id <= 3; ++id) EXPECT_TRUE(m.run(cmd::register_broker(broker(id))));
  return m;
}

TEST(DrainRecord, SetsAndClearsTheFlagOfARegisteredBroker) {
  machine m = three_brokers();
  auto r = m.run(cmd::set_broker_drained(nid(2), cmd::drain_state::drained));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, command_kind::set_broker_drained);
  EXPECT_TRUE(r->changed);
  EXPECT_TRUE(m.s.broker(nid(2))->drained);
  EXPECT_FALSE(m.run(cmd::set_broker_drained(nid(2), cmd::drain_state::drained))->changed);  // a retry
  EXPECT_EQ(drained_nodes(m.s), (std::set<node_id>{nid(2)}));
  EXPECT_TRUE(m.run(cmd::set_broker_drained(nid(2), cmd::drain_state::undrained))->changed);
  EXPECT_FALSE(m.s.broker(nid(2))->drained);
  EXPECT_TRUE(drained_nodes(m.s).empty());
}

TEST(DrainRecord, RefusesAnUnknownOrInvalidNode) {
  machine m = three_brokers();
  EXPECT_EQ(m.run(cmd::set_broker_drained(nid(9), cmd::drain_state::drained)).error(), meta_errc::unknown_broker);
  EXPECT_EQ(m.run(cmd::set_broker_drained(node_id{}, cmd::drain_state::drained)).error(), meta_errc::invalid_broker);
  EXPECT_TRUE(drained_nodes(m.s).empty());
}

// The drain is the operator's word about the node id: a restart (same uuid) and a wiped data
// directory (new uuid) re-register the broker, and it stays drained; so does a broker marked dead
// and alive again by the controller.
TEST(DrainRecord, OutlivesReRegistrationAndBrokerStateChanges) {
  machine m = three_brokers();
  ASSERT_TRUE(m.run(cmd::set_broker_drained(nid(2), cmd::drain_state::drained)));
  ASSERT_TRUE(m.run(cmd::set_broker_state(nid(2), "uuid-2", broker_state::dead)));
  ASSERT_TRUE(m.run(cmd::register_broker(broker(2))));  // the controller brings it back alive
  EXPECT_TRUE(m.s.broker(nid(2))->drained);
  EXPECT_EQ(m.s.broker(nid(2))->state, broker_state::alive);
  ASSERT_TRUE(m.run(cmd::register_broker(broker(2, "uuid-wiped"))));
  EXPECT_EQ(m.s.broker(nid(2))->uuid, "uuid-wiped");
  EXPECT_TRUE(m.s.broker(nid(2))->drained);
}

TEST(DrainRecord, ARestartOfADrainedBrokerChangesNothing) {
  machine m = three_brokers();
  ASSERT_TRUE(m.run(cmd::set_broker_drained(nid(2), cmd::drain_state::drained)));
  EXPECT_FALSE(m.run(cmd::register_broker(broker(2)))->changed);
}

TEST(DrainRecord, SnapshotsKeepIt) {
  machine m = three_brokers();
  ASSERT_TRUE(m.run(cmd::set_broker_drained(nid(3), cmd::drain_state::drained)));
  meta_state restored;
  ASSERT_TRUE(restored.restore(m.s.snapshot()));
  EXPECT_TRUE(restored.broker(nid(3))->drained);
  EXPECT_FALSE(restored.broker(nid(1))->drained);
  EXPECT_EQ(restored.snapshot(), m.s.snapshot());
}

TEST(DrainDecisions, ADrainedNodeCampaignsReluctantlyAndTakesNoLeadership) {
  machine m = three_brokers();
  ASSERT_TRUE(m.run(cmd::set_broker_drained(nid(2), cmd::drain_state::drained)));
  EXPECT_EQ(campaign_mode_for(m.s, nid(2)), campaign_mode::reluctant);
  EXPECT_EQ(campaign_mode_for(m.s, nid(1)), campaign_mode::eager);
  EXPECT_FALSE(may_take_leadership(m.s, nid(2)));
  EXPECT_TRUE(may_take_leadership(m.s, nid(3)));
  EXPECT_TRUE(may_take_leadership(m.s, nid(7)));  // not registered: nobody drained it
}

TEST(DrainDecisions, MetaGoesLastAfterThePartitions) {
  EXPECT_FALSE(meta_goes_now(3));
  EXPECT_FALSE(meta_goes_now(1));
  EXPECT_TRUE(meta_goes_now(0));
}

TEST(DrainDecisions, CountsThePartitionsANodeLeads) {
  machine m = three_brokers();
  cmd::topic_spec t;
  t.name = "t";
  t.id.bytes[0] = 1;
  t.partitions = 3;
  t.replication_factor = 3;
  ASSERT_TRUE(m.run(cmd::create_topic(t)));
  EXPECT_EQ(partitions_led_by(m.s, nid(2)), 0u);
  for (std::int32_t p = 0; p < 3; ++p) {
    const node_id leader = p == 1 ? nid(1) : nid(2);
    ASSERT_TRUE(m.run(cmd::set_partition_leader(t.id, p, leader, term_id{2}, {})));
  }
  EXPECT_EQ(partitions_led_by(m.s, nid(2)), 2u);
  EXPECT_EQ(partitions_led_by(m.s, nid(1)), 1u);
}

drain_group_view group_led_by_2() {
  drain_group_view g;
  g.self = nid(2);
  g.preference = {nid(2), nid(3), nid(1)};
  g.voters = {nid(1), nid(2), nid(3)};
  g.match = {{nid(1), log_index{10}}, {nid(2), log_index{10}}, {nid(3), log_index{10}}};
  g.last_index = log_index{10};
  return g;
}

TEST(DrainTarget, FollowsThePreferenceAmongInSyncVoters) {
  EXPECT_EQ(drain_target(group_led_by_2(), {nid(2)}, {}), nid(3));
}

TEST(DrainTarget, PrefersAnInSyncVoterToAnEarlierLaggingOne) {
  auto g = group_led_by_2();
  g.match[nid(3)] = log_index{7};
  EXPECT_EQ(drain_target(g, {nid(2)}, {}), nid(1));
}

TEST(DrainTarget, TakesTheMostCaughtUpWhenNobodyIsInSync) {
  auto g = group_led_by_2();
  g.match[nid(3)] = log_index{4};
  g.match[nid(1)] = log_index{8};
  EXPECT_EQ(drain_target(g, {nid(2)}, {}), nid(1));
}

TEST(DrainTarget, SkipsDrainedDeadAndNonVotingNodes) {
  auto g = group_led_by_2();
  EXPECT_EQ(drain_target(g, {nid(2), nid(3)}, {}), nid(1));
  EXPECT_EQ(drain_target(g, {nid(2)}, {nid(3)}), nid(1));
  EXPECT_EQ(drain_target(g, {nid(2)}, {nid(1), nid(3)}), std::nullopt);
  g.voters = {nid(2), nid(1)};  // 3 is a learner or gone from the group
  EXPECT_EQ(drain_target(g, {nid(2)}, {}), nid(1));
}

TEST(DrainTarget, ASingleReplicaHasNowhereToGo) {
  drain_group_view g;
  g.self = nid(2);
  g.preference = {nid(2)};
  g.voters = {nid(2)};
  g.last_index = log_index{3};
  EXPECT_EQ(drain_target(g, {nid(2)}, {}), std::nullopt);
}

TEST(DrainTarget, VotersOutsideThePreferenceComeAfterItByID) {
  auto g = group_led_by_2();
  g.preference = {};  // `__meta`: the voters alone
  g.voters = {nid(3), nid(2), nid(1)};
  EXPECT_EQ(drain_target(g, {nid(2)}, {}), nid(1));
}

}  // namespace
}  // namespace chronik::metadata

namespace chronik::consensus::testing {
namespace {

// Ticks every running node once and lets the network settle, until `done` or `max_ticks`.
template <typename Pred>
bool tick_until(raft_net& net, std::initializer_list<std::uint64_t> ids, int max_ticks, Pred done) {
  for (int t = 0; t < max_ticks; ++t) {
    for (auto id : ids) net.tick(id);
    net.stabilize();
    if (done()) return true;
  }
  return false;
}

// §5.2 with §9.6 pre-vote: when the leader dies, the eager survivor's timer always fires before the
// reluctant one's (their ranges are disjoint), so the new term's leader is not the drained node.
// Each round first finds the survivor that wins with both eager (the elections before it vary the
// randomized timeouts), then replays the same round with that one reluctant: the other must win.
raft_net round_net(int round) {
  raft_net net(3);
  net.elect(1);
  // Each transfer is a new term, and every node draws its randomized timeout again.
  for (int i = 1; i <= round; ++i) {
    const std::uint64_t from = 1 + static_cast<std::uint64_t>((i - 1) % 3), to = 1 + static_cast<std::uint64_t>(i % 3);
    EXPECT_TRUE(net.node(from).transfer_leadership(nid(to)));
    net.stabilize();
  }
  const std::uint64_t at = 1 + static_cast<std::uint64_t>(round % 3);
  if (at != 1) {
    EXPECT_TRUE(net.node(at).transfer_leadership(nid(1)));
    net.stabilize();
  }
  EXPECT_EQ(net.node(1).state(), role::leader);
  return net;
}

std::uint64_t survivor_leading(raft_net& net) {
  net.crash(1);
  if (!tick_until(net, {2, 3}, 200, [&] { return net.leader_count() == 1; })) return 0;
  return net.node(2).state() == role::leader ? 2 : 3;
}

TEST(ReluctantCampaign, AnEagerVoterWinsTheNextTerm) {
  std::set<std::uint64_t> natural;
  for (int round = 0; round < 12; ++round) {
    raft_net eager = round_net(round);
    const std::uint64_t winner = survivor_leading(eager);
    ASSERT_NE(winner, 0u) << round;
    natural.insert(winner);
    raft_net net = round_net(round);
    net.node(winner).set_campaign_mode(campaign_mode::reluctant);
    const std::uint64_t other = winner == 2 ? 3 : 2;
    EXPECT_EQ(survivor_leading(net), other) << round;
    EXPECT_EQ(net.node(winner).leader(), nid(other)) << round;
  }
  EXPECT_EQ(natural.size(), 2u);  // the rounds did not all favour one survivor
}

// Reluctant is not never: with every surviving voter reluctant, one of them still leads, after at
// most the longer timeout, so a drained cluster stays available.
TEST(ReluctantCampaign, ReluctantVotersStillElectWhenNobodyElseCan) {
  raft_net net(3);
  net.elect(1);
  net.node(2).set_campaign_mode(campaign_mode::reluctant);
  net.node(3).set_campaign_mode(campaign_mode::reluctant);
  net.crash(1);
  int ticks = 0;
  ASSERT_TRUE(tick_until(net, {2, 3}, 200, [&] {
    ++ticks;
    return net.leader_count() == 1;
  }));
  // Not before the shortest reluctant timeout: min + max = 30 ticks (test_config).
  EXPECT_GE(ticks, 30);
}

// A leadership transfer (§3.10) is an explicit request: a reluctant transferee still takes it.
TEST(ReluctantCampaign, ATransferStillReachesAReluctantNode) {
  raft_net net(3);
  net.elect(1);
  net.node(2).set_campaign_mode(campaign_mode::reluctant);
  ASSERT_TRUE(net.node(1).transfer_leadership(nid(2)));
  net.stabilize();
  EXPECT_EQ(net.node(2).state(), role::leader);
}

// Undrained, the node campaigns like any other again: back to eager, its timer is in [min, max).
TEST(ReluctantCampaign, EagerAgainAfterUndrain) {
  raft_net net(3);
  net.elect(1);
  net.node(3).set_campaign_mode(campaign_mode::reluctant);
  net.node(3).set_campaign_mode(campaign_mode::eager);
  EXPECT_EQ(net.node(3).current_campaign_mode(), campaign_mode::eager);
  net.crash(1);
  int ticks = 0;
  ASSERT_TRUE(tick_until(net, {2, 3}, 200, [&] {
    ++ticks;
    return net.leader_count() == 1;
  }));
  EXPECT_LT(ticks, 30);
}

}  // namespace
}  // namespace chronik::consensus::testing
