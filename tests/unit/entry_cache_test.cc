// kafka/partition/entry_cache.h: lookups at the run's boundaries, the node-wide byte budget
// evicting oldest first across groups, and every way entries leave (compaction, a replaced
// suffix, snapshot install/removal) so that a dropped entry is never served.
#include <gtest/gtest.h>

#include "kafka/partition/entry_cache.h"

namespace chronik::kafka {
namespace {

using consensus::group_id;
using consensus::log_index;

std::shared_ptr<const std::string> bytes(std::size_t n, char c = 'x') {
  return std::make_shared<const std::string>(n, c);
}

constexpr group_id g1{1};
constexpr group_id g2{2};

TEST(EntryCache, FindsExactlyTheCachedIndexes) {
  entry_cache c(1000);
  c.put(g1, log_index{3}, bytes(10, 'a'));
  c.put(g1, log_index{5}, bytes(10, 'b'));  // 4 was a Raft no-op: not cached
  c.put(g1, log_index{6}, bytes(10, 'c'));
  EXPECT_EQ(c.find(g1, log_index{2}), nullptr) << "below the first";
  EXPECT_EQ(*c.find(g1, log_index{3}), std::string(10, 'a')) << "the first";
  EXPECT_EQ(c.find(g1, log_index{4}), nullptr) << "a gap";
  EXPECT_EQ(*c.find(g1, log_index{6}), std::string(10, 'c')) << "the last";
  EXPECT_EQ(c.find(g1, log_index{7}), nullptr) << "past the last";
  EXPECT_EQ(c.find(g2, log_index{3}), nullptr) << "another group";
  EXPECT_EQ(c.bytes(), 30u);
  EXPECT_EQ(c.entries(), 3u);
  EXPECT_EQ(c.first_index(g1), log_index{3});
  EXPECT_EQ(c.last_index(g1), log_index{6});
}

TEST(EntryCache, EvictsTheOldestAcrossGroupsToStayWithinTheBudget) {
  entry_cache c(100);
  c.put(g1, log_index{1}, bytes(40));
  c.put(g2, log_index{1}, bytes(40));
  c.put(g1, log_index{2}, bytes(40));  // 120 > 100: g1's entry 1 (the oldest) goes
  EXPECT_EQ(c.find(g1, log_index{1}), nullptr);
  EXPECT_NE(c.find(g2, log_index{1}), nullptr);
  EXPECT_NE(c.find(g1, log_index{2}), nullptr);
  EXPECT_EQ(c.bytes(), 80u);
  c.put(g1, log_index{3}, bytes(100));  // needs the whole budget: everything else goes
  EXPECT_EQ(c.entries(), 1u);
  EXPECT_EQ(c.bytes(), 100u);
  EXPECT_EQ(c.first_index(g1), log_index{3});
  EXPECT_EQ(c.find(g2, log_index{1}), nullptr);
}

TEST(EntryCache, AnEntryLargerThanTheBudgetIsNotKeptAndAZeroBudgetKeepsNothing) {
  entry_cache c(50);
  c.put(g1, log_index{1}, bytes(20));
  c.put(g1, log_index{2}, bytes(51));
  EXPECT_EQ(c.find(g1, log_index{2}), nullptr);
  EXPECT_NE(c.find(g1, log_index{1}), nullptr) << "what was cached stays";
  entry_cache off(0);
  off.put(g1, log_index{1}, bytes(1));
  EXPECT_EQ(off.entries(), 0u);
  EXPECT_EQ(off.find(g1, log_index{1}), nullptr);
}

TEST(EntryCache, APutAtOrBelowTheNewestIndexReplacesTheSuffix) {
  // What a truncation after a leader change looks like: the entries from index 5 on are replaced
  // by the new leader's. The cache must never answer with the old bytes.
  entry_cache c(1000);
  c.put(g1, log_index{4}, bytes(10, 'a'));
  c.put(g1, log_index{5}, bytes(10, 'o'));
  c.put(g1, log_index{6}, bytes(10, 'o'));
  c.put(g1, log_index{5}, bytes(10, 'n'));
  EXPECT_EQ(*c.find(g1, log_index{4}), std::string(10, 'a'));
  EXPECT_EQ(*c.find(g1, log_index{5}), std::string(10, 'n'));
  EXPECT_EQ(c.find(g1, log_index{6}), nullptr) << "the replaced entry after it is gone";
  EXPECT_EQ(c.bytes(), 20u);
  EXPECT_EQ(c.entries(), 2u);
}

TEST(EntryCache, DropFromThroughAndGroupForgetEntriesAndTheirBytes) {
  entry_cache c(1000);
  for (std::uint64_t i = 1; i <= 6; ++i) c.put(g1, log_index{i}, bytes(10));
  c.put(g2, log_index{1}, bytes(10));
  c.drop_through(g1, log_index{2});  // compaction through 2
  EXPECT_EQ(c.find(g1, log_index{2}), nullptr);
  EXPECT_EQ(c.first_index(g1), log_index{3});
  c.drop_from(g1, log_index{6});
  EXPECT_EQ(c.find(g1, log_index{6}), nullptr);
  EXPECT_EQ(c.last_index(g1), log_index{5});
  EXPECT_EQ(c.bytes(), 40u);
  c.drop_group(g1);  // snapshot install or removal
  EXPECT_EQ(c.find(g1, log_index{4}), nullptr);
  EXPECT_EQ(c.first_index(g1), log_index{});
  EXPECT_EQ(c.bytes(), 10u);
  EXPECT_EQ(c.entries(), 1u);
  EXPECT_NE(c.find(g2, log_index{1}), nullptr) << "other groups keep theirs";
}

TEST(EntryCache, EvictionStaysCorrectAfterDropsLeaveStaleReferences) {
  // Dropped and replaced entries leave references in the insertion order; eviction must skip
  // them and still free the budget, and sweeping them must not lose live entries.
  entry_cache c(100);
  for (int round = 0; round < 200; ++round) {
    c.put(g1, log_index{1}, bytes(10));  // replaces the previous round's entry 1 and its suffix
    c.put(g1, log_index{2}, bytes(10));
    c.put(g2, log_index{static_cast<std::uint64_t>(round + 1)}, bytes(10));
    c.drop_through(g2, log_index{static_cast<std::uint64_t>(round)});
  }
  EXPECT_EQ(c.entries(), 3u);
  EXPECT_EQ(c.bytes(), 30u);
  for (std::uint64_t i = 3; i <= 20; ++i) c.put(g1, log_index{i}, bytes(10));
  EXPECT_LE(c.bytes(), 100u);
  EXPECT_EQ(c.bytes(), 10u * c.entries());
  EXPECT_NE(c.find(g1, log_index{20}), nullptr) << "the newest stays";
  EXPECT_EQ(c.find(g1, log_index{1}), nullptr) << "the oldest went";
}

TEST(EntryCache, SharedBytesOutliveEviction) {
  // A fetch answer still being written holds the bytes after the cache let them go.
  entry_cache c(10);
  c.put(g1, log_index{1}, bytes(10, 'k'));
  auto held = c.find(g1, log_index{1});
  c.put(g1, log_index{2}, bytes(10));
  EXPECT_EQ(c.find(g1, log_index{1}), nullptr);
  EXPECT_EQ(*held, std::string(10, 'k'));
}

}  // namespace
}  // namespace chronik::kafka
