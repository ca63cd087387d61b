// InstallSnapshot on a follower whose log already holds the snapshot's last entry (Raft paper §7,
// step 6): the log and what follows the snapshot's index are kept. Found by the host simulation
// (tests/sim/host_sim_test.cc, seed 21000165): a snapshot sent after a rejected probe overtook
// the appends that had caught the follower up; installing it dropped entries the follower had
// already acknowledged, and the leader had counted them for commit.
#include <gtest/gtest.h>

#include "consensus/core/memory_storage.h"
#include "consensus/core/raft.h"
#include "tests/unit/raft_test_net.h"

namespace chronik::consensus {
namespace {

using testing::nid;

void persist_and_advance(raft& r, memory_storage& disk) {
  ready rd = r.get_ready();
  disk.persist(rd.hard_state_update, rd.snapshot_update, rd.entries);
  r.advance(rd);
}

TEST(raft_snapshot, a_snapshot_inside_the_log_keeps_the_entries_after_it) {
  conf_state conf;
  conf.voters = {nid(1), nid(2), nid(3)};
  memory_storage disk(conf);  // bootstrap entries 1..3 at term 1
  raft follower(testing::test_config(), nid(2), disk, 7);

  message app{message_type::append, nid(1), nid(2), term_id{2}};
  app.index = log_index{3};
  app.log_term = term_id{1};
  for (std::uint64_t i = 4; i <= 7; ++i) app.entries.push_back(entry{term_id{2}, log_index{i}, entry_type::normal, "e"});
  app.commit = log_index{3};
  follower.step(app);
  persist_and_advance(follower, disk);  // 4..7 durable and acknowledged
  ASSERT_EQ(disk.last_index(), log_index{7});

  message snap{message_type::snapshot_chunk, nid(1), nid(2), term_id{2}};
  snap.snap_meta = snapshot_meta{log_index{5}, term_id{2}, conf};
  snap.snap_data = "state at 5";
  snap.snap_done = true;
  follower.step(snap);
  ready rd = follower.get_ready();
  EXPECT_FALSE(rd.snapshot_update.has_value());
  EXPECT_EQ(follower.log().last_index(), log_index{7});
  EXPECT_EQ(follower.status().commit, log_index{5});
  ASSERT_FALSE(rd.committed_entries.empty());
  EXPECT_EQ(rd.committed_entries.back().index, log_index{5});
  const bool answered = std::ranges::any_of(rd.messages, [](const message& m) {
    return m.type == message_type::append_response && !m.reject && m.index == log_index{5};
  });
  EXPECT_TRUE(answered);
}

TEST(raft_snapshot, a_snapshot_past_a_conflicting_log_still_replaces_it) {
  conf_state conf;
  conf.voters = {nid(1), nid(2), nid(3)};
  memory_storage disk(conf);
  raft follower(testing::test_config(), nid(2), disk, 7);
  message snap{message_type::snapshot_chunk, nid(1), nid(2), term_id{2}};
  snap.snap_meta = snapshot_meta{log_index{9}, term_id{2}, conf};
  snap.snap_done = true;
  follower.step(snap);
  ready rd = follower.get_ready();
  ASSERT_TRUE(rd.snapshot_update.has_value());
  EXPECT_EQ(rd.snapshot_update->meta.index, log_index{9});
}

}  // namespace
}  // namespace chronik::consensus
