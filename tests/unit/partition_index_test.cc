// kafka/partition/partition_index.h: dense offsets assigned in commit order, fetch lookups by
// offset and byte budget, timestamps, retention by time and size, and snapshots at a cut.
#include <gtest/gtest.h>

#include "kafka/partition/partition_index.h"

namespace chronik::kafka {
namespace {

entry_summary batch(std::int32_t records, std::int64_t ts = 1000, std::uint64_t bytes = 100) {
  return {records, ts, bytes};
}

TEST(PartitionIndex, OffsetsAreDenseAcrossEntriesAndSkippedEntries) {
  partition_index ix;
  EXPECT_EQ(ix.append(log_index{2}, batch(3)).base_offset, 0);
  ix.skip(log_index{3});  // a no-op or configuration change holds no offsets
  auto e = ix.append(log_index{4}, batch(2));
  EXPECT_EQ(e.base_offset, 3);
  EXPECT_EQ(e.end_offset(), 5);
  EXPECT_EQ(ix.high_watermark(), 5);
  EXPECT_EQ(ix.log_start_offset(), 0);
  EXPECT_EQ(ix.applied(), log_index{4});
}

TEST(PartitionIndex, FromOffsetFindsTheHoldingEntryAndRespectsTheByteBudget) {
  partition_index ix;
  ix.append(log_index{1}, batch(10));  // 0..9
  ix.append(log_index{2}, batch(10));  // 10..19
  ix.append(log_index{3}, batch(10));  // 20..29
  auto all = ix.from_offset(0, 1'000);
  ASSERT_EQ(all.size(), 3u);
  auto mid = ix.from_offset(15, 150);  // inside the second entry; budget for one entry more than the first
  ASSERT_EQ(mid.size(), 1u);
  EXPECT_EQ(mid[0].index, log_index{2});
  auto small = ix.from_offset(25, 1);  // the first entry always comes
  ASSERT_EQ(small.size(), 1u);
  EXPECT_EQ(small[0].base_offset, 20);
  EXPECT_TRUE(ix.from_offset(30, 1'000).empty()) << "at the high watermark";
  EXPECT_TRUE(ix.from_offset(-1, 1'000).empty());
}

TEST(PartitionIndex, EntryForTimestampIsTheFirstEntryReachingIt) {
  partition_index ix;
  ix.append(log_index{1}, batch(5, 100));
  ix.append(log_index{2}, batch(5, 300));
  ix.append(log_index{3}, batch(5, 200));  // producer timestamps need not grow
  const auto base = [&](std::int64_t ts) -> std::optional<std::int64_t> {
    auto e = ix.entry_for_timestamp(ts);
    return e ? std::optional(e->base_offset) : std::nullopt;
  };
  EXPECT_EQ(base(50), 0);
  EXPECT_EQ(base(150), 5);
  EXPECT_EQ(base(300), 5);
  EXPECT_EQ(base(301), std::nullopt);
  EXPECT_EQ(ix.entry_for_timestamp(150)->index, log_index{2});
}

// KIP-734's max timestamp: the entry holding the log's largest timestamp, the earlier on a tie;
// entries of unknown timestamp (-1) never answer.
TEST(PartitionIndex, EntryWithMaxTimestampIsTheFirstHoldingTheLargest) {
  partition_index ix;
  EXPECT_EQ(ix.entry_with_max_timestamp(), std::nullopt) << "empty";
  ix.append(log_index{1}, batch(5, -1));
  EXPECT_EQ(ix.entry_with_max_timestamp(), std::nullopt) << "no known timestamp";
  ix.append(log_index{2}, batch(5, 100));
  ix.append(log_index{3}, batch(5, 300));
  ix.append(log_index{4}, batch(5, 200));  // producer timestamps need not grow
  ix.append(log_index{5}, batch(5, 300));
  auto e = ix.entry_with_max_timestamp();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->index, log_index{3});
  EXPECT_EQ(e->base_offset, 10);
  EXPECT_EQ(e->max_timestamp, 300);
}

TEST(PartitionIndex, RetentionByTimeAndSizeKeepsTheNewestEntry) {
  partition_index ix;
  ix.append(log_index{1}, batch(1, 1'000, 100));
  ix.append(log_index{2}, batch(1, 2'000, 100));
  ix.append(log_index{3}, batch(1, 3'000, 100));
  EXPECT_EQ(ix.retention_point(10'000, -1, -1), std::nullopt) << "both disabled";
  auto by_time = ix.retention_point(3'500, 1'000, -1);  // older than 2'500 goes: entries 1 and 2
  ASSERT_TRUE(by_time);
  EXPECT_EQ(by_time->index, log_index{2});
  EXPECT_EQ(by_time->next_offset, 2);
  auto by_size = ix.retention_point(0, -1, 150);  // keep at most 150 bytes: only the newest fits
  ASSERT_TRUE(by_size);
  EXPECT_EQ(by_size->index, log_index{2});
  auto everything_old = ix.retention_point(1'000'000, 1, -1);
  ASSERT_TRUE(everything_old);
  EXPECT_EQ(everything_old->index, log_index{2}) << "the newest entry stays";

  ix.drop_through(*by_time);
  EXPECT_EQ(ix.log_start_offset(), 2);
  EXPECT_EQ(ix.size_bytes(), 100u);
  EXPECT_TRUE(ix.from_offset(1, 1'000).empty()) << "below the log start";
  ASSERT_EQ(ix.from_offset(2, 1'000).size(), 1u);
}

TEST(PartitionIndex, SnapshotAtACutRestoresStartAndNextAndEntriesFollowFromTheLog) {
  partition_index ix;
  ix.append(log_index{1}, batch(4));
  ix.append(log_index{2}, batch(4));
  const auto cut = log_cut{log_index{2}, 8};
  partition_index replica;
  auto state = replica.restore(partition_index::snapshot_at(cut, "producers"));
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, "producers") << "the rest of the state machine comes back as it went";
  EXPECT_EQ(replica.applied(), log_index{2});
  EXPECT_EQ(replica.log_start_offset(), 8);
  EXPECT_EQ(replica.high_watermark(), 8);
  EXPECT_EQ(replica.append(log_index{3}, batch(2)).base_offset, 8);
  EXPECT_EQ(ix.append(log_index{3}, batch(2)).base_offset, 8) << "the same offsets as a replica that kept its log";
}

TEST(PartitionIndex, MalformedSnapshotsAreRefusedAndChangeNothing) {
  partition_index ix;
  ix.append(log_index{1}, batch(4));
  EXPECT_FALSE(ix.restore(""));
  EXPECT_FALSE(ix.restore(std::string(17, '\x07')));
  std::string negative = partition_index::snapshot_at({log_index{1}, 0}, "");
  negative[9] = '\xff';
  EXPECT_FALSE(ix.restore(negative));
  EXPECT_EQ(ix.high_watermark(), 4);
}

TEST(PartitionIndex, AVersionOneSnapshotOfTheCutAloneStillRestores) {
  // Written before snapshots carried the producers: version 1, exactly the cut.
  std::string v1 = partition_index::snapshot_at({log_index{5}, 40}, "");
  v1[0] = '\x01';
  partition_index ix;
  auto state = ix.restore(v1);
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->empty());
  EXPECT_EQ(ix.high_watermark(), 40);
  v1 += "x";
  EXPECT_FALSE(ix.restore(v1)) << "version 1 is the cut and nothing else";
}

}  // namespace
}  // namespace chronik::kafka
