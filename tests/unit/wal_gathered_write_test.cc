// The WAL's gathered write (consensus/storage/file_io.h pwritev_full, frame.h head): a frame
// written as its head followed by the entries' own buffers must be byte for byte the frame that
// one assembled buffer made, and decode as such, whatever the number and sizes of the pieces.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "consensus/storage/file_io.h"
#include "consensus/storage/frame.h"
#include "tests/unit/wal_test_util.h"

namespace chronik::consensus {
namespace {

using testing::scratch_dir;

std::string file_bytes(const std::filesystem::path& p) {
  auto r = io::read_whole(p);
  EXPECT_TRUE(r.has_value());
  return r ? *r : std::string();
}

// Pieces of varied sizes, empty ones among them, more than one pwritev can take (IOV_MAX 1024).
std::vector<std::string> varied_pieces(std::size_t count) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t size = i % 7 == 3 ? 0 : (i * 37) % 301 + 1;
    out.emplace_back(size, static_cast<char>('a' + i % 26));
  }
  return out;
}

TEST(wal_gathered_write, pieces_land_as_their_concatenation_at_the_offset) {
  scratch_dir d;
  const auto path = d.path() / "f";
  auto fd = io::open_file(path, io::open_mode::create_exclusive);
  ASSERT_TRUE(fd.has_value());
  const std::string before = "0123456789";
  ASSERT_TRUE(io::pwrite_full(fd->get(), path, before.data(), before.size(), 0));

  const auto pieces = varied_pieces(2500);
  std::vector<std::string_view> views(pieces.begin(), pieces.end());
  std::string joined;
  for (const auto& p : pieces) joined += p;
  ASSERT_TRUE(io::pwritev_full(fd->get(), path, views, before.size()));
  EXPECT_EQ(file_bytes(path), before + joined);
}

// Calls stop at io::max_bytes_per_write_call, inside a piece as often as between two: pieces larger
// than one call, one that straddles a call's end, and small ones after them.
TEST(wal_gathered_write, pieces_larger_than_one_write_call_land_whole) {
  scratch_dir d;
  const auto path = d.path() / "f";
  auto fd = io::open_file(path, io::open_mode::create_exclusive);
  ASSERT_TRUE(fd.has_value());
  const std::size_t cap = io::max_bytes_per_write_call;
  std::vector<std::string> pieces;
  pieces.emplace_back(cap - 3, 'x');          // the first call ends 3 bytes into the next piece
  pieces.emplace_back(3 * cap + 17, 'y');     // spans four calls
  pieces.emplace_back(5, 'z');
  pieces.emplace_back(cap, 'w');              // exactly one call's worth, not at a call's start
  for (std::size_t i = 0; i < pieces.size(); ++i) pieces[i][i] = '!';  // a marker inside each
  std::vector<std::string_view> views(pieces.begin(), pieces.end());
  std::string joined;
  for (const auto& p : pieces) joined += p;
  ASSERT_TRUE(io::pwritev_full(fd->get(), path, views, 7));
  EXPECT_EQ(file_bytes(path), std::string(7, '\0') + joined);

  // pwrite_full splits the same way: a buffer of two and a half calls, over the start of the file.
  std::string big(2 * cap + cap / 2, 'q');
  big[cap] = '#';
  big.back() = '$';
  ASSERT_TRUE(io::pwrite_full(fd->get(), path, big.data(), big.size(), 0));
  EXPECT_EQ(file_bytes(path), big + joined.substr(big.size() - 7));
}

TEST(wal_gathered_write, only_empty_pieces_write_nothing) {
  scratch_dir d;
  const auto path = d.path() / "f";
  auto fd = io::open_file(path, io::open_mode::create_exclusive);
  ASSERT_TRUE(fd.has_value());
  const std::vector<std::string_view> none{std::string_view(), std::string_view()};
  ASSERT_TRUE(io::pwritev_full(fd->get(), path, none, 0));
  EXPECT_EQ(file_bytes(path), "");
}

TEST(wal_gathered_write, an_injected_failure_writes_the_first_half_and_names_the_file) {
  scratch_dir d;
  const auto path = d.path() / "f";
  auto fd = io::open_file(path, io::open_mode::create_exclusive);
  ASSERT_TRUE(fd.has_value());
  io::set_fault_injector([](io::fault_point p, const std::filesystem::path&) {
    return p == io::fault_point::pwrite ? ENOSPC : 0;
  });
  const std::vector<std::string_view> pieces{"abcd", "", "efghij"};
  const auto r = io::pwritev_full(fd->get(), path, pieces, 0);
  io::set_fault_injector({});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().text.find(path.string()), std::string::npos) << r.error().text;
  EXPECT_EQ(file_bytes(path), "abcde");  // 5 of the 10 bytes, as a disk filling up mid-frame
}

TEST(wal_gathered_write, head_and_pieces_make_the_frame_begin_and_finish_make) {
  const std::string header = "protobuf header bytes";
  for (const std::size_t count : {0u, 1u, 5u, 1500u}) {
    const auto pieces = varied_pieces(count);
    std::string assembled;
    const std::size_t start = frame::begin(assembled, header);
    for (const auto& p : pieces) assembled += p;
    frame::finish(assembled, start);

    std::vector<std::string_view> views(pieces.begin(), pieces.end());
    std::string gathered = frame::head(header, views);
    for (const auto& p : pieces) gathered += p;
    EXPECT_EQ(gathered, assembled) << count << " pieces";

    const auto decoded = frame::decode(gathered, 0, 1u << 30);
    ASSERT_EQ(decoded.result, frame::status::ok) << decoded.reason;
    EXPECT_EQ(decoded.header, header);
    EXPECT_EQ(decoded.end, gathered.size());
  }
}

}  // namespace
}  // namespace chronik::consensus
