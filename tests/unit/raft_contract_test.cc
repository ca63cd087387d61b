// The contracts the Raft core asserts (docs/design.md "Errors"): raft_log's invariants (applied <=
// committed <= last index, terms never decreasing, appends without gaps) and the shell's side of
// get_ready()/advance() stated in consensus/core/raft.h. Each broken contract aborts with one line
// naming it; the legal sequences next to them show the checks do not fire on correct use.
#include <gtest/gtest.h>

#include <vector>

#include "consensus/core/memory_storage.h"
#include "consensus/core/raft.h"
#include "consensus/core/raft_log.h"
#include "tests/unit/raft_test_net.h"

namespace chronik::consensus::testing {
namespace {

entry ent(std::uint64_t term, std::uint64_t index) { return entry{term_id{term}, log_index{index}, entry_type::normal, "x"}; }

// A one-voter storage: index 1 holds the bootstrap configuration entry at term 1, committed.
conf_state one_voter() { return conf_state{{nid(1)}, {}}; }

TEST(RaftLogContract, LegalAppendsCommitsAndStableBoundary) {
  memory_storage disk(one_voter());
  raft_log log(disk);
  const log_index last = log.last_index();
  EXPECT_EQ(log.append({ent(2, last.value + 1), ent(2, last.value + 2), ent(3, last.value + 3)}), log_index{last.value + 3});
  EXPECT_EQ(log.last_stable_index(), last);  // the new entries are not durable yet
  disk.persist(std::nullopt, std::nullopt, log.unstable_entries());
  log.stable_to(log_index{last.value + 3}, term_id{3});
  EXPECT_EQ(log.last_stable_index(), log_index{last.value + 3});
  log.commit_to(log_index{last.value + 2});
  log.applied_to(log_index{last.value + 2});
  EXPECT_EQ(log.applied(), log.committed());
}

TEST(RaftLogContractDeathTest, CommitPastTheLastIndex) {
  memory_storage disk(one_voter());
  raft_log log(disk);
  EXPECT_DEATH(log.commit_to(log_index{log.last_index().value + 1}), "precondition broken: commit beyond the last index");
}

TEST(RaftLogContractDeathTest, AppliedPastCommitted) {
  memory_storage disk(one_voter());
  raft_log log(disk);
  log.append({ent(2, log.last_index().value + 1)});
  EXPECT_DEATH(log.applied_to(log.last_index()), "precondition broken: applied beyond the commit index");
}

TEST(RaftLogContractDeathTest, TermsDecreasingWithinAnAppendedRun) {
  memory_storage disk(one_voter());
  raft_log log(disk);
  const std::uint64_t next = log.last_index().value + 1;
  EXPECT_DEATH(log.append({ent(3, next), ent(2, next + 1)}), "terms never decrease along the log");
}

TEST(RaftLogContractDeathTest, TermBelowThePredecessorInTheLog) {
  memory_storage disk(one_voter());
  raft_log log(disk);
  log.append({ent(4, log.last_index().value + 1)});
  EXPECT_DEATH(log.append({ent(3, log.last_index().value + 1)}), "an appended entry's term is not below its predecessor's");
}

TEST(RaftLogContractDeathTest, AppendLeavingAGapOrSkippingIndexes) {
  memory_storage disk(one_voter());
  raft_log log(disk);
  const std::uint64_t next = log.last_index().value + 1;
  EXPECT_DEATH(log.append({ent(2, next + 2)}), "a leader appends at the end of its log");
  EXPECT_DEATH(log.append({ent(2, next), ent(2, next + 2)}), "appended entries have consecutive indexes");
}

// A one-node group that has elected itself and proposed one entry, with that ready taken.
struct one_node {
  memory_storage disk{one_voter()};
  raft core{test_config(), nid(1), disk, 7};

  one_node() {
    core.campaign();
    settle();
    EXPECT_EQ(core.state(), role::leader);
    EXPECT_TRUE(core.propose("payload").has_value());
  }
  // The whole contract, for readies before the one under test.
  void settle() {
    for (int i = 0; i < 10 && core.has_ready(); ++i) {
      ready rd = core.get_ready();
      disk.persist(rd.hard_state_update, rd.snapshot_update, rd.entries);
      core.advance(rd);
    }
  }
};

TEST(RaftAdvanceContract, PersistThenAdvanceIsAccepted) {
  one_node n;
  ready rd = n.core.get_ready();
  ASSERT_FALSE(rd.entries.empty());
  n.disk.persist(rd.hard_state_update, rd.snapshot_update, rd.entries);
  n.core.advance(rd);
  n.settle();  // the entry commits once durable (one voter) and is handed out
  EXPECT_EQ(n.core.log().applied(), n.core.log().last_index());
}

TEST(RaftAdvanceContractDeathTest, AdvanceBeforeTheEntriesAreDurable) {
  one_node n;
  ready rd = n.core.get_ready();
  ASSERT_FALSE(rd.entries.empty());
  EXPECT_DEATH(n.core.advance(rd), "precondition broken: the ready's entries are durable before advance");
}

TEST(RaftAdvanceContractDeathTest, AdvanceWithoutAReadyOrTwice) {
  one_node n;
  EXPECT_DEATH(n.core.advance(ready{}), "advance\\(\\) answers the ready get_ready\\(\\) returned, once");
  ready rd = n.core.get_ready();
  n.disk.persist(rd.hard_state_update, rd.snapshot_update, rd.entries);
  n.core.advance(rd);
  EXPECT_DEATH(n.core.advance(rd), "advance\\(\\) answers the ready get_ready\\(\\) returned, once");
}

TEST(RaftAdvanceContractDeathTest, AdvanceWithOtherCommittedEntriesThanHandedOut) {
  one_node n;
  ready rd = n.core.get_ready();
  n.disk.persist(rd.hard_state_update, rd.snapshot_update, rd.entries);
  n.core.advance(rd);
  rd = n.core.get_ready();  // carries the now committed entry
  ASSERT_FALSE(rd.committed_entries.empty());
  n.disk.persist(rd.hard_state_update, rd.snapshot_update, rd.entries);
  ready skipped = rd;
  skipped.committed_entries.clear();  // a shell that dropped what it should apply
  EXPECT_DEATH(n.core.advance(skipped), "advance\\(\\) gets the committed entries get_ready\\(\\) handed out");
}

}  // namespace
}  // namespace chronik::consensus::testing
