// kafka/partition/leader_epochs.h: where each leader epoch (Raft term) begins, and the
// OffsetForLeaderEpoch answer (KIP-101, KIP-279, KIP-320; Kafka's LeaderEpochFileCache) for every requested epoch,
// across elections without records, compaction from the start, a snapshot, and a rebuild.
#include <gtest/gtest.h>

#include <vector>

#include "kafka/partition/leader_epochs.h"

namespace chronik::kafka {
namespace {

// Epoch 1 writes [0, 10), epoch 3 [10, 20), epoch 5 from 20; each term starts with its leader's
// no-op at the high watermark of its election, then its record entries.
leader_epochs three_terms() {
  leader_epochs m;
  m.observe(1, 0);  // no-op
  m.observe(1, 0);
  m.observe(1, 5);
  m.observe(3, 10);  // no-op
  m.observe(3, 10);
  m.observe(3, 12);
  m.observe(5, 20);  // no-op
  m.observe(5, 20);
  return m;
}

TEST(LeaderEpochs, OneEntryPerTermAtItsFirstOffset) {
  const auto m = three_terms();
  EXPECT_EQ(m.entries(), (std::deque<epoch_start>{{1, 0}, {3, 10}, {5, 20}}));
  EXPECT_EQ(m.latest_epoch(), 5);
}

TEST(LeaderEpochs, EachOffsetHasTheEpochThatWroteIt) {
  const auto m = three_terms();
  EXPECT_EQ(m.epoch_at(0), 1);
  EXPECT_EQ(m.epoch_at(9), 1);
  EXPECT_EQ(m.epoch_at(10), 3);
  EXPECT_EQ(m.epoch_at(19), 3);
  EXPECT_EQ(m.epoch_at(20), 5);
  EXPECT_EQ(m.epoch_at(1'000), 5);  // the log end: the epoch being written
  EXPECT_EQ(m.epoch_at(-1), undefined_epoch);
  EXPECT_EQ(leader_epochs{}.epoch_at(0), undefined_epoch);
}

TEST(LeaderEpochs, EndOffsetIsWhereTheNextLargerEpochStarts) {
  const auto m = three_terms();
  constexpr std::int64_t hw = 25;
  EXPECT_EQ(m.end_offset_for(5, 0, hw), (epoch_end{5, hw})) << "the latest epoch ends at the log end";
  EXPECT_EQ(m.end_offset_for(4, 0, hw), (epoch_end{3, 20})) << "no epoch 4: the largest below it";
  EXPECT_EQ(m.end_offset_for(3, 0, hw), (epoch_end{3, 20}));
  EXPECT_EQ(m.end_offset_for(2, 0, hw), (epoch_end{1, 10}));
  EXPECT_EQ(m.end_offset_for(1, 0, hw), (epoch_end{1, 10}));
  // Older than anything in the log: the requested epoch, ending where the first one starts.
  EXPECT_EQ(m.end_offset_for(0, 0, hw), (epoch_end{0, 0}));
}

TEST(LeaderEpochs, UndefinedForMinusOneNewerEpochsAndAnEmptyLog) {
  const auto m = three_terms();
  EXPECT_EQ(m.end_offset_for(-1, 0, 25), (epoch_end{undefined_epoch, undefined_epoch_offset}));
  EXPECT_EQ(m.end_offset_for(6, 0, 25), (epoch_end{}));
  EXPECT_EQ(leader_epochs{}.end_offset_for(1, 0, 0), (epoch_end{}));
  EXPECT_EQ(leader_epochs{}.latest_epoch(), undefined_epoch);
}

// A term whose leader wrote only its no-op (it lost leadership before any produce) took no
// offsets: the next term replaces it, so elections alone never grow the map, and asking for it
// answers the epoch before it.
TEST(LeaderEpochs, TermsThatTookNoOffsetsAreReplacedByTheNext) {
  leader_epochs m;
  m.observe(1, 0);
  m.observe(1, 4);
  for (std::int32_t t = 2; t < 1000; ++t) m.observe(t, 10);
  m.observe(1000, 10);
  m.observe(1000, 11);
  EXPECT_EQ(m.entries(), (std::deque<epoch_start>{{1, 0}, {1000, 10}}));
  EXPECT_EQ(m.end_offset_for(500, 0, 12), (epoch_end{1, 10}));
  EXPECT_EQ(m.end_offset_for(1, 0, 12), (epoch_end{1, 10}));
  EXPECT_EQ(m.end_offset_for(1000, 0, 12), (epoch_end{1000, 12}));
}

// Retention (or DeleteRecords) moves the log start: the epoch holding it begins there. Epochs
// whose records are all gone answer with the first kept epoch's start (as Kafka's epoch cache), never with
// "undefined", which would make a consumer that read nothing truncated reset its position.
TEST(LeaderEpochs, CompactionFromTheStartKeepsTheEpochHoldingTheLogStart) {
  auto m = three_terms();
  m.truncate_from_start(12);
  EXPECT_EQ(m.entries(), (std::deque<epoch_start>{{3, 12}, {5, 20}}));
  EXPECT_EQ(m.end_offset_for(1, 12, 25), (epoch_end{1, 12}));
  EXPECT_EQ(m.end_offset_for(2, 12, 25), (epoch_end{2, 12}));
  EXPECT_EQ(m.end_offset_for(3, 12, 25), (epoch_end{3, 20}));
  EXPECT_EQ(m.end_offset_for(5, 12, 25), (epoch_end{5, 25}));

  // A cut exactly where an epoch starts drops the one before it.
  m.truncate_from_start(20);
  EXPECT_EQ(m.entries(), (std::deque<epoch_start>{{5, 20}}));
  EXPECT_EQ(m.end_offset_for(3, 20, 25), (epoch_end{3, 20}));
  // Inside the latest epoch: it stays, starting at the log start.
  m.truncate_from_start(23);
  EXPECT_EQ(m.entries(), (std::deque<epoch_start>{{5, 23}}));
  EXPECT_EQ(m.end_offset_for(4, 23, 25), (epoch_end{4, 23}));
  m.truncate_from_start(7);
  EXPECT_EQ(m.entries(), (std::deque<epoch_start>{{5, 23}})) << "the start never moves back";
}

// The lookup reads the log start it is given, so an answer is right before the map is pruned (a
// log start moved by another path than the replica's retention).
TEST(LeaderEpochs, LookupsBeforePruningMatchLookupsAfterIt) {
  const auto full = three_terms();
  constexpr std::int64_t hw = 25;
  for (std::int64_t start = 0; start <= hw; ++start) {
    auto pruned = full;
    pruned.truncate_from_start(start);
    for (std::int32_t epoch = -1; epoch <= 7; ++epoch) {
      EXPECT_EQ(full.end_offset_for(epoch, start, hw), pruned.end_offset_for(epoch, start, hw))
          << "epoch " << epoch << ", log start " << start;
    }
  }
}

// A snapshot install replaces the log before the cut: the map restarts from the entries after
// it, and answers as the leader that compacted through the same cut does.
TEST(LeaderEpochs, AfterASnapshotTheEntriesAfterTheCutGiveTheCompactedLeadersAnswers) {
  auto leader = three_terms();
  leader.truncate_from_start(15);
  leader_epochs installed = three_terms();
  installed.clear();
  installed.observe(3, 15);  // the first entry after the cut is of term 3
  installed.observe(5, 20);
  EXPECT_EQ(installed.entries(), leader.entries());
  for (std::int32_t epoch = -1; epoch <= 7; ++epoch)
    EXPECT_EQ(installed.end_offset_for(epoch, 15, 25), leader.end_offset_for(epoch, 15, 25)) << epoch;
}

TEST(LeaderEpochs, TermsBeyondInt32StayAtTheLargestEpoch) {
  EXPECT_EQ(epoch_of_term(7), 7);
  EXPECT_EQ(epoch_of_term(std::uint64_t{1} << 40), std::numeric_limits<std::int32_t>::max());
  leader_epochs m;
  m.observe(epoch_of_term(std::uint64_t{1} << 40), 0);
  m.observe(epoch_of_term((std::uint64_t{1} << 40) + 1), 3);
  EXPECT_EQ(m.entries().size(), 1u);
}

TEST(LeaderEpochsDeathTest, AnEpochGoingBackwardsIsABrokenInvariant) {
  leader_epochs m;
  m.observe(4, 0);
  EXPECT_DEATH(m.observe(3, 5), "never decrease");
}

}  // namespace
}  // namespace chronik::kafka
