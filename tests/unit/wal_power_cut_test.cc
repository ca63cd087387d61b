// Power-cut tests (docs/storage.md "Recovery"): the last frame cut or garbled at every byte is
// dropped and logged, everything before it survives, and the WAL accepts appends afterwards.
// Damage anywhere else refuses to open, naming the file and byte offset.
#include <gtest/gtest.h>

#include "consensus/storage/wal.h"
#include "tests/unit/wal_test_util.h"

namespace chronik::consensus {
namespace {

using testing::dump;
using testing::make_entries;
using testing::scratch_dir;

constexpr int batches = 6;
constexpr std::uint64_t groups = 3;

// A one-segment WAL of `batches` frames and what it held after each of them.
struct pristine {
  std::string segment;                   // bytes of wal-...1.log
  std::vector<std::uint64_t> frame_end;  // frame_end[k]: offset after batch k (0: checkpoint)
  std::vector<std::string> state;        // state[k]: dump after batch k
};

std::vector<group_write> batch(int k) {
  std::vector<group_write> ws;
  for (std::uint64_t g = 1; g <= groups; ++g) {
    const auto first = static_cast<std::uint64_t>(k - 1) * 2 + 1;
    ws.push_back(group_write{group_id{g}, hard_state{term_id{1}, node_id{1}, log_index{first - 1}},
                             make_entries(g, first, 2, 1, static_cast<std::size_t>(k) * 3),
                             std::nullopt});
  }
  return ws;
}

const pristine& build() {
  static const pristine p = [] {
    pristine out;
    scratch_dir d;
    auto w = wal::open(d.path(), {});
    out.frame_end.push_back(w.value()->stats().bytes);
    out.state.push_back(dump(**w));
    for (int k = 1; k <= batches; ++k) {
      EXPECT_TRUE((*w)->append_batch(batch(k)));
      out.frame_end.push_back((*w)->stats().bytes);
      out.state.push_back(dump(**w));
    }
    w->reset();
    out.segment = testing::read_file(d.raft() / testing::segment_path_name(1));
    return out;
  }();
  return p;
}

struct opened {
  std::expected<std::unique_ptr<wal>, storage_error> w;
  std::vector<std::string> logs;
};

// Opens a WAL whose only segment holds `bytes`.
opened open_with(const scratch_dir& d, const std::string& bytes, wal_options o = {}) {
  std::filesystem::create_directories(d.raft());
  testing::write_file(d.raft() / testing::segment_path_name(1), bytes);
  opened out;
  o.sink = [logs = &out.logs](log_level, std::string_view t) { logs->emplace_back(t); };
  out.w = wal::open(d.path(), o);
  return out;
}

// Recovery from a damaged last frame keeps exactly batches 1..N-1, says so, and stays writable.
void expect_tail_dropped(const std::string& bytes, const std::string& what) {
  const pristine& p = build();
  const std::uint64_t start = p.frame_end[batches - 1];
  scratch_dir d;
  opened o = open_with(d, bytes);
  ASSERT_TRUE(o.w) << what << ": " << o.w.error().text;
  wal& w = **o.w;
  ASSERT_EQ(dump(w), p.state[batches - 1]) << what;
  if (bytes.size() > start) {
    ASSERT_EQ(o.logs.size(), 1u) << what;
    EXPECT_NE(o.logs[0].find("byte offset " + std::to_string(start)), std::string::npos)
        << o.logs[0];
  }
  EXPECT_EQ(w.stats().bytes, start) << what;
  ASSERT_TRUE(w.append_batch(batch(batches))) << what;
  EXPECT_EQ(dump(w), p.state[batches]) << what;
  o.w->reset();
  auto again = wal::open(d.path(), {});
  ASSERT_TRUE(again) << what;
  EXPECT_EQ(dump(**again), p.state[batches]) << what;
}

TEST(wal_power_cut, cut_at_every_byte_of_the_last_frame) {
  const pristine& p = build();
  ASSERT_EQ(p.frame_end.back(), p.segment.size());
  for (std::uint64_t cut = p.frame_end[batches - 1]; cut < p.segment.size(); ++cut) {
    expect_tail_dropped(p.segment.substr(0, cut), "cut at " + std::to_string(cut));
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(wal_power_cut, garbled_byte_anywhere_in_the_last_frame) {
  const pristine& p = build();
  for (std::uint64_t at = p.frame_end[batches - 1]; at < p.segment.size(); ++at) {
    std::string bytes = p.segment;
    bytes[at] = static_cast<char>(bytes[at] ^ 0xA5);
    expect_tail_dropped(bytes, "garbled at " + std::to_string(at));
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(wal_power_cut, zeros_or_garbage_after_the_last_frame) {
  const pristine& p = build();
  std::string zeros = p.segment.substr(0, p.frame_end[batches - 1]) + std::string(4096, '\0');
  expect_tail_dropped(zeros, "zero fill");
  std::string junk = p.segment.substr(0, p.frame_end[batches - 1]);
  for (int i = 0; i < 777; ++i) junk.push_back(static_cast<char>(i * 131 + 7));
  expect_tail_dropped(junk, "garbage");
}

TEST(wal_power_cut, damage_before_a_valid_frame_refuses_to_open) {
  const pristine& p = build();
  const std::uint64_t start = p.frame_end[2];  // frame of batch 3, followed by batches 4..6
  for (std::uint64_t at = start; at < p.frame_end[3]; ++at) {
    std::string bytes = p.segment;
    bytes[at] = static_cast<char>(bytes[at] ^ 0xA5);
    scratch_dir d;
    opened o = open_with(d, bytes);
    ASSERT_FALSE(o.w) << "garbled at " << at;
    EXPECT_EQ(o.w.error().code, storage_errc::corrupt);
    const std::string& text = o.w.error().text;
    EXPECT_NE(text.find(testing::segment_path_name(1)), std::string::npos) << text;
    EXPECT_NE(text.find("byte offset " + std::to_string(start)), std::string::npos) << text;
  }
}

TEST(wal_power_cut, damage_in_an_older_segment_refuses_to_open) {
  wal_options opts;
  opts.segment_bytes = 4096;
  scratch_dir d;
  std::uint64_t first_segment_size = 0;
  {
    auto w = wal::open(d.path(), opts);
    ASSERT_TRUE(w);
    for (std::uint64_t i = 1; i <= 40; ++i) {
      ASSERT_TRUE((*w)->append_batch(std::vector{group_write{
          group_id{1}, std::nullopt, make_entries(1, i, 1, 1, 400), std::nullopt}}));
    }
    ASSERT_GE((*w)->stats().segments, 3u);
  }
  const auto seg1 = d.raft() / testing::segment_path_name(1);
  const std::string good = testing::read_file(seg1);
  first_segment_size = good.size();
  // Its last frame cut short: in the last segment this would be a torn write, here it is loss.
  testing::write_file(seg1, good.substr(0, first_segment_size - 3));
  auto w = wal::open(d.path(), opts);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, storage_errc::corrupt);
  EXPECT_NE(w.error().text.find(seg1.string()), std::string::npos) << w.error().text;
  // A garbled byte likewise.
  std::string bad = good;
  bad[first_segment_size - 10] ^= 0x01;
  testing::write_file(seg1, bad);
  EXPECT_FALSE(wal::open(d.path(), opts));
  testing::write_file(seg1, good);
  EXPECT_TRUE(wal::open(d.path(), opts));
}

TEST(wal_power_cut, frame_with_valid_crc_but_impossible_content_refuses_to_open) {
  // Entries that do not continue the log can only come from a bug or tampering, never from a
  // torn write, so even as the last frame they must not be dropped silently.
  const pristine& p = build();
  std::string bytes = p.segment.substr(0, p.frame_end[batches - 1]);
  bytes += p.segment.substr(p.frame_end[1], p.frame_end[2] - p.frame_end[1]);  // batch 2 again
  scratch_dir d;
  opened o = open_with(d, bytes);
  ASSERT_FALSE(o.w);
  EXPECT_EQ(o.w.error().code, storage_errc::corrupt);
  EXPECT_NE(o.w.error().text.find("byte offset " + std::to_string(p.frame_end[batches - 1])),
            std::string::npos) << o.w.error().text;
}

}  // namespace
}  // namespace chronik::consensus
