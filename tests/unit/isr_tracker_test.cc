// The in-sync replica rule (kafka/partition/isr_tracker.h, Kafka's replica.lag.time.max.ms): a
// follower stays in sync while it keeps catching up with what the leader's log held, even when the
// leader's log keeps growing; one that stops, or starts empty, leaves after the window.
#include <gtest/gtest.h>

#include "kafka/partition/isr_tracker.h"

namespace chronik::kafka {
namespace {

using consensus::log_index;

const node_id n1{1}, n2{2}, n3{3};
const std::vector<node_id> replicas{n1, n2, n3};

TEST(IsrTracker, ANewLeaderCountsEveryReplicaCaughtUpAtTheStart) {
  isr_tracker t(1'000);
  t.start(0, replicas);
  EXPECT_EQ(t.in_sync(500, replicas, n1), replicas);
  EXPECT_EQ(t.in_sync(1'000, replicas, n1), replicas);
  // Nobody reported progress: the followers fall out after the window, the leader never does.
  EXPECT_EQ(t.in_sync(1'001, replicas, n1), (std::vector<node_id>{n1}));
}

TEST(IsrTracker, FollowersThatKeepUpWithAGrowingLogStayInSync) {
  isr_tracker t(1'000);
  t.start(0, replicas);
  // The leader appends all the time, so a follower is never at the very end when sampled; it is
  // in sync because it holds what the leader held a moment earlier.
  for (std::int64_t ms = 100, last = 10; ms <= 5'000; ms += 100, last += 10) {
    t.observe(ms, log_index{static_cast<std::uint64_t>(last)},
              {{n1, log_index{static_cast<std::uint64_t>(last)}},
               {n2, log_index{static_cast<std::uint64_t>(last - 10)}},   // one sample behind
               {n3, log_index{5}}});                                      // stuck
  }
  EXPECT_EQ(t.in_sync(5'000, replicas, n1), (std::vector<node_id>{n1, n2}));
}

TEST(IsrTracker, AStuckFollowerLeavesAfterTheWindowAndReturnsWhenItCatchesUp) {
  isr_tracker t(1'000);
  t.start(0, replicas);
  t.observe(100, log_index{50}, {{n2, log_index{50}}, {n3, log_index{50}}});
  t.observe(600, log_index{80}, {{n2, log_index{80}}, {n3, log_index{50}}});
  EXPECT_EQ(t.in_sync(1'100, replicas, n1), replicas);  // n3 held index 50, the log at 100 ms
  t.observe(1'150, log_index{90}, {{n2, log_index{90}}, {n3, log_index{50}}});
  EXPECT_EQ(t.in_sync(1'150, replicas, n1), (std::vector<node_id>{n1, n2}));
  t.observe(1'300, log_index{95}, {{n2, log_index{95}}, {n3, log_index{95}}});
  EXPECT_EQ(t.in_sync(1'300, replicas, n1), replicas);
}

// A follower whose data directory was wiped comes back with an empty log: it must not count as in
// sync just because its broker is alive again.
TEST(IsrTracker, AnEmptyFollowerIsNotInSyncOnceTheWindowPasses) {
  isr_tracker t(1'000);
  t.start(0, replicas);
  for (std::int64_t ms = 100; ms <= 3'000; ms += 100) {
    t.observe(ms, log_index{1'000}, {{n2, log_index{1'000}}, {n3, log_index{0}}});
  }
  EXPECT_EQ(t.in_sync(3'000, replicas, n1), (std::vector<node_id>{n1, n2}));
}

TEST(IsrTracker, StartingAgainForgetsTheOldLeadership) {
  isr_tracker t(1'000);
  t.start(0, replicas);
  t.observe(2'000, log_index{10}, {{n2, log_index{10}}});
  EXPECT_EQ(t.in_sync(2'000, replicas, n1), (std::vector<node_id>{n1, n2}));
  t.start(5'000, replicas);  // leader again, in a later term: a fresh start, a shorter log is fine
  t.observe(5'100, log_index{3}, {});
  EXPECT_EQ(t.in_sync(5'100, replicas, n1), replicas);
}

// A follower whose broker `__meta` shows down is out at once, even holding the whole log, and once
// back is in sync only after holding the log as of a moment after it was last seen down: what it
// held before it stopped does not keep it in for the window.
TEST(IsrTracker, AFencedFollowerIsOutWhileDownAndUntilItCatchesUpAfterwards) {
  isr_tracker t(30'000);
  t.start(0, replicas);
  t.observe(100, log_index{50}, {{n2, log_index{50}}, {n3, log_index{50}}});
  EXPECT_EQ(t.in_sync(100, replicas, n1), replicas);
  for (std::int64_t ms = 200; ms <= 1'000; ms += 100) {
    t.fence(ms, n3);  // stopped; no writes meanwhile, so it still holds the whole log
    t.observe(ms, log_index{50}, {{n2, log_index{50}}, {n3, log_index{50}}});
    EXPECT_EQ(t.in_sync(ms, replicas, n1), (std::vector<node_id>{n1, n2})) << ms;
  }
  // Back, while writes went on: it holds index 50, which the log last was at 1000 ms, not after.
  t.observe(1'100, log_index{80}, {{n2, log_index{80}}, {n3, log_index{50}}});
  t.observe(1'200, log_index{90}, {{n2, log_index{90}}, {n3, log_index{60}}});
  EXPECT_EQ(t.in_sync(1'200, replicas, n1), (std::vector<node_id>{n1, n2}));
  t.observe(1'300, log_index{95}, {{n2, log_index{95}}, {n3, log_index{90}}});  // the log at 1200 ms
  EXPECT_EQ(t.in_sync(1'300, replicas, n1), replicas);
}

// A quiesced leader repeats its last observation instead of copying its match map again
// (partition_replica::track_isr): the repeat keeps exactly who that observation kept in sync, for
// as long as it is repeated, and credits nobody the observation did not.
TEST(IsrTracker, ObservingAgainRepeatsTheLastObservationAtTheNewTime) {
  isr_tracker t(1'000);
  t.start(0, replicas);
  t.observe(100, log_index{50}, {{n1, log_index{50}}, {n2, log_index{50}}, {n3, log_index{40}}});
  for (std::int64_t ms = 600; ms <= 5'000; ms += 500) t.observe_again(ms);
  // n2 held the whole log at every repeat; n3 never did, and the window since the start passed.
  EXPECT_EQ(t.in_sync(5'000, replicas, n1), (std::vector<node_id>{n1, n2}));
  // A fence still counts: what n2 held before it was down does not keep it in.
  t.fence(5'100, n2);
  t.observe_again(5'100);
  EXPECT_EQ(t.in_sync(5'100, replicas, n1), (std::vector<node_id>{n1}));
  // Back, with the log unchanged: the next repeat, after the fence, finds it holding everything.
  t.observe_again(5'600);
  EXPECT_EQ(t.in_sync(5'600, replicas, n1), (std::vector<node_id>{n1, n2}));
  // A new observation replaces what is repeated.
  t.observe(6'000, log_index{60}, {{n1, log_index{60}}, {n2, log_index{60}}, {n3, log_index{60}}});
  t.observe_again(6'500);
  EXPECT_EQ(t.in_sync(6'500, replicas, n1), replicas);
}

}  // namespace
}  // namespace chronik::kafka
