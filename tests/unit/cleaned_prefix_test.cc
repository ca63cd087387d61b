// A compacted partition's cleaned prefix (kafka/partition/cleaned_prefix.h) and how the offset
// index carries it (partition_index::compact_through, the version 3 snapshot): fetches below the
// cut come from the prefix, across its gaps; the prefix survives a snapshot; the log start stays.
#include <gtest/gtest.h>

#include "kafka/partition/cleaned_prefix.h"
#include "kafka/partition/partition_index.h"
#include "kafka/protocol/record_batch.h"
#include "tests/unit/record_test_util.h"

namespace chronik::kafka {
namespace {

// A batch at `base` whose records span `span` offsets (its last offset delta), one record kept.
std::string batch_at(std::int64_t base, std::int32_t span, std::int64_t max_ts) {
  record_batch_header h;
  h.base_offset = base;
  h.last_offset_delta = span - 1;
  h.base_timestamp = max_ts;
  h.max_timestamp = max_ts;
  h.records_count = 1;
  return build_record_batch(h, testing::record(0, span - 1, "v" + std::to_string(base)));
}

cleaned_prefix prefix_of(const std::string& bytes) {
  auto p = cleaned_prefix::from_batches(bytes);
  EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().text);
  return p ? *p : cleaned_prefix{};
}

// The base offsets of the batches in a chain.
std::vector<std::int64_t> bases(const byte_chain& c) {
  std::vector<std::int64_t> out;
  auto split = split_record_batches(c.flatten());
  EXPECT_TRUE(split.has_value());
  if (split)
    for (const auto& b : *split) out.push_back(b.header.base_offset);
  return out;
}

using offsets = std::vector<std::int64_t>;

TEST(cleaned_prefix, fetches_start_at_the_batch_holding_the_offset_or_after_its_gap) {
  // Batches over 0..3, 10..11 and 20..24; the cleaner removed everything in between.
  const cleaned_prefix p = prefix_of(batch_at(0, 4, 100) + batch_at(10, 2, 300) + batch_at(20, 5, 200));
  EXPECT_EQ(p.batch_count(), 3u);
  EXPECT_EQ(p.end_offset(), 25);
  EXPECT_EQ(bases(p.from_offset(0, 1 << 20)), (offsets{0, 10, 20}));
  EXPECT_EQ(bases(p.from_offset(3, 1 << 20)), (offsets{0, 10, 20})) << "inside the first batch";
  EXPECT_EQ(bases(p.from_offset(4, 1 << 20)), (offsets{10, 20})) << "in a gap: the next batch";
  EXPECT_EQ(bases(p.from_offset(24, 1 << 20)), (offsets{20}));
  EXPECT_TRUE(p.from_offset(25, 1 << 20).empty());
  EXPECT_EQ(bases(p.from_offset(0, 1)), (offsets{0})) << "the first batch comes whatever the budget";
  // The answer shares the prefix's bytes.
  EXPECT_EQ(p.from_offset(10, 1).pieces().front().view.data(), p.bytes().data() + p.batches()[1].pos);
}

TEST(cleaned_prefix, timestamps_and_the_log_start_moving_up) {
  const cleaned_prefix p = prefix_of(batch_at(0, 4, 100) + batch_at(10, 2, 300) + batch_at(20, 5, 200));
  EXPECT_EQ(p.batch_for_timestamp(150)->base_offset, 10);
  EXPECT_EQ(p.batch_for_timestamp(100)->base_offset, 0);
  EXPECT_FALSE(p.batch_for_timestamp(301));
  EXPECT_EQ(p.batch_with_max_timestamp()->base_offset, 10);
  const cleaned_prefix rest = p.without_below(11);
  EXPECT_EQ(rest.batch_count(), 2u) << "the batch holding the new start stays";
  EXPECT_EQ(bases(rest.from_offset(0, 1 << 20)), (offsets{10, 20}));
  EXPECT_TRUE(p.without_below(25).empty());
}

TEST(cleaned_prefix, overlapping_or_damaged_batches_are_refused) {
  EXPECT_FALSE(cleaned_prefix::from_batches(batch_at(0, 4, 1) + batch_at(3, 1, 1)));
  std::string cut_short = batch_at(0, 4, 1);
  cut_short.pop_back();
  EXPECT_FALSE(cleaned_prefix::from_batches(cut_short));
  EXPECT_TRUE(cleaned_prefix::from_batches("")->empty());
}

TEST(cleaned_prefix, the_index_serves_the_prefix_below_the_cut_and_entries_after_it) {
  partition_index ix;
  ix.append(log_index{1}, {4, 100, 50});   // 0..3
  ix.append(log_index{2}, {6, 200, 50});   // 4..9
  ix.append(log_index{3}, {2, 300, 50});   // 10..11
  // The cleaner kept offsets 2 and 7 of the first two entries.
  const cleaned_prefix kept = prefix_of(batch_at(2, 1, 100) + batch_at(7, 1, 200));
  ix.compact_through(log_cut{log_index{2}, 10}, kept);
  EXPECT_EQ(ix.log_start_offset(), 0) << "compaction does not move the log start";
  EXPECT_EQ(ix.head_start_offset(), 10);
  EXPECT_EQ(ix.high_watermark(), 12);
  EXPECT_EQ(ix.entry_count(), 1u);
  EXPECT_EQ(ix.size_bytes(), 50u + kept.size_bytes());
  ASSERT_EQ(ix.from_offset(10, 1 << 20).size(), 1u);
  EXPECT_EQ(bases(ix.cleaned().from_offset(0, 1 << 20)), (offsets{2, 7}));

  // A version 3 snapshot carries the log start and the prefix to a replica that never had them.
  const std::string snap = partition_index::snapshot_at(log_cut{log_index{2}, 10}, 0, kept, "producers");
  partition_index replica;
  auto state = replica.restore(snap);
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, "producers");
  EXPECT_EQ(replica.log_start_offset(), 0);
  EXPECT_EQ(replica.head_start_offset(), 10);
  EXPECT_EQ(replica.high_watermark(), 10);
  EXPECT_EQ(replica.cleaned().bytes(), kept.bytes());
  EXPECT_EQ(replica.append(log_index{3}, {2, 300, 50}).base_offset, 10);

  // DeleteRecords moves the start up into the prefix: batches wholly below it go.
  replica.delete_before(5);
  EXPECT_EQ(bases(replica.cleaned().from_offset(0, 1 << 20)), (offsets{7}));
}

TEST(cleaned_prefix, malformed_version_3_snapshots_are_refused) {
  const cleaned_prefix kept = prefix_of(batch_at(2, 1, 100));
  const std::string good = partition_index::snapshot_at(log_cut{log_index{2}, 10}, 0, kept, "");
  partition_index ix;
  ASSERT_TRUE(ix.restore(good));
  std::string long_length = good;
  long_length[25] = '\x7f';  // the prefix's length now runs past the snapshot
  EXPECT_FALSE(ix.restore(long_length));
  std::string start_past_cut = good;
  start_past_cut[24] = 11;  // log start 11 > cut 10
  EXPECT_FALSE(ix.restore(start_past_cut));
  // A prefix that reaches past the cut is a snapshot some bug wrote.
  const std::string past = partition_index::snapshot_at(log_cut{log_index{2}, 10}, 0,
                                                        prefix_of(batch_at(2, 1, 100)), "");
  std::string reaching = past;
  reaching[16] = 2;  // cut's next offset 2: the batch at 2 is no longer below it
  EXPECT_FALSE(ix.restore(reaching));
  EXPECT_TRUE(ix.restore(good));
}

}  // namespace
}  // namespace chronik::kafka
