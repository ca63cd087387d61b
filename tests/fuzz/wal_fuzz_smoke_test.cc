// Runs the WAL recovery fuzz body over ~20k mutated and random segments with a fixed seed, so
// every CI run (g++, and the sanitizer build) exercises it without libFuzzer. A failure aborts
// inside wal_recovery_one; the seed is printed first, and CHRONIK_FUZZ_SEED replays a run.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "consensus/storage/wal.h"
#include "tests/fuzz/wal_recovery_fuzz_entry.h"
#include "tests/unit/wal_test_util.h"

namespace chronik::consensus {
namespace {

using testing::make_entries;

group_write gw(std::uint64_t g, std::vector<entry> es, std::uint64_t term, std::uint64_t commit) {
  return {group_id{g}, hard_state{term_id{term}, node_id{static_cast<std::uint32_t>(g)}, log_index{commit}}, std::move(es),
          std::nullopt};
}

// Real segments covering every record type: entries for several groups, hard states, a suffix
// overwrite, a truncation, a snapshot reference and a compaction.
std::vector<std::string> seed_segments() {
  std::vector<std::string> out;
  for (int variant = 0; variant < 3; ++variant) {
    testing::scratch_dir d;
    {
      auto w = wal::open(d.path(), {}).value();
      for (std::uint64_t i = 1; i <= 4; ++i) {
        EXPECT_TRUE(w->append_batch(std::vector{gw(1, make_entries(1, i * 2 - 1, 2, 1), 1, i),
                                                gw(2, make_entries(2, i, 1, 2), 2, i - 1)}));
      }
      if (variant >= 1) {
        EXPECT_TRUE(w->append_batch(std::vector{gw(1, make_entries(1, 5, 2, 3), 3, 4)}));
        EXPECT_TRUE(w->truncate_suffix(group_id{2}, log_index{4}));
      }
      if (variant == 2) {
        EXPECT_TRUE(w->save_snapshot(group_id{1}, snapshot{{log_index{3}, term_id{1}, {}}, "s"}));
        EXPECT_TRUE(w->compact_prefix(group_id{1}, log_index{3}));
      }
    }
    out.push_back(testing::read_file(d.raft() / testing::segment_path_name(1)));
  }
  return out;
}

void mutate(std::string& s, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
  switch (rng() % 7) {
    case 0:
      if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << (rng() % 8));
      break;
    case 1:
      if (!s.empty()) s[pick(s.size())] = static_cast<char>(rng());
      break;
    case 2:
      s.resize(pick(s.size() + 1));
      break;
    case 3:
      s.insert(pick(s.size() + 1), std::string(1 + pick(16), static_cast<char>(rng())));
      break;
    case 4: {  // duplicate a range: repeated frames, overlapping records
      const std::size_t at = pick(s.size() + 1);
      const std::size_t len = pick(s.size() - at + 1);
      s.insert(pick(s.size() + 1), s.substr(at, len));
      break;
    }
    case 5: {
      const std::size_t at = pick(s.size() + 1);
      s.erase(at, pick(s.size() - at + 1));
      break;
    }
    default: {  // an interesting length or index value
      static const std::uint32_t values[] = {0, 1, 4, 7, 0x7FFFFFFF, 0xFFFFFFFF, 4096, 1u << 20};
      if (s.size() >= 4) {
        const std::uint32_t v = values[pick(std::size(values))];
        const std::size_t at = pick(s.size() - 3);
        for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
      }
    }
  }
}

fuzz::outcome run(const std::string& input) {
  return fuzz::wal_recovery_run(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

TEST(wal_fuzz_smoke, recovery_never_crashes) {
  const char* env = std::getenv("CHRONIK_FUZZ_SEED");
  const std::uint64_t seed = env ? std::strtoull(env, nullptr, 10) : 20240601;
  const int iterations = 20000;
  std::fprintf(stderr, "wal_fuzz_smoke: seed %llu (CHRONIK_FUZZ_SEED replays)\n",
               static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  const std::vector<std::string> seeds = seed_segments();
  for (const std::string& s : seeds) ASSERT_GT(s.size(), 100u);
  // CHRONIK_FUZZ_CORPUS=<dir> also writes the seeds there as a starting corpus for libFuzzer.
  if (const char* corpus = std::getenv("CHRONIK_FUZZ_CORPUS")) {
    for (std::size_t i = 0; i < seeds.size(); ++i) {
      testing::write_file(std::filesystem::path(corpus) / ("seed-" + std::to_string(i)),
                          std::string(1, '\0') + seeds[i]);
    }
  }
  int random_inputs = 0;
  int counts[4] = {};
  for (int i = 0; i < iterations; ++i) {
    std::string input(1, static_cast<char>(rng() % 4));  // mode byte: half fix CRCs
    if (rng() % 10 == 0) {
      ++random_inputs;
      const std::size_t n = rng() % 512;
      for (std::size_t k = 0; k < n; ++k) input.push_back(static_cast<char>(rng()));
    } else {
      std::string body = seeds[rng() % seeds.size()];
      const int rounds = 1 + static_cast<int>(rng() % 4);
      for (int r = 0; r < rounds; ++r) mutate(body, rng);
      input += body;
    }
    ++counts[static_cast<int>(run(input))];
  }
  std::fprintf(stderr, "wal_fuzz_smoke: %d refused, %d opened, %d opened and appended\n",
               counts[1], counts[2], counts[3]);
  // Both outcomes must be common, or the run only tested one side.
  EXPECT_GT(counts[1], iterations / 10);
  EXPECT_GT(counts[2] + counts[3], iterations / 10);
  // The unmutated seeds open, except the one whose snapshot file the harness does not provide.
  EXPECT_EQ(run(std::string(1, '\0') + seeds[0]), fuzz::outcome::appended);
  EXPECT_EQ(run(std::string(1, '\0') + seeds[1]), fuzz::outcome::appended);
  EXPECT_EQ(run(std::string(1, '\0') + seeds[2]), fuzz::outcome::refused);
  EXPECT_GT(random_inputs, 0);
}

}  // namespace
}  // namespace chronik::consensus
