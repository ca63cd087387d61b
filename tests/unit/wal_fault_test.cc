// Disk faults in the WAL (docs/storage.md "Disk faults"): a failed pwrite or fdatasync poisons
// the log, and wal::discard_unsynced cuts it back to what fdatasync confirmed, so that a reopen
// in the same boot sees only durable frames. Faults come from the file layer's test seam
// (consensus/storage/file_io.h), which fails the chosen calls for the chosen files.
#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "consensus/storage/file_io.h"
#include "consensus/storage/wal.h"
#include "tests/unit/wal_test_util.h"

namespace chronik::consensus {
namespace {

using testing::dump;
using testing::make_entries;
using testing::scratch_dir;

// Clears the injector however the test ends.
struct fault_scope {
  explicit fault_scope(io::fault_fn fn) { io::set_fault_injector(std::move(fn)); }
  ~fault_scope() { io::set_fault_injector({}); }
  fault_scope(const fault_scope&) = delete;
  fault_scope& operator=(const fault_scope&) = delete;
};

std::unique_ptr<wal> open_ok(const scratch_dir& d, wal_options o = {}) {
  auto w = wal::open(d.path(), std::move(o));
  EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().text);
  return w ? std::move(*w) : nullptr;
}

std::vector<group_write> write_of(std::uint64_t g, std::uint64_t first, std::size_t n, std::size_t pad = 0) {
  return {group_write{group_id{g}, hard_state{term_id{1}, node_id{}, log_index{}}, make_entries(g, first, n, 1, pad),
                      std::nullopt}};
}

// Entries 1..3 durable, then `fault` fails the append of 4..5; returns the dump of 1..3.
std::string fail_second_append(wal& w, io::fault_point point, int err) {
  EXPECT_TRUE(w.append_batch(write_of(1, 1, 3)));
  const std::string synced = dump(w);
  {
    fault_scope f([point, err](io::fault_point p, const std::filesystem::path&) { return p == point ? err : 0; });
    auto r = w.append_batch(write_of(1, 4, 2));
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_EQ(r.error().code, storage_errc::io_error) << r.error().text;
    }
  }
  // Poisoned: a retry could report success for pages the kernel already dropped.
  auto again = w.append_batch(write_of(1, 4, 2));
  EXPECT_FALSE(again);
  if (!again) {
    EXPECT_EQ(again.error().code, storage_errc::failed);
  }
  EXPECT_EQ(dump(w), synced) << "readers saw a write that never became durable";
  return synced;
}

TEST(wal_fault, failed_fsync_is_cut_back_before_reopening) {
  scratch_dir d;
  auto w = open_ok(d);
  const std::string synced = fail_second_append(*w, io::fault_point::datasync, EIO);
  ASSERT_TRUE(w->discard_unsynced());
  w.reset();
  w = open_ok(d);
  EXPECT_EQ(dump(*w), synced);
  // The reopened log takes writes again, continuing after the synced entries.
  ASSERT_TRUE(w->append_batch(write_of(1, 4, 2)));
}

// Why discard_unsynced exists: the frame whose fdatasync failed is whole in the page cache, so
// without the cut a reopen would take it for durable (fsyncgate) and the node could acknowledge
// entries the disk may not hold.
TEST(wal_fault, without_the_cut_an_unsynced_frame_reads_back_as_durable) {
  scratch_dir d;
  auto w = open_ok(d);
  const std::string synced = fail_second_append(*w, io::fault_point::datasync, EIO);
  w.reset();
  w = open_ok(d);
  EXPECT_NE(dump(*w), synced);
  EXPECT_EQ(w->reader(group_id{1})->last_index(), log_index{5});
}

TEST(wal_fault, full_disk_torn_frame_is_cut_back) {
  scratch_dir d;
  auto w = open_ok(d);
  const auto file_size = [&] { return std::filesystem::file_size(d.raft() / testing::segment_path_name(1)); };
  const std::string synced = fail_second_append(*w, io::fault_point::pwrite, ENOSPC);
  const std::uint64_t synced_size = w->stats().bytes;  // the sizes fdatasync confirmed
  EXPECT_GT(file_size(), synced_size) << "the injected failure writes half a frame first";
  ASSERT_TRUE(w->discard_unsynced());
  EXPECT_EQ(file_size(), synced_size);
  w.reset();
  w = open_ok(d);
  EXPECT_EQ(dump(*w), synced);
}

TEST(wal_fault, failed_rotation_leaves_no_half_made_segment) {
  scratch_dir d;
  wal_options o;
  o.segment_bytes = 4096;  // the smallest allowed: each padded append below fills a segment
  auto w = open_ok(d, o);
  ASSERT_TRUE(w->append_batch(write_of(1, 1, 3, 2000)));
  const std::string synced = dump(*w);
  const auto third = d.raft() / testing::segment_path_name(3);
  ASSERT_TRUE(w->append_batch(write_of(1, 4, 3, 2000)));  // rotates to segment 2
  ASSERT_TRUE(std::filesystem::exists(d.raft() / testing::segment_path_name(2)));
  const std::string synced2 = dump(*w);
  {
    // Segment 3's checkpoint fails to sync: the file exists, holds a whole checkpoint, and was
    // never installed.
    fault_scope f([&](io::fault_point p, const std::filesystem::path& file) {
      return p == io::fault_point::datasync && file == third ? EIO : 0;
    });
    EXPECT_FALSE(w->append_batch(write_of(1, 5, 1)));
  }
  EXPECT_TRUE(std::filesystem::exists(third));
  ASSERT_TRUE(w->discard_unsynced());
  EXPECT_FALSE(std::filesystem::exists(third));
  w.reset();
  w = open_ok(d, o);
  EXPECT_EQ(dump(*w), synced2);
  EXPECT_NE(synced, synced2);
}

TEST(wal_fault, discard_on_a_healthy_wal_changes_nothing) {
  scratch_dir d;
  auto w = open_ok(d);
  ASSERT_TRUE(w->append_batch(write_of(1, 1, 3)));
  const std::string before = dump(*w);
  ASSERT_TRUE(w->discard_unsynced());
  ASSERT_TRUE(w->append_batch(write_of(1, 4, 1)));
  w.reset();
  w = open_ok(d);
  EXPECT_NE(dump(*w), before);
  EXPECT_EQ(w->reader(group_id{1})->last_index(), log_index{4});
}

}  // namespace
}  // namespace chronik::consensus
