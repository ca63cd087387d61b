// The WAL's API: many groups in one log, restart recovery, suffix overwrite, compaction with
// segment deletion, snapshots, group commit, and argument checks (docs/storage.md).
#include "consensus/storage/wal.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/unit/wal_test_util.h"

namespace chronik::consensus {
namespace {

using testing::dump;
using testing::make_entries;
using testing::scratch_dir;

std::unique_ptr<wal> open_ok(const scratch_dir& d, wal_options o = {}) {
  auto w = wal::open(d.path(), std::move(o));
  EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().text);
  return w ? std::move(*w) : nullptr;
}

group_write write_of(std::uint64_t g, std::vector<entry> es, std::optional<hard_state> hs = {}) {
  return group_write{group_id{g}, hs, std::move(es), std::nullopt};
}

TEST(wal, fresh_directory_is_empty) {
  scratch_dir d;
  auto w = open_ok(d);
  EXPECT_TRUE(w->groups().empty());
  auto r = w->reader(group_id{9});
  EXPECT_EQ(r->first_index(), log_index{1});
  EXPECT_EQ(r->last_index(), log_index{0});
  EXPECT_EQ(r->term(log_index{0}).value(), term_id{0});
  EXPECT_EQ(r->term(log_index{1}).error(), log_errc::unavailable);
  EXPECT_TRUE(r->latest_snapshot().empty());
  EXPECT_TRUE(std::filesystem::exists(d.raft() / testing::segment_path_name(1)));
}

TEST(wal, many_groups_round_trip_and_survive_restart) {
  scratch_dir d;
  constexpr std::uint64_t groups = 40;
  std::string before;
  {
    auto w = open_ok(d);
    std::vector<std::uint64_t> next(groups + 1, 1);
    for (int batch = 0; batch < 25; ++batch) {
      std::vector<group_write> ws;
      for (std::uint64_t g = 1; g <= groups; ++g) {
        if ((g + static_cast<std::uint64_t>(batch)) % 3 == 0) continue;  // not every group each time
        const std::size_t n = 1 + (g + static_cast<std::uint64_t>(batch)) % 4;
        ws.push_back(write_of(g, make_entries(g, next[g], n, 1 + batch / 10),
                              hard_state{term_id{1u + batch / 10u}, node_id{static_cast<std::uint32_t>(g % 3 + 1)},
                                         log_index{next[g] - 1}}));
        next[g] += n;
      }
      ASSERT_TRUE(w->append_batch(ws));
    }
    EXPECT_EQ(w->groups().size(), groups);
    auto r = w->reader(group_id{7});
    auto es = r->entries(log_index{1}, r->last_index().next(), UINT64_MAX);
    ASSERT_TRUE(es);
    ASSERT_EQ(es->size(), r->last_index().value);
    for (const entry& e : *es) {
      EXPECT_EQ(e.data, "g7i" + std::to_string(e.index.value) + "t" + std::to_string(e.term.value));
    }
    before = dump(*w);
    EXPECT_EQ(w->stats().frames_written, 25u);  // one frame per batch
  }
  auto w = open_ok(d);
  EXPECT_EQ(dump(*w), before);
  EXPECT_EQ(w->groups().size(), groups);
}

TEST(wal, entries_respect_max_bytes_but_return_at_least_one) {
  scratch_dir d;
  auto w = open_ok(d);
  ASSERT_TRUE(w->append_batch(std::vector{write_of(1, make_entries(1, 1, 10, 1, 100))}));
  auto r = w->reader(group_id{1});
  auto one = r->entries(log_index{1}, log_index{11}, 1);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->size(), 1u);
  auto some = r->entries(log_index{3}, log_index{11}, 350);
  ASSERT_TRUE(some);
  EXPECT_EQ(some->size(), 3u);
  EXPECT_EQ(some->front().index, log_index{3});
  EXPECT_EQ(r->entries(log_index{5}, log_index{12}, 1000).error(), log_errc::unavailable);
  EXPECT_EQ(r->entries(log_index{0}, log_index{2}, 1000).error(), log_errc::compacted);
}

TEST(wal, overwriting_a_suffix_replaces_it_durably) {
  scratch_dir d;
  {
    auto w = open_ok(d);
    ASSERT_TRUE(w->append_batch(std::vector{write_of(1, make_entries(1, 1, 10, 1))}));
    // A new leader's entries conflict from index 6 on (Raft paper §5.3).
    ASSERT_TRUE(w->append_batch(std::vector{write_of(1, make_entries(1, 6, 3, 2))}));
    auto r = w->reader(group_id{1});
    EXPECT_EQ(r->last_index(), log_index{8});
    EXPECT_EQ(r->term(log_index{5}).value(), term_id{1});
    EXPECT_EQ(r->term(log_index{6}).value(), term_id{2});
  }
  auto w = open_ok(d);
  auto r = w->reader(group_id{1});
  EXPECT_EQ(r->last_index(), log_index{8});
  auto es = r->entries(log_index{6}, log_index{9}, UINT64_MAX);
  ASSERT_TRUE(es);
  EXPECT_EQ((*es)[0].data, "g1i6t2");
  EXPECT_EQ(r->term(log_index{9}).error(), log_errc::unavailable);
}

TEST(wal, truncate_suffix_survives_restart) {
  scratch_dir d;
  {
    auto w = open_ok(d);
    ASSERT_TRUE(w->append_batch(std::vector{write_of(3, make_entries(3, 1, 10, 4))}));
    ASSERT_TRUE(w->truncate_suffix(group_id{3}, log_index{5}));
    EXPECT_EQ(w->reader(group_id{3})->last_index(), log_index{4});
    ASSERT_TRUE(w->append_batch(std::vector{write_of(3, make_entries(3, 5, 2, 5))}));
  }
  auto w = open_ok(d);
  auto r = w->reader(group_id{3});
  EXPECT_EQ(r->last_index(), log_index{6});
  EXPECT_EQ(r->term(log_index{5}).value(), term_id{5});
}

TEST(wal, rejects_writes_that_break_the_log) {
  scratch_dir d;
  auto w = open_ok(d);
  ASSERT_TRUE(w->append_batch(std::vector{write_of(1, make_entries(1, 1, 5, 3))}));
  auto code = [&](std::vector<group_write> ws) {
    auto r = w->append_batch(ws);
    return r ? storage_errc::failed : r.error().code;
  };
  EXPECT_EQ(code({write_of(1, make_entries(1, 7, 1, 3))}), storage_errc::invalid_argument);  // gap
  EXPECT_EQ(code({write_of(1, make_entries(1, 6, 1, 2))}), storage_errc::invalid_argument);  // term
  auto holes = make_entries(1, 6, 2, 3);
  holes[1].index = log_index{9};
  EXPECT_EQ(code({write_of(1, holes)}), storage_errc::invalid_argument);
  EXPECT_EQ(code({write_of(2, {}), write_of(2, {})}), storage_errc::invalid_argument);
  EXPECT_EQ(code({write_of(1, {}, hard_state{term_id{3}, {}, {}}),
                  write_of(4, {}, hard_state{term_id{1}, {}, {}})}),
            storage_errc::failed);  // valid
  EXPECT_EQ(code({write_of(1, {}, hard_state{term_id{2}, {}, {}})}),
            storage_errc::invalid_argument);  // term moving back
  EXPECT_EQ(w->reader(group_id{1})->last_index(), log_index{5});
}

TEST(wal, group_commit_uses_one_fsync_per_batch_and_per_write_one_per_group) {
  for (sync_mode mode : {sync_mode::group_commit, sync_mode::per_write}) {
    scratch_dir d;
    wal_options o;
    o.sync = mode;
    auto w = open_ok(d, o);
    const std::uint64_t before = w->stats().fsyncs;
    std::vector<group_write> ws;
    for (std::uint64_t g = 1; g <= 16; ++g) ws.push_back(write_of(g, make_entries(g, 1, 2, 1)));
    ASSERT_TRUE(w->append_batch(ws));
    EXPECT_EQ(w->stats().fsyncs - before, mode == sync_mode::group_commit ? 1u : 16u);
  }
}

TEST(wal, second_open_of_the_same_directory_is_refused) {
  scratch_dir d;
  auto w = open_ok(d);
  auto again = wal::open(d.path(), {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, storage_errc::locked);
}

snapshot make_snapshot(std::uint64_t index, std::uint64_t term, std::string data) {
  return snapshot{{log_index{index}, term_id{term}, {{node_id{1}, node_id{2}}, {node_id{3}}}},
                  std::move(data)};
}

TEST(wal, compaction_deletes_segments_no_group_needs) {
  scratch_dir d;
  wal_options o;
  o.segment_bytes = 4096;
  std::string before;
  {
    auto w = open_ok(d, o);
    for (std::uint64_t i = 1; i <= 60; ++i) {
      ASSERT_TRUE(w->append_batch(std::vector{write_of(1, make_entries(1, i, 1, 1, 300)),
                                              write_of(2, make_entries(2, i, 1, 1, 300))}));
    }
    const std::uint64_t segments = w->stats().segments;
    EXPECT_GE(segments, 8u);
    ASSERT_TRUE(w->save_snapshot(group_id{1}, make_snapshot(50, 1, "state of group 1")));
    ASSERT_TRUE(w->compact_prefix(group_id{1}, log_index{50}));
    // Group 2 still holds entries in the oldest segment, so nothing can go yet.
    EXPECT_EQ(w->stats().segments, segments + 0);
    EXPECT_EQ(w->groups_pinning_oldest_segment(), std::vector{group_id{2}});
    EXPECT_EQ(w->compact_prefix(group_id{2}, log_index{50}).error().code,
              storage_errc::invalid_argument);  // no snapshot covers it
    ASSERT_TRUE(w->save_snapshot(group_id{2}, make_snapshot(55, 1, "state of group 2")));
    ASSERT_TRUE(w->compact_prefix(group_id{2}, log_index{55}));
    EXPECT_LT(w->stats().segments, segments / 2);
    auto r = w->reader(group_id{2});
    EXPECT_EQ(r->first_index(), log_index{56});
    EXPECT_EQ(r->term(log_index{55}).value(), term_id{1});
    EXPECT_EQ(r->term(log_index{54}).error(), log_errc::compacted);
    EXPECT_EQ(r->entries(log_index{55}, log_index{57}, 100).error(), log_errc::compacted);
    before = dump(*w);
  }
  auto w = open_ok(d, o);
  EXPECT_EQ(dump(*w), before);
  EXPECT_EQ(w->reader(group_id{1})->latest_snapshot().data, "state of group 1");
  EXPECT_EQ(w->reader(group_id{2})->initial_conf_state().learners, std::vector{node_id{3}});
}

TEST(wal, installed_snapshot_replaces_the_log_and_old_files_go) {
  scratch_dir d;
  {
    auto w = open_ok(d);
    ASSERT_TRUE(w->append_batch(std::vector{write_of(5, make_entries(5, 1, 10, 1))}));
    ASSERT_TRUE(w->save_snapshot(group_id{5}, make_snapshot(4, 1, "local")));
    // The leader sends a snapshot at 20, term 3, and two entries after it in the same ready.
    group_write install{group_id{5}, hard_state{term_id{3}, node_id{2}, log_index{20}},
                        make_entries(5, 21, 2, 3), make_snapshot(20, 3, "from leader")};
    ASSERT_TRUE(w->append_batch(std::vector{install}));
    auto r = w->reader(group_id{5});
    EXPECT_EQ(r->first_index(), log_index{21});
    EXPECT_EQ(r->last_index(), log_index{22});
    EXPECT_EQ(r->term(log_index{20}).value(), term_id{3});
    EXPECT_FALSE(std::filesystem::exists(d.raft() / "snap-0000000000000005-0000000000000004.snap"));
  }
  // Leftovers of a crash: an unreferenced snapshot file and a temp file.
  testing::write_file(d.raft() / "snap-0000000000000005-0000000000000030.snap", "junk");
  testing::write_file(d.raft() / "snap-0000000000000005-0000000000000031.snap.tmp", "junk");
  std::vector<std::string> logs;
  wal_options o;
  o.sink = [&](log_level, std::string_view t) { logs.emplace_back(t); };
  auto w = open_ok(d, o);
  auto s = w->load_snapshot(group_id{5});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->data, "from leader");
  EXPECT_EQ(s->meta.conf.voters.size(), 2u);
  EXPECT_EQ(w->reader(group_id{5})->initial_hard_state().commit, log_index{20});
  EXPECT_FALSE(std::filesystem::exists(d.raft() / "snap-0000000000000005-0000000000000030.snap"));
  EXPECT_EQ(logs.size(), 2u);
  EXPECT_EQ(w->load_snapshot(group_id{6}).error().code, storage_errc::not_found);
}

TEST(wal, damaged_or_missing_snapshot_file_fails_open) {
  scratch_dir d;
  {
    auto w = open_ok(d);
    ASSERT_TRUE(w->append_batch(std::vector{group_write{group_id{1}, {}, {},
                                                        make_snapshot(9, 2, "payload")}}));
  }
  const auto file = d.raft() / "snap-0000000000000001-0000000000000009.snap";
  std::string bytes = testing::read_file(file);
  bytes.back() ^= 1;
  testing::write_file(file, bytes);
  auto w = wal::open(d.path(), {});
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, storage_errc::corrupt);
  EXPECT_NE(w.error().text.find(file.string()), std::string::npos) << w.error().text;
  std::filesystem::remove(file);
  EXPECT_FALSE(wal::open(d.path(), {}));
}

TEST(wal, missing_middle_segment_fails_open) {
  scratch_dir d;
  wal_options o;
  o.segment_bytes = 4096;
  {
    auto w = open_ok(d, o);
    for (std::uint64_t i = 1; i <= 30; ++i) {
      ASSERT_TRUE(w->append_batch(std::vector{write_of(1, make_entries(1, i, 1, 1, 500))}));
    }
    ASSERT_GE(w->stats().segments, 3u);
  }
  std::filesystem::remove(d.raft() / testing::segment_path_name(2));
  auto w = wal::open(d.path(), o);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, storage_errc::corrupt);
  EXPECT_NE(w.error().text.find(testing::segment_path_name(2)), std::string::npos);
}

TEST(wal, crash_while_starting_a_segment_recovers) {
  scratch_dir d;
  std::string before;
  {
    auto w = open_ok(d);
    ASSERT_TRUE(w->append_batch(std::vector{write_of(1, make_entries(1, 1, 3, 1))}));
    before = dump(*w);
  }
  // Segment 2 was created but its checkpoint only partly reached the disk.
  testing::write_file(d.raft() / testing::segment_path_name(2), std::string("\x30\x00\x00", 3));
  {
    auto w = open_ok(d);
    EXPECT_EQ(dump(*w), before);
    ASSERT_TRUE(w->append_batch(std::vector{write_of(1, make_entries(1, 4, 1, 1))}));
  }
  auto w = open_ok(d);
  EXPECT_EQ(w->reader(group_id{1})->last_index(), log_index{4});
}

TEST(wal, readers_on_another_thread_see_only_whole_durable_writes) {
  // The threading contract (wal.h): one writer, readers on another thread at the same time. A
  // reader must always see a gap-free log whose entries carry their own payloads.
  scratch_dir d;
  wal_options o;
  o.segment_bytes = 8192;  // rotation and segment deletion happen while reading
  auto w = open_ok(d, o);
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    auto r = w->reader(group_id{1});
    while (!done.load()) {
      const log_index first = r->first_index();
      const log_index last = r->last_index();
      if (last < first) continue;
      auto es = r->entries(first, last.next(), UINT64_MAX);
      if (!es) continue;  // compacted between the two calls: fine, try again
      for (const entry& e : *es) {
        ASSERT_EQ(e.data, "g1i" + std::to_string(e.index.value) + "t1xxxxxxxxxx");
      }
      ++reads;
    }
  });
  for (std::uint64_t i = 1; i <= 400; ++i) {
    ASSERT_TRUE(w->append_batch(std::vector{write_of(1, make_entries(1, i, 1, 1, 10))}));
    if (i % 50 == 0) {
      ASSERT_TRUE(w->save_snapshot(group_id{1}, make_snapshot(i - 10, 1, "s")));
      ASSERT_TRUE(w->compact_prefix(group_id{1}, log_index{i - 10}));
    }
  }
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
}

}  // namespace
}  // namespace chronik::consensus
