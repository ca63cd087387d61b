// The WAL index's contract (consensus/storage/wal_index.h): records from the disk that break a
// rule are refused with an error, never an abort, and the invariants hold after each applied
// record; the one caller-side precondition (blob_used <= blob_size) aborts when broken.
#include "consensus/storage/wal_index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>

namespace chronik::consensus::detail {
namespace {

proto::WalRecord entries(std::uint64_t group, std::uint64_t first, std::initializer_list<std::uint64_t> terms) {
  proto::WalRecord r;
  auto* e = r.mutable_entries();
  e->set_group(group);
  e->set_first_index(first);
  for (std::uint64_t t : terms) {
    e->add_terms(t);
    e->add_types(0);
    e->add_lengths(1);
  }
  return r;
}

proto::WalRecord compact(std::uint64_t group, std::uint64_t through, std::uint64_t term) {
  proto::WalRecord r;
  r.mutable_compact()->set_group(group);
  r.mutable_compact()->set_through_index(through);
  r.mutable_compact()->set_term(term);
  return r;
}

proto::WalRecord truncate(std::uint64_t group, std::uint64_t from) {
  proto::WalRecord r;
  r.mutable_truncate()->set_group(group);
  r.mutable_truncate()->set_from_index(from);
  return r;
}

// One record on its own frame: the blob holds exactly its entries' bytes (one per entry here).
apply_result apply_one(wal_index& idx, const proto::WalRecord& r, std::uint64_t segment) {
  std::uint64_t used = 0;
  const auto blob = r.has_entries() ? static_cast<std::uint64_t>(r.entries().terms_size()) : 0;
  auto out = idx.apply(r, segment, 0, blob, used);
  EXPECT_TRUE(!out || used == blob);
  return out;
}

TEST(WalIndexContract, AppendTruncateCompactKeepTheLogAndCounts) {
  wal_index idx;
  ASSERT_TRUE(apply_one(idx, entries(7, 1, {1, 1, 2, 2}), 1).has_value());
  EXPECT_EQ(idx.live_entries(1), 4u);
  ASSERT_TRUE(apply_one(idx, truncate(7, 4), 1).has_value());
  ASSERT_TRUE(apply_one(idx, entries(7, 4, {3}), 2).has_value());
  ASSERT_TRUE(apply_one(idx, compact(7, 2, 1), 2).has_value());
  const group_state* g = idx.find(group_id{7});
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->last, log_index{4});
  EXPECT_EQ(g->compacted, log_index{2});
  EXPECT_EQ(g->term_at(log_index{4}), term_id{3});
  EXPECT_EQ(idx.live_entries(1), 1u);  // entry 3; 1, 2 compacted, 4 truncated
  EXPECT_EQ(idx.live_entries(2), 1u);
}

TEST(WalIndexContract, RuleBreakingRecordsAreErrorsNotAborts) {
  wal_index idx;
  ASSERT_TRUE(apply_one(idx, entries(1, 1, {2, 2}), 1).has_value());
  EXPECT_FALSE(apply_one(idx, entries(1, 3, {1}), 1).has_value());  // term decreases
  EXPECT_FALSE(apply_one(idx, entries(1, 5, {2}), 1).has_value());  // gap
  EXPECT_FALSE(apply_one(idx, compact(1, 1, 3), 1).has_value());    // entry 1 has term 2
  // Compacting a range missing after recovery with a term above the next entry's is refused as
  // input, so the matching invariant can only fire on a bug of ours.
  proto::WalCheckpoint cp;
  auto* p = cp.add_groups();
  p->set_group(2);
  p->set_last_index(5);  // 1..5 missing until later records compact them away
  wal_index rec;
  ASSERT_TRUE(rec.apply_checkpoint(cp, true).has_value());
  ASSERT_TRUE(apply_one(rec, truncate(2, 4), 1).has_value());
  ASSERT_TRUE(apply_one(rec, entries(2, 4, {2}), 1).has_value());
  EXPECT_FALSE(apply_one(rec, compact(2, 3, 5), 1).has_value());
  EXPECT_TRUE(apply_one(rec, compact(2, 3, 2), 1).has_value());
}

// Node ids are 64-bit on disk and 32-bit in memory (base/node_id.h): a vote or a configuration
// member that does not fit is an error, never truncated into another node's id (2^32 + 1 would
// have named node 1).
TEST(WalIndexContract, NodeIdsWiderThanANodeIdAreRefused) {
  constexpr std::uint64_t wide = (std::uint64_t{1} << 32) + 1;
  wal_index idx;
  proto::WalRecord hs;
  hs.mutable_hard_state()->set_group(1);
  hs.mutable_hard_state()->mutable_state()->set_term(1);
  hs.mutable_hard_state()->mutable_state()->set_vote(wide);
  EXPECT_FALSE(apply_one(idx, hs, 1).has_value());
  hs.mutable_hard_state()->mutable_state()->set_vote(4294967295u);
  ASSERT_TRUE(apply_one(idx, hs, 1).has_value());
  EXPECT_EQ(idx.find(group_id{1})->state.vote, node_id{4294967295u});

  proto::WalSnapshotMeta meta;
  meta.set_index(1);
  meta.set_term(1);
  meta.mutable_conf()->add_voters(1);
  ASSERT_TRUE(from_proto(meta).has_value());
  meta.mutable_conf()->add_learners(wide);
  EXPECT_FALSE(from_proto(meta).has_value());
}

// Regression (found by wal_fuzz_smoke once the index asserted blob_used <= blob_size after an
// entries record): each payload length was checked against the blob alone, so entries that each
// fit but together overran the blob were accepted, pointing into the next frame's bytes.
TEST(WalIndexContract, PayloadsThatOverrunTheBlobTogetherAreRefused) {
  wal_index idx;
  std::uint64_t used = 0;
  proto::WalRecord r = entries(1, 1, {1, 1});
  r.mutable_entries()->set_lengths(0, 3);
  r.mutable_entries()->set_lengths(1, 3);
  EXPECT_FALSE(idx.apply(r, 1, 0, 4, used).has_value());  // 3 + 3 bytes in a 4-byte blob
  EXPECT_EQ(used, 0u);
  EXPECT_EQ(idx.find(group_id{1})->last, log_index{0});  // nothing was indexed
  EXPECT_TRUE(idx.apply(r, 1, 0, 6, used).has_value());
  EXPECT_EQ(used, 6u);
}

TEST(WalIndexContractDeathTest, BlobUsedPastTheBlobIsACallerBug) {
  wal_index idx;
  std::uint64_t used = 10;
  EXPECT_DEATH((void)idx.apply(entries(1, 1, {1}), 1, 0, 4, used), "precondition broken: the blob bytes used so far fit in the blob");
}

}  // namespace
}  // namespace chronik::consensus::detail
