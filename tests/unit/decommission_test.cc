// Decommission (metadata/decommission.h and its record in the `__meta` state machine): when it may
// start, cancel and finish; the moves the controller plans (replication factor kept, least loaded
// and same-rack takers, a bound on moves at once); that nothing new lands on the node; progress;
// snapshots; and the controller's `__meta` configuration steps (metadata/meta_controller.h step 5).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "metadata/decommission.h"
#include "metadata/meta_commands.h"
#include "metadata/meta_controller.h"
#include "metadata/meta_state.h"

namespace chronik::metadata {
namespace {

namespace cmd = commands;
using ids = std::vector<node_id>;
using consensus::conf_change;

node_id n(std::uint32_t v) { return node_id{v}; }

// A `__meta` state machine fed real commands, as every replica applies them.
struct machine {
  meta_state s;
  std::uint64_t next_index = 1;
  std::uint64_t nonce = 1;

  explicit machine(std::uint32_t brokers, std::vector<std::string> racks = {}) {
    for (std::uint32_t b = 1; b <= brokers; ++b) {
      const std::string v = std::to_string(b);
      const std::string rack = b <= racks.size() ? racks[b - 1] : "";
      EXPECT_TRUE(run(cmd::register_broker({n(b), "uuid-" + v, "127.0.0." + v + ":9092", "127.0.0." + v + ":7000", rack})));
    }
  }
  std::expected<apply_result, meta_errc> run(const std::string& bytes) { return s.apply(log_index{next_index++}, bytes); }

  topic_id topic(const std::string& name, const std::vector<ids>& assignments) {
    cmd::topic_spec t;
    t.name = name;
    t.id.bytes[0] = static_cast<std::uint8_t>(name.size());
    t.id.bytes[1] = static_cast<std::uint8_t>(name[0]);
    t.assignments = assignments;
    EXPECT_TRUE(run(cmd::create_topic(t)));
    return t.id;
  }
  std::expected<apply_result, meta_errc> decommission(std::uint32_t id, decommission_state to) {
    return run(cmd::set_broker_decommission(n(id), "", to));
  }
  decommission_state state_of(std::uint32_t id) const { return s.broker(n(id))->decommission; }
  // Starts every planned move and has each partition's leader report it finished, as the shells do.
  std::size_t carry_out(std::size_t max_moves) {
    auto moves = plan_decommission_moves(s.data(), max_moves);
    for (const auto& m : moves) EXPECT_TRUE(run(cmd::alter_reassignment(m.topic, m.partition, m.target, nonce++)));
    for (const auto& m : moves) {
      const partition_record& p = *s.partition(m.topic, m.partition);
      EXPECT_TRUE(run(cmd::complete_reassignment(m.topic, m.partition, p.inc, p.move_id, m.target)));
    }
    return moves.size();
  }
};

bool lists(const ids& v, std::uint32_t id) { return std::find(v.begin(), v.end(), n(id)) != v.end(); }

TEST(Decommission, StartsOnlyWhenTheBrokersLeftCanHoldTheWidestPartition) {
  machine m(3);
  m.topic("wide", {{n(1), n(2), n(3)}});
  auto r = m.decommission(2, decommission_state::moving);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), meta_errc::too_few_brokers);
  EXPECT_EQ(m.state_of(2), decommission_state::none);

  machine four(4);
  four.topic("wide", {{n(1), n(2), n(3)}});
  ASSERT_TRUE(four.decommission(2, decommission_state::moving));
  EXPECT_EQ(four.state_of(2), decommission_state::moving);
  // A second one would leave two brokers for three replicas.
  auto second = four.decommission(3, decommission_state::moving);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), meta_errc::too_few_brokers);
  // Repeating the operator's command is harmless.
  auto again = four.decommission(2, decommission_state::moving);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->changed);
}

TEST(Decommission, CancelAndDoneOnlyFromMovingAndDoneOnlyOnceNothingIsLeft) {
  machine m(4);
  m.topic("t", {{n(1), n(2), n(3)}});
  EXPECT_EQ(m.decommission(2, decommission_state::done).error(), meta_errc::wrong_decommission_state);
  EXPECT_EQ(m.decommission(2, decommission_state::none).value().changed, false);  // already none: accepted
  ASSERT_TRUE(m.decommission(2, decommission_state::moving));
  EXPECT_EQ(m.decommission(2, decommission_state::done).error(), meta_errc::decommission_incomplete);
  ASSERT_TRUE(m.decommission(2, decommission_state::none));  // cancel
  EXPECT_EQ(m.state_of(2), decommission_state::none);

  ASSERT_TRUE(m.decommission(2, decommission_state::moving));
  EXPECT_EQ(m.carry_out(4), 1u);
  EXPECT_EQ(emptied_decommissions(m.s.data()), ids{n(2)});
  ASSERT_TRUE(m.decommission(2, decommission_state::done));
  EXPECT_EQ(m.state_of(2), decommission_state::done);
  EXPECT_EQ(m.decommission(2, decommission_state::moving).error(), meta_errc::wrong_decommission_state);
  EXPECT_EQ(m.decommission(2, decommission_state::none).error(), meta_errc::wrong_decommission_state);
  // The Kafka-visible state: no broker takes replicas on it any more.
  EXPECT_FALSE(m.s.broker(n(2))->takes_replicas());
  EXPECT_TRUE(m.s.broker(n(2))->leads_nothing());
}

TEST(Decommission, ARestartKeepsItAndAWipedDataDirectoryIsANewBroker) {
  machine m(4);
  ASSERT_TRUE(m.decommission(3, decommission_state::moving));
  ASSERT_TRUE(m.run(cmd::register_broker({n(3), "uuid-3", "127.0.0.3:9092", "127.0.0.3:7000", ""})));
  EXPECT_EQ(m.state_of(3), decommission_state::moving);
  // A command for a previous life of the node does not touch the new one.
  ASSERT_TRUE(m.run(cmd::register_broker({n(3), "uuid-3b", "127.0.0.3:9092", "127.0.0.3:7000", ""})));
  EXPECT_EQ(m.state_of(3), decommission_state::none);
  EXPECT_EQ(m.run(cmd::set_broker_decommission(n(3), "uuid-3", decommission_state::moving)).error(),
            meta_errc::broker_uuid_mismatch);
}

TEST(Decommission, MovesKeepTheReplicationFactorAndGoToTheLeastLoadedBroker) {
  machine m(5);
  const auto a = m.topic("a", {{n(2), n(1), n(3)}, {n(1), n(2), n(4)}, {n(3), n(4), n(5)}});
  ASSERT_TRUE(m.decommission(2, decommission_state::moving));
  auto moves = plan_decommission_moves(m.s.data(), 8);
  ASSERT_EQ(moves.size(), 2u);
  // Partition 0: the next replica becomes the preferred leader; 5 is listed by one partition, 4 by
  // two, and 2 itself is out.
  EXPECT_EQ(moves[0].topic, a);
  EXPECT_EQ(moves[0].partition, 0);
  EXPECT_EQ(moves[0].target, (ids{n(1), n(3), n(5)}));
  // Partition 1: 5 now counts the move above, so 3 (also two) wins on the lower id.
  EXPECT_EQ(moves[1].target, (ids{n(1), n(4), n(3)}));
  for (const auto& mv : moves) {
    EXPECT_EQ(mv.leaving, n(2));
    EXPECT_FALSE(lists(mv.target, 2));
  }
}

TEST(Decommission, PrefersATakerInTheLeavingBrokersRack) {
  machine m(4, {"east", "west", "east", "west"});
  m.topic("r", {{n(1), n(2), n(3)}});
  ASSERT_TRUE(m.decommission(2, decommission_state::moving));
  auto moves = plan_decommission_moves(m.s.data(), 8);
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].taking, n(4));
}

TEST(Decommission, BoundsThePartitionsMovingAtOnceAndFinishesThemAll) {
  machine m(4);
  std::vector<ids> rows(10, ids{n(1), n(2), n(3)});
  m.topic("many", rows);
  ASSERT_TRUE(m.decommission(3, decommission_state::moving));
  EXPECT_EQ(plan_decommission_moves(m.s.data(), 4).size(), 4u);
  // A move already in progress (an operator's) counts against the bound.
  const auto id = m.s.topic("many")->id;
  ASSERT_TRUE(m.run(cmd::alter_reassignment(id, 9, ids{n(4), n(1), n(2)}, m.nonce++)));
  EXPECT_EQ(plan_decommission_moves(m.s.data(), 4).size(), 3u);
  const auto p = progress_of(m.s.data(), n(3));
  EXPECT_EQ(p.state, decommission_state::moving);
  EXPECT_EQ(p.partitions_left, 10u);
  EXPECT_EQ(p.moving, 1u);
  EXPECT_EQ(p.stuck, 0u);

  const partition_record& last = *m.s.partition(id, 9);
  ASSERT_TRUE(m.run(cmd::complete_reassignment(id, 9, last.inc, last.move_id, ids{n(4), n(1), n(2)})));
  std::size_t rounds = 0;
  while (m.carry_out(4) > 0) ++rounds;
  EXPECT_EQ(rounds, 3u);  // 9 partitions, 4 at a time
  EXPECT_EQ(progress_of(m.s.data(), n(3)).partitions_left, 0u);
  for (const auto& p : m.s.topic("many")->partitions) {
    EXPECT_EQ(p.replicas.size(), 3u);
    EXPECT_FALSE(lists(p.replicas, 3));
  }
}

TEST(Decommission, NothingNewLandsOnTheNode) {
  machine m(4);
  ASSERT_TRUE(m.decommission(4, decommission_state::moving));
  cmd::topic_spec t;
  t.name = "fresh";
  t.id.bytes[0] = 7;
  t.partitions = 8;
  t.replication_factor = 3;
  ASSERT_TRUE(m.run(cmd::create_topic(t)));
  for (const auto& p : m.s.topic("fresh")->partitions) EXPECT_FALSE(lists(p.replicas, 4));
  EXPECT_EQ(m.run(cmd::alter_reassignment(t.id, 0, ids{n(4), n(1), n(2)}, m.nonce++)).error(),
            meta_errc::invalid_replica_assignment);
  // A fourth replica has nowhere to go.
  t.name = "too-wide";
  t.id.bytes[0] = 8;
  t.replication_factor = 4;
  EXPECT_EQ(m.run(cmd::create_topic(t)).error(), meta_errc::invalid_replication_factor);
}

TEST(Decommission, APartitionNoLiveBrokerCanTakeIsStuckUntilOneComesBack) {
  machine m(4);
  m.topic("x", {{n(1), n(2)}});
  ASSERT_TRUE(m.decommission(2, decommission_state::moving));
  ASSERT_TRUE(m.run(cmd::set_broker_state(n(3), "uuid-3", broker_state::dead)));
  ASSERT_TRUE(m.run(cmd::set_broker_state(n(4), "uuid-4", broker_state::dead)));
  auto p = progress_of(m.s.data(), n(2));
  EXPECT_EQ(p.partitions_left, 1u);
  EXPECT_EQ(p.stuck, 1u);
  EXPECT_TRUE(plan_decommission_moves(m.s.data(), 4).empty());
  ASSERT_TRUE(m.run(cmd::set_broker_state(n(4), "uuid-4", broker_state::alive)));
  EXPECT_EQ(progress_of(m.s.data(), n(2)).stuck, 0u);
  auto moves = plan_decommission_moves(m.s.data(), 4);
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].taking, n(4));
}

TEST(Decommission, SurvivesASnapshot) {
  machine m(4);
  ASSERT_TRUE(m.decommission(2, decommission_state::moving));
  meta_state restored;
  ASSERT_TRUE(restored.restore(m.s.snapshot()));
  EXPECT_EQ(restored.broker(n(2))->decommission, decommission_state::moving);
  EXPECT_EQ(restored.data(), m.s.data());
}

// --- the controller's `__meta` configuration steps ----------------------------------------------

struct controller {
  machine m;
  controller_input in;
  explicit controller(std::uint32_t brokers, ids voters, ids learners) : m(brokers) {
    in.self = n(1);
    in.state = &m.s.data();
    in.commit = log_index{50};
    in.conf.voters = voters;
    in.conf.learners = learners;
    for (std::uint32_t b = 1; b <= brokers; ++b) {
      const std::string v = std::to_string(b);
      in.nodes.push_back({n(b), "uuid-" + v, "127.0.0." + v + ":9092", "127.0.0." + v + ":7000"});
      in.match[n(b)] = log_index{50};
    }
  }
  controller_plan plan() const { return plan_controller(in); }
};

bool is(const controller_plan& p, conf_change::kind op, std::uint32_t id) {
  return p.change && p.change->op == op && p.change->node == n(id);
}

TEST(DecommissionController, RecordsDoneThenPromotesAReplacementBeforeTheVoterLeaves) {
  controller c(4, {n(1), n(2), n(3)}, {n(4)});
  ASSERT_TRUE(c.m.decommission(2, decommission_state::moving));
  // Nothing on it: done is proposed at once; the learner is promoted meanwhile.
  auto p = c.plan();
  ASSERT_EQ(p.decommissioned.size(), 1u);
  EXPECT_EQ(p.decommissioned[0].id, n(2));
  EXPECT_EQ(p.decommissioned[0].uuid, "uuid-2");
  EXPECT_TRUE(is(p, conf_change::kind::add_voter, 4));
  c.in.conf = {{n(1), n(2), n(3), n(4)}, {}};
  EXPECT_FALSE(c.plan().change);  // not done yet: it stays a member until it applied done
  ASSERT_TRUE(c.m.decommission(2, decommission_state::done));
  EXPECT_TRUE(is(c.plan(), conf_change::kind::remove, 2));
  c.in.conf = {{n(1), n(3), n(4)}, {}};
  p = c.plan();
  EXPECT_FALSE(p.change);
  EXPECT_TRUE(p.decommissioned.empty());
}

TEST(DecommissionController, NeverDoneWhileHoldingReplicas) {
  controller c(4, {n(1), n(2), n(3)}, {});
  c.m.topic("t", {{n(2), n(3), n(4)}});
  ASSERT_TRUE(c.m.decommission(2, decommission_state::moving));
  auto p = c.plan();
  EXPECT_TRUE(p.decommissioned.empty());
  EXPECT_FALSE(is(p, conf_change::kind::remove, 2));
  ASSERT_EQ(p.moves.size(), 1u);
  EXPECT_EQ(p.moves[0].target, (ids{n(3), n(4), n(1)}));
}

TEST(DecommissionController, RemovesADoneLearnerAndNeverAddsTheNodeBack) {
  controller c(4, {n(1), n(2), n(3)}, {n(4)});
  ASSERT_TRUE(c.m.decommission(4, decommission_state::moving));
  EXPECT_FALSE(c.plan().change);  // never promoted while moving
  ASSERT_TRUE(c.m.decommission(4, decommission_state::done));
  EXPECT_TRUE(is(c.plan(), conf_change::kind::remove, 4));
  c.in.conf = {{n(1), n(2), n(3)}, {}};
  auto p = c.plan();
  EXPECT_FALSE(p.change);                // a live node outside the configuration, but decommissioned
  EXPECT_TRUE(p.registrations.empty());  // still running, still not re-registered
}

TEST(DecommissionController, ADoneNodeLeavesOnceItHoldsEverythingCommittedOrIsDown) {
  controller c(4, {n(1), n(2), n(3)}, {n(4)});
  ASSERT_TRUE(c.m.decommission(4, decommission_state::moving));
  ASSERT_TRUE(c.m.decommission(4, decommission_state::done));
  c.in.match[n(4)] = log_index{49};  // its done record may be the one it lacks
  EXPECT_FALSE(c.plan().change);
  c.in.nodes[3].swim = swim_view::down;  // stopped: it never will catch up
  EXPECT_TRUE(is(c.plan(), conf_change::kind::remove, 4));
}

TEST(DecommissionController, NeverRemovesItselfAndShrinksWhenNoReplacementExists) {
  controller c(3, {n(1), n(2), n(3)}, {});
  ASSERT_TRUE(c.m.decommission(1, decommission_state::moving));
  ASSERT_TRUE(c.m.decommission(1, decommission_state::done));
  EXPECT_FALSE(c.plan().change);  // node 1 leads: it hands leadership over first
  c.in.self = n(3);
  EXPECT_TRUE(is(c.plan(), conf_change::kind::remove, 1));
}

}  // namespace
}  // namespace chronik::metadata
