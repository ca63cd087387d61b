// The leader's steps of a replica move (kafka/partition/move_planner.h): learners first, promotion
// once caught up, leaving voters last, the leader's own departure by leadership transfer, and the
// report once the voters are the target.
#include <vector>

#include <gtest/gtest.h>

#include "kafka/partition/move_planner.h"

namespace chronik::kafka {
namespace {

using consensus::conf_change;
using consensus::log_index;
using consensus::node_id;
using ids = std::vector<node_id>;

node_id n(std::uint32_t v) { return node_id{v}; }

consensus::raft_status leader(std::uint32_t self, ids voters, ids learners, std::uint64_t commit,
                              std::map<node_id, log_index> match = {}) {
  consensus::raft_status st;
  st.id = n(self);
  st.state = consensus::role::leader;
  st.conf = {std::move(voters), std::move(learners)};
  st.commit = log_index{commit};
  st.match = std::move(match);
  return st;
}

move_step change(conf_change::kind op, std::uint32_t id) { return {move_step::kind::change, conf_change{op, n(id)}, {}, ""}; }

// The planner's step without its log text.
move_step step(const ids& target, const consensus::raft_status& st) {
  move_step s = plan_move_step(target, st);
  s.why = "";
  return s;
}

TEST(MovePlanner, OnlyTheLeaderActs) {
  auto st = leader(1, {n(1), n(2), n(3)}, {}, 10);
  st.state = consensus::role::follower;
  EXPECT_EQ(step({n(4), n(2), n(3)}, st).what, move_step::kind::wait);
}

TEST(MovePlanner, NewReplicasJoinAsLearnersBeforeAnyPromotion) {
  const ids target{n(4), n(5), n(3)};
  EXPECT_EQ(step(target, leader(1, {n(1), n(2), n(3)}, {}, 10)), change(conf_change::kind::add_learner, 4));
  // 4 is caught up, but 5 is added before 4 is promoted, so both copy the log at once.
  EXPECT_EQ(step(target, leader(1, {n(1), n(2), n(3)}, {n(4)}, 10, {{n(4), log_index{10}}})),
            change(conf_change::kind::add_learner, 5));
}

TEST(MovePlanner, ALearnerIsPromotedOnlyOnceItReachedTheCommitIndex) {
  const ids target{n(4), n(2), n(3)};
  EXPECT_EQ(step(target, leader(1, {n(1), n(2), n(3)}, {n(4)}, 10, {{n(4), log_index{9}}})).what, move_step::kind::wait);
  EXPECT_EQ(step(target, leader(1, {n(1), n(2), n(3)}, {n(4)}, 10, {{n(4), log_index{10}}})),
            change(conf_change::kind::add_voter, 4));
}

TEST(MovePlanner, LeavingVotersGoLastAndTheLeaderTransfersInsteadOfRemovingItself) {
  const ids target{n(4), n(2), n(3)};
  // Node 2 leads and node 1 leaves: removed once 4 votes.
  EXPECT_EQ(step(target, leader(2, {n(1), n(2), n(3), n(4)}, {}, 10, {{n(3), log_index{10}}, {n(4), log_index{10}}})),
            change(conf_change::kind::remove, 1));
  // Node 1 leads and is the one leaving: leadership goes to the preferred replica when it holds
  // the whole log...
  auto st = leader(1, {n(1), n(2), n(3), n(4)}, {}, 10, {{n(2), log_index{12}}, {n(3), log_index{12}}, {n(4), log_index{12}}});
  st.last_index = log_index{12};
  auto s = step(target, st);
  EXPECT_EQ(s.what, move_step::kind::transfer);
  EXPECT_EQ(s.to, n(4));
  // ...and else to the first that does (node 4 was down while entries past the commit index went out).
  st.commit = log_index{9};
  st.match[n(4)] = log_index{9};
  EXPECT_EQ(step(target, st).to, n(2));
  // None does: the one holding the most.
  st.match = {{n(2), log_index{10}}, {n(3), log_index{11}}, {n(4), log_index{9}}};
  EXPECT_EQ(step(target, st).to, n(3));
  // A target voter short of the commit index: the leader stays until it catches up.
  st.match[n(4)] = log_index{8};
  EXPECT_EQ(step(target, st).what, move_step::kind::wait);
}

TEST(MovePlanner, NoVoterLeavesWhileATargetVoterLags) {
  const ids target{n(4), n(2), n(3)};
  auto st = leader(2, {n(1), n(2), n(3), n(4)}, {}, 10, {{n(3), log_index{10}}, {n(4), log_index{7}}});
  EXPECT_EQ(step(target, st).what, move_step::kind::wait) << "node 4 holds 7 of 10 committed";
  st.match[n(4)] = log_index{10};
  EXPECT_EQ(step(target, st), change(conf_change::kind::remove, 1));
}

TEST(MovePlanner, ALearnerOutsideTheTargetLeavesFirst) {
  // A cancelled move: 4 was being added.
  EXPECT_EQ(step({n(1), n(2), n(3)}, leader(1, {n(1), n(2), n(3)}, {n(4)}, 10, {{n(4), log_index{3}}})),
            change(conf_change::kind::remove, 4));
}

TEST(MovePlanner, TheMoveIsReportedOnceTheVotersAreTheTarget) {
  EXPECT_EQ(step({n(4), n(2), n(3)}, leader(4, {n(2), n(3), n(4)}, {}, 10)).what, move_step::kind::finish);
  // Shrinking: remove the extra voter first.
  EXPECT_EQ(step({n(1), n(2)}, leader(1, {n(1), n(2), n(3)}, {}, 10, {{n(2), log_index{10}}})), change(conf_change::kind::remove, 3));
  EXPECT_EQ(step({n(1), n(2)}, leader(1, {n(1), n(2)}, {}, 10)).what, move_step::kind::finish);
}

// A cancel right after the leader proposed add_learner 4: the committed voters already are the
// target, but the change still in the log would add a member `__meta` no longer lists.
TEST(MovePlanner, NoReportWhileAnEntryIsUncommitted) {
  auto st = leader(2, {n(2), n(3)}, {}, 111);
  st.last_index = log_index{114};
  EXPECT_EQ(step({n(3), n(2)}, st).what, move_step::kind::wait);
  st.commit = log_index{114};
  EXPECT_EQ(step({n(3), n(2)}, st).what, move_step::kind::finish);
}

}  // namespace
}  // namespace chronik::kafka
