// The `__meta` node core (metadata/meta_node.h): re-proposal pacing, one configuration change in
// flight (Raft dissertation §4.1), ReadIndex completion and expiry (§6.4), the health verdict,
// join detection, and the snapshot policy (Raft paper §7). Time is a number passed in; nothing
// here waits.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "metadata/meta_commands.h"
#include "metadata/meta_node.h"

namespace chronik::metadata {
namespace {

using consensus::conf_change;
using consensus::role;

std::string uuid_of(std::uint64_t id) { return "uuid-" + std::to_string(id); }

meta_node_config config_for(std::uint64_t self) {
  meta_node_config c;
  c.self = node_id{static_cast<std::uint32_t>(self)};
  c.self_uuid = uuid_of(self);
  c.controller_interval_ms = 50;
  c.reproposal_pause_ms = 1000;
  c.read_timeout_ms = 500;
  c.snapshot_entries = 4096;
  return c;
}

member_info member(std::uint64_t id, const std::string& cluster = "c1", std::string uuid = {}) {
  member_info m{node_id{static_cast<std::uint32_t>(id)}, uuid.empty() ? uuid_of(id) : std::move(uuid), "k" + std::to_string(id),
                "r" + std::to_string(id)};
  m.announced.state = formation::kind::member;
  m.announced.cluster_id = cluster;
  return m;
}

member_info joiner(std::uint64_t id, const std::string& cluster = "c1") {
  member_info m{node_id{static_cast<std::uint32_t>(id)}, uuid_of(id), "k" + std::to_string(id), "r" + std::to_string(id)};
  m.joining_cluster = cluster;
  return m;
}

consensus::raft_status status(role r, std::vector<std::uint64_t> voters, std::vector<std::uint64_t> learners = {},
                              std::uint64_t term = 2, std::uint64_t commit = 1, std::uint64_t leader = 1) {
  consensus::raft_status st;
  st.state = r;
  st.term = term_id{term};
  st.leader = node_id{static_cast<std::uint32_t>(leader)};
  st.commit = log_index{commit};
  for (auto v : voters) {
    st.conf.voters.push_back(node_id{static_cast<std::uint32_t>(v)});
    st.match[node_id{static_cast<std::uint32_t>(v)}] = log_index{commit};
  }
  for (auto l : learners) {
    st.conf.learners.push_back(node_id{static_cast<std::uint32_t>(l)});
    st.match[node_id{static_cast<std::uint32_t>(l)}] = log_index{commit};
  }
  return st;
}

consensus::entry command(std::uint64_t index, std::string data) {
  return consensus::entry{term_id{1}, log_index{index}, consensus::entry_type::normal, std::move(data)};
}

consensus::entry registration(std::uint64_t index, std::uint64_t id, std::string uuid = {}) {
  return command(index, commands::register_broker({node_id{static_cast<std::uint32_t>(id)}, uuid.empty() ? uuid_of(id) : std::move(uuid),
                                                   "k" + std::to_string(id), "r" + std::to_string(id), {}}));
}

consensus::entry empty_entry(std::uint64_t index) { return command(index, {}); }

// A running node of cluster c1.
struct fixture {
  meta_node node;
  std::uint64_t next_index = 1;

  explicit fixture(std::uint64_t self = 1, meta_node_config cfg = {}) : node(cfg.self.value() ? cfg : config_for(self)) {
    node.open_group("c1");
  }
  meta_ready tick(std::uint64_t now_ms, std::optional<consensus::raft_status> st, std::vector<member_info> members = {},
                  std::optional<std::string> storage_failure = {}) {
    node.tick(now_ms, meta_observation{std::move(st), std::move(members), std::move(storage_failure)});
    return node.take_ready();
  }
  void register_all(std::vector<std::uint64_t> ids) {
    for (auto id : ids) ASSERT_TRUE(node.apply(registration(next_index++, id)).value().has_value());
  }
};

// --- pacing -------------------------------------------------------------------------------------

TEST(MetaNode, RegistrationIsReproposedOnlyAfterThePause) {
  fixture f;
  const auto st = status(role::leader, {1});
  auto rd = f.tick(1000, st, {member(1)});
  ASSERT_EQ(rd.proposals.size(), 1u);
  EXPECT_EQ(rd.proposals[0].command, registration(0, 1).data);
  // Not applied yet (a proposal on its way): the controller runs again, but does not re-propose.
  for (std::uint64_t t = 1050; t < 2000; t += 50) EXPECT_TRUE(f.tick(t, st, {member(1)}).proposals.empty()) << t;
  // A lost proposal is retried once the pause has passed.
  EXPECT_EQ(f.tick(2000, st, {member(1)}).proposals.size(), 1u);
  // Once applied, nothing more is proposed.
  f.register_all({1});
  EXPECT_TRUE(f.tick(3500, st, {member(1)}).proposals.empty());
}

// Regression (CI, kafka_txn_offsets): a broker killed and restarted within the pause after it was
// marked dead stayed dead in `__meta` until the pause ran out, and a topic of replication factor 3
// created meanwhile was refused. Only the same proposal waits for the pause.
TEST(MetaNode, ABrokerBackFromDeadIsRegisteredWithoutWaitingForThePause) {
  fixture f;
  f.register_all({1, 2});
  const auto st = status(role::leader, {1, 2});
  auto gone = member(2);
  gone.down = true;
  auto rd = f.tick(1000, st, {member(1), gone});
  ASSERT_EQ(rd.proposals.size(), 1u);
  EXPECT_EQ(rd.proposals[0].command, commands::set_broker_state(node_id{2}, uuid_of(2), broker_state::dead));
  ASSERT_TRUE(f.node.apply(command(f.next_index++, rd.proposals[0].command)).value().has_value());
  ASSERT_EQ(f.node.state().broker(node_id{2})->state, broker_state::dead);
  // Back 100 ms later: registered (and so alive) again by the next run, not at 2000.
  rd = f.tick(1100, st, {member(1), member(2)});
  ASSERT_EQ(rd.proposals.size(), 1u);
  EXPECT_EQ(rd.proposals[0].command, registration(0, 2).data);
  // The registration itself is paced as before.
  EXPECT_TRUE(f.tick(1150, st, {member(1), member(2)}).proposals.empty());
  EXPECT_EQ(f.tick(2100, st, {member(1), member(2)}).proposals.size(), 1u);
}

TEST(MetaNode, TheControllerRunsAtMostEveryInterval) {
  fixture f;
  f.register_all({1, 2});
  const auto st = status(role::leader, {1});
  // Node 2 is registered but outside the configuration: the plan adds it as a learner. The shell
  // did not manage to propose it, so each controller run plans it again, but not sooner.
  auto rd = f.tick(1000, st, {member(1), member(2)});
  ASSERT_TRUE(rd.conf_change);
  EXPECT_EQ(rd.conf_change->change, (conf_change{conf_change::kind::add_learner, node_id{2}}));
  EXPECT_FALSE(f.tick(1010, st, {member(1), member(2)}).conf_change);
  EXPECT_FALSE(f.tick(1049, st, {member(1), member(2)}).conf_change);
  EXPECT_TRUE(f.tick(1050, st, {member(1), member(2)}).conf_change);
}

TEST(MetaNode, OnlyTheLeaderRunsTheController) {
  fixture f;
  auto rd = f.tick(1000, status(role::follower, {1, 2}, {}, 2, 1, 2), {member(1), member(2), member(3)});
  EXPECT_TRUE(rd.proposals.empty());
  EXPECT_FALSE(rd.conf_change);
}

// --- one configuration change at a time (§4.1) ---------------------------------------------------

TEST(MetaNode, OneConfigurationChangeInFlight) {
  fixture f;
  f.register_all({1, 2, 3});
  const std::vector<member_info> seen{member(1), member(2), member(3)};
  auto rd = f.tick(1000, status(role::leader, {1}, {}, 2, 3), seen);
  ASSERT_TRUE(rd.conf_change);
  f.node.conf_change_proposed(log_index{4});
  // Not committed yet: no other change, however long it takes.
  for (std::uint64_t t = 1050; t < 5000; t += 50)
    EXPECT_FALSE(f.tick(t, status(role::leader, {1}, {2}, 2, 3), seen).conf_change) << t;
  // Committed: the next change may go.
  rd = f.tick(5000, status(role::leader, {1}, {2}, 2, 4), seen);
  ASSERT_TRUE(rd.conf_change);
  EXPECT_EQ(rd.conf_change->change, (conf_change{conf_change::kind::add_voter, node_id{2}}));
}

TEST(MetaNode, AChangeOfAnEarlierTermDoesNotBlockTheNewLeader) {
  fixture f;
  f.register_all({1, 2});
  const std::vector<member_info> seen{member(1), member(2)};
  ASSERT_TRUE(f.tick(1000, status(role::leader, {1}, {}, 2, 2), seen).conf_change);
  f.node.conf_change_proposed(log_index{3});
  EXPECT_FALSE(f.tick(1050, status(role::leader, {1}, {}, 2, 2), seen).conf_change);
  // Leadership moved away and back in term 4: the old entry either committed or was overwritten,
  // and the configuration in the status says which.
  EXPECT_TRUE(f.tick(1100, status(role::leader, {1}, {}, 4, 2), seen).conf_change);
}

// --- ReadIndex (§6.4) ---------------------------------------------------------------------------

TEST(MetaNode, ReadsAreRefusedWithoutAGroupOrALeader) {
  meta_node idle(config_for(1));
  EXPECT_EQ(idle.request_read().error(), read_refusal::no_group);
  fixture f;
  EXPECT_EQ(f.node.request_read().error(), read_refusal::no_leader);  // nothing observed yet
  f.tick(1000, status(role::follower, {1, 2}, {}, 2, 0, 0));
  EXPECT_EQ(f.node.request_read().error(), read_refusal::no_leader);
}

TEST(MetaNode, AReadCompletesOnceTheAnsweredIndexIsApplied) {
  fixture f;
  f.tick(1000, status(role::follower, {1, 2}, {}, 2, 1, 2));
  auto ticket = f.node.request_read();
  ASSERT_TRUE(ticket);
  EXPECT_TRUE(f.node.take_ready().reads.empty());
  f.node.read_answered(ticket->context, log_index{2});
  EXPECT_TRUE(f.node.take_ready().reads.empty());  // nothing applied yet
  ASSERT_FALSE(f.node.apply(empty_entry(1)));
  EXPECT_TRUE(f.node.take_ready().reads.empty());  // index 1 < 2
  ASSERT_TRUE(f.node.apply(registration(2, 1)));
  auto rd = f.node.take_ready();
  ASSERT_EQ(rd.reads.size(), 1u);
  EXPECT_EQ(rd.reads[0].id, ticket->id);
  EXPECT_TRUE(rd.reads[0].linearizable);
  EXPECT_EQ(f.node.pending_reads(), 0u);
  // A late or repeated answer for it is ignored.
  f.node.read_answered(ticket->context, log_index{2});
  EXPECT_TRUE(f.node.take_ready().reads.empty());
}

TEST(MetaNode, AnAnswerAtIndexZeroStillCompletesTheRead) {
  fixture f;
  f.tick(1000, status(role::leader, {1}));
  auto ticket = f.node.request_read();
  ASSERT_TRUE(ticket);
  f.node.read_answered(ticket->context, log_index{0});
  EXPECT_TRUE(f.node.take_ready().reads.empty());  // counted as 1, not applied yet
  (void)f.node.apply(empty_entry(1));
  EXPECT_EQ(f.node.take_ready().reads.size(), 1u);
}

TEST(MetaNode, AnUnansweredReadFailsAfterTheTimeout) {
  fixture f;
  f.tick(1000, status(role::follower, {1, 2}, {}, 2, 1, 2));
  auto ticket = f.node.request_read();
  ASSERT_TRUE(ticket);
  EXPECT_TRUE(f.tick(1499, status(role::follower, {1, 2}, {}, 2, 1, 2)).reads.empty());
  auto rd = f.tick(1500, status(role::follower, {1, 2}, {}, 2, 1, 2));
  ASSERT_EQ(rd.reads.size(), 1u);
  EXPECT_FALSE(rd.reads[0].linearizable);
  // Its answer arriving later changes nothing.
  f.node.read_answered(ticket->context, log_index{1});
  (void)f.node.apply(empty_entry(1));
  EXPECT_TRUE(f.node.take_ready().reads.empty());
}

TEST(MetaNode, ReadsAreBoundedAndFailWhenUnsentOrReset) {
  auto cfg = config_for(1);
  cfg.max_pending_reads = 2;
  fixture f(1, cfg);
  f.tick(1000, status(role::leader, {1}));
  auto a = f.node.request_read();
  auto b = f.node.request_read();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(f.node.request_read().error(), read_refusal::too_many);
  f.node.read_unsent(a->id);
  auto rd = f.node.take_ready();
  ASSERT_EQ(rd.reads.size(), 1u);
  EXPECT_EQ(rd.reads[0].id, a->id);
  EXPECT_FALSE(rd.reads[0].linearizable);
  f.node.read_answered(b->context, log_index{5});
  f.node.reset();  // the Raft state is discarded: the answer will never be applied
  rd = f.node.take_ready();
  ASSERT_EQ(rd.reads.size(), 1u);
  EXPECT_EQ(rd.reads[0].id, b->id);
  EXPECT_FALSE(rd.reads[0].linearizable);
}

// --- health -------------------------------------------------------------------------------------

TEST(MetaNode, HealthSaysWhatIsMissingAndIsReportedOnlyOnChange) {
  meta_node n(config_for(1));
  auto verdict = [&](std::optional<consensus::raft_status> st, std::optional<std::string> failure = {}) {
    n.tick(1000, meta_observation{std::move(st), {}, std::move(failure)});
    return n.take_ready().health;
  };
  EXPECT_EQ(verdict({}), (health_verdict{false, "not a member of a cluster yet"}));
  EXPECT_FALSE(verdict({}));  // unchanged: not reported again
  n.open_group("c1");
  EXPECT_EQ(verdict(status(role::follower, {1, 2}, {}, 2, 0, 0)), (health_verdict{false, "no known __meta leader"}));
  EXPECT_EQ(verdict(status(role::follower, {1, 2}, {}, 2, 1, 2)), (health_verdict{false, "not a registered broker yet"}));
  // Registered under another uuid (this id's previous data directory) is not this node.
  (void)n.apply(registration(1, 1, "uuid-old"));
  EXPECT_FALSE(verdict(status(role::follower, {1, 2}, {}, 2, 1, 2)));
  (void)n.apply(command(2, commands::set_broker_state(node_id{1}, "uuid-old", broker_state::dead)));
  (void)n.apply(registration(3, 1));
  EXPECT_EQ(verdict(status(role::follower, {1, 2}, {}, 2, 1, 2)), (health_verdict{true, "ready"}));
  EXPECT_FALSE(verdict(status(role::leader, {1, 2}, {}, 3, 1, 1)));
  EXPECT_EQ(verdict({}, "fdatasync: ENOSPC"), (health_verdict{false, "storage failed, node fenced: fdatasync: ENOSPC"}));
}

// --- join detection -----------------------------------------------------------------------------

TEST(MetaNode, AJoinerHasJoinedOnceTheConfigurationListsIt) {
  fixture f(4);
  f.node.set_joining(true);
  f.register_all({1, 2, 3, 4});
  EXPECT_FALSE(f.tick(1000, status(role::follower, {1, 2, 3}, {}, 2, 4, 1)).joined);
  auto rd = f.tick(1010, status(role::follower, {1, 2, 3}, {4}, 2, 4, 1));
  ASSERT_TRUE(rd.joined);
  EXPECT_EQ(rd.joined->cluster_id, "c1");
  EXPECT_EQ(rd.joined->voters, (std::vector<node_ref>{{chronik::node_id{1}, uuid_of(1)}, {chronik::node_id{2}, uuid_of(2)}, {chronik::node_id{3}, uuid_of(3)}}));
  EXPECT_FALSE(f.node.joining());
  EXPECT_FALSE(f.tick(1020, status(role::follower, {1, 2, 3}, {4}, 2, 4, 1)).joined);  // once
}

// The controller adds a joiner as a learner in the same run that registers it; the listing may
// show before the registration is applied here, and the join waits for it.
TEST(MetaNode, AJoinWaitsForTheRegistrationOfThisUuid) {
  fixture f(4);
  f.node.set_joining(true);
  f.register_all({1, 2, 3});
  EXPECT_FALSE(f.tick(1000, status(role::follower, {1, 2, 3}, {4}, 2, 3, 1)).joined);
  EXPECT_TRUE(f.node.joining());
  f.register_all({4});
  EXPECT_TRUE(f.tick(1010, status(role::follower, {1, 2, 3}, {4}, 2, 4, 1)).joined);
}

// Regression (formation sim, soak seed 69000162): the founder crashed before any registration
// committed and came back wiped; the configuration listed its id (the old replica) and `__meta`
// registered nobody under it. It must not count as joined on the listing alone.
TEST(MetaNode, AWipedNodeListedUnderItsOldIdWithNoRegistrationHasNotJoined) {
  fixture f(1);
  f.node.set_joining(true);
  EXPECT_FALSE(f.tick(1000, status(role::follower, {1, 2, 3}, {}, 2, 3, 2)).joined);
  EXPECT_TRUE(f.node.joining());
}

TEST(MetaNode, ANodeThatDidNotAskToJoinReportsNoJoin) {
  fixture f(2);
  EXPECT_FALSE(f.tick(1000, status(role::follower, {1, 2}, {}, 2, 1, 1)).joined);
}

// Regression (found by the formation simulation once it ran this core): a wiped node comes back
// under its old id while the configuration still lists the old replica. Taking that listing for a
// join made it announce itself a member, so the controller never removed the old replica (it does
// so only for a node asking to join) and never registered the new uuid.
TEST(MetaNode, AWipedNodeListedUnderItsOldReplicaHasNotJoined) {
  fixture f(2);
  f.node.set_joining(true);
  f.register_all({1, 3});
  ASSERT_TRUE(f.node.apply(registration(f.next_index++, 2, "uuid-before-wipe")).value().has_value());
  EXPECT_FALSE(f.tick(1000, status(role::follower, {1, 2, 3}, {}, 2, 3, 1)).joined);
  EXPECT_TRUE(f.node.joining());
  // The controller removed the old replica, marked it dead, registered the new uuid and added
  // the node back as a learner.
  (void)f.node.apply(command(f.next_index++, commands::set_broker_state(node_id{2}, "uuid-before-wipe", broker_state::dead)));
  ASSERT_TRUE(f.node.apply(registration(f.next_index++, 2)).value().has_value());
  EXPECT_TRUE(f.tick(1010, status(role::follower, {1, 3}, {2}, 2, 5, 1)).joined);
}

// The controller sees a wiped node only while it asks to join, and then removes its old replica.
TEST(MetaNode, TheLeaderRemovesTheOldReplicaOfAWipedJoiner) {
  fixture f(1);
  f.register_all({1, 2, 3});
  auto wiped = joiner(2);
  wiped.uuid = "uuid-after-wipe";
  auto rd = f.tick(1000, status(role::leader, {1, 2, 3}, {}, 2, 3), {member(1), wiped, member(3)});
  ASSERT_TRUE(rd.conf_change);
  EXPECT_EQ(rd.conf_change->change, (conf_change{conf_change::kind::remove, node_id{2}}));
}

// --- applying and snapshots (Raft paper §7) -----------------------------------------------------

TEST(MetaNode, EntriesThatAreNoCommandsAreSkipped) {
  fixture f;
  EXPECT_FALSE(f.node.apply(empty_entry(1)));
  EXPECT_FALSE(f.node.apply(consensus::entry{term_id{1}, log_index{2}, consensus::entry_type::conf_change,
                                             conf_change{conf_change::kind::add_voter, node_id{1}}.encode()}));
  auto bad = f.node.apply(command(3, "not a command"));
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->has_value());  // rejected, still applied
  EXPECT_EQ(f.node.state().applied_index(), log_index{3});
  EXPECT_FALSE(f.node.apply(registration(3, 1)));  // covered: never applied twice
}

TEST(MetaNode, ASnapshotIsOfferedEveryNEntriesUntilTaken) {
  auto cfg = config_for(1);
  cfg.snapshot_entries = 3;
  fixture f(1, cfg);
  f.register_all({1, 2});
  EXPECT_FALSE(f.node.take_ready().snapshot);
  f.register_all({3});
  auto rd = f.node.take_ready();
  ASSERT_TRUE(rd.snapshot);
  EXPECT_EQ(*rd.snapshot, log_index{3});
  EXPECT_FALSE(f.node.take_ready().snapshot);  // offered once per applied index
  // The store failed (never reported taken): offered again once more is applied.
  f.register_all({4});
  rd = f.node.take_ready();
  ASSERT_TRUE(rd.snapshot);
  EXPECT_EQ(*rd.snapshot, log_index{4});
  f.node.snapshot_taken(log_index{4});
  f.register_all({5, 6});
  EXPECT_FALSE(f.node.take_ready().snapshot);
  f.register_all({7});
  rd = f.node.take_ready();
  ASSERT_TRUE(rd.snapshot);
  EXPECT_EQ(*rd.snapshot, log_index{7});
}

TEST(MetaNode, AnInstalledSnapshotReplacesTheStateAndCountsAsTaken) {
  auto cfg = config_for(2);
  cfg.snapshot_entries = 3;
  fixture leader(1, cfg);
  leader.register_all({1, 2, 3});
  const consensus::snapshot snap{{log_index{3}, term_id{1}, {}}, leader.node.state().snapshot()};

  fixture f(2, cfg);
  auto r = f.node.restore(snap);
  ASSERT_TRUE(r);
  EXPECT_TRUE(*r);
  EXPECT_EQ(f.node.state().applied_index(), log_index{3});
  EXPECT_EQ(f.node.snapshot_index(), log_index{3});
  EXPECT_EQ(f.node.state().brokers().size(), 3u);
  EXPECT_FALSE(f.node.take_ready().snapshot);
  EXPECT_FALSE(f.node.apply(registration(3, 9)));  // covered by the snapshot
  EXPECT_FALSE(*f.node.restore(snap));             // not newer: ignored
  consensus::snapshot garbage{{log_index{9}, term_id{1}, {}}, "garbage"};
  EXPECT_FALSE(f.node.restore(garbage).has_value());
  EXPECT_EQ(f.node.state().applied_index(), log_index{3});
}

TEST(MetaNode, ResetForgetsTheStateAndWhatTheControllerProposed) {
  fixture f;
  const auto st = status(role::leader, {1});
  ASSERT_EQ(f.tick(1000, st, {member(1)}).proposals.size(), 1u);
  f.register_all({1});
  f.node.reset();
  EXPECT_EQ(f.node.state().applied_index(), log_index{0});
  // The reopened group replays its log; until then the registration is planned afresh, at once.
  EXPECT_EQ(f.tick(1050, st, {member(1)}).proposals.size(), 1u);
}

// --- the founder's campaign (docs/bootstrap.md) --------------------------------------------------

member_info promised(std::uint64_t id) {
  member_info m = member(id);
  m.announced.state = formation::kind::promised;
  return m;
}

// The founder campaigns at once; a vote request that reached a voter before its group existed was
// dropped, so while there is no leader it campaigns again each time more voters announce
// membership, and stops once all have.
TEST(MetaNode, TheFounderCampaignsAgainAsMoreVotersCreateTheGroup) {
  fixture f;
  f.node.found({node_id{1}, node_id{2}, node_id{3}});
  const auto no_leader = status(role::candidate, {1, 2, 3}, {}, 2, 0, 0);
  EXPECT_TRUE(f.tick(1000, no_leader, {member(1), promised(2), promised(3)}).campaign);
  // Raft refused it (the bootstrap entries are still on their way to disk): asked again.
  EXPECT_TRUE(f.tick(1050, no_leader, {member(1), promised(2), promised(3)}).campaign);
  f.node.campaigned();
  EXPECT_FALSE(f.tick(1100, no_leader, {member(1), promised(2), promised(3)}).campaign);
  EXPECT_FALSE(f.tick(1150, no_leader, {member(1), member(2, "another"), promised(3)}).campaign);
  EXPECT_TRUE(f.tick(1200, no_leader, {member(1), member(2), promised(3)}).campaign);  // 2 created it
  f.node.campaigned();
  EXPECT_FALSE(f.tick(1250, no_leader, {member(1), member(2), promised(3)}).campaign);
  EXPECT_TRUE(f.tick(1300, no_leader, {member(1), member(2), member(3)}).campaign);  // and 3
  f.node.campaigned();
  // Every voter heard the last campaign: the founding is over, election timers take it from here.
  EXPECT_FALSE(f.tick(1350, no_leader, {member(1), member(2), member(3)}).campaign);
}

TEST(MetaNode, TheFounderDoesNotCampaignOnceThereIsALeader) {
  fixture f;
  f.node.found({node_id{1}, node_id{2}, node_id{3}});
  // Another voter's election timer was faster: campaigning now would only depose it.
  const auto led = status(role::follower, {1, 2, 3}, {}, 2, 1, 2);
  EXPECT_FALSE(f.tick(1000, led, {member(1), member(2), member(3)}).campaign);
  EXPECT_FALSE(f.tick(1050, status(role::follower, {1, 2, 3}, {}, 2, 1, 0), {member(1), member(2), member(3)}).campaign);
}

TEST(MetaNode, OnlyAFounderCampaigns) {
  fixture f;
  EXPECT_FALSE(f.tick(1000, status(role::follower, {1, 2, 3}, {}, 1, 0, 0), {member(1), member(2), member(3)}).campaign);
}

}  // namespace
}  // namespace chronik::metadata
