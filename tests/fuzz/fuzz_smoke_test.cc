// Smoke runs of the input-boundary fuzz targets (fuzz_entries.h) for `make test`: every checked-in
// corpus file of a target, then seeded mutations of them (mutate.h) and some random inputs. Any
// crash or broken oracle aborts inside the entry. The seed is printed; CHRONIK_FUZZ_SEED replays
// a run and CHRONIK_FUZZ_SMOKE_RUNS changes the number of mutated inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_entries.h"
#include "tests/fuzz/mutate.h"

namespace chronik::fuzz {
namespace {

struct target_case {
  const char* name;  // also the corpus directory tests/fuzz/corpus/<name>
  verdict (*run)(const std::uint8_t*, std::size_t);
  int mutations;  // each well under 10 s under ASan
};

void PrintTo(const target_case& t, std::ostream* os) { *os << t.name; }

struct corpus_file {
  std::string name;
  std::string bytes;
};

std::vector<corpus_file> read_corpus(const std::string& target) {
  const std::filesystem::path dir = std::filesystem::path(CHRONIK_FUZZ_CORPUS_DIR) / target;
  std::vector<corpus_file> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    out.push_back({e.path().filename().string(), std::string(std::istreambuf_iterator<char>(in), {})});
  }
  std::ranges::sort(out, {}, &corpus_file::name);
  return out;
}

verdict run(const target_case& t, const std::string& input) {
  return t.run(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

class fuzz_smoke : public testing::TestWithParam<target_case> {};

TEST_P(fuzz_smoke, corpus_and_mutations_never_crash) {
  const target_case& t = GetParam();
  const std::vector<corpus_file> corpus = read_corpus(t.name);
  ASSERT_FALSE(corpus.empty()) << "no corpus in tests/fuzz/corpus/" << t.name;
  // Seeds are real traffic or real encodings: each must be accepted, or the corpus does not reach
  // past the decoder. Other files (inputs that once crashed) only have to run.
  for (const corpus_file& f : corpus) {
    const verdict v = run(t, f.bytes);
    if (f.name.starts_with("seed-")) {
      EXPECT_EQ(v, verdict::accepted) << t.name << " seed " << f.name;
    }
  }

  const char* env_seed = std::getenv("CHRONIK_FUZZ_SEED");
  const std::uint64_t seed = env_seed ? std::strtoull(env_seed, nullptr, 10) : 20240613;
  const char* env_runs = std::getenv("CHRONIK_FUZZ_SMOKE_RUNS");
  const int runs = env_runs ? std::atoi(env_runs) : t.mutations;
  std::fprintf(stderr, "%s smoke: seed %llu, %zu corpus files, %d mutated inputs\n", t.name,
               static_cast<unsigned long long>(seed), corpus.size(), runs);
  std::mt19937_64 rng(seed);
  int accepted = 0;
  for (int i = 0; i < runs; ++i) {
    std::string input;
    if (rng() % 20 == 0) {
      const std::size_t n = rng() % 256;
      for (std::size_t k = 0; k < n; ++k) input.push_back(static_cast<char>(rng()));
    } else {
      input = corpus[rng() % corpus.size()].bytes;
      const int rounds = 1 + static_cast<int>(rng() % 3);
      for (int r = 0; r < rounds; ++r) mutate(input, rng);
    }
    if (run(t, input) == verdict::accepted) ++accepted;
  }
  std::fprintf(stderr, "%s smoke: %d of %d mutated inputs accepted\n", t.name, accepted, runs);
  // Both sides must be reached, or the run tested only the decoder's first check.
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, runs);
}

INSTANTIATE_TEST_SUITE_P(targets, fuzz_smoke,
                         testing::Values(target_case{"kafka_request", kafka_request_run, 200000},
                                         target_case{"kafka_message", kafka_message_run, 200000},
                                         target_case{"record_batch", record_batch_run, 100000},
                                         target_case{"gossip", gossip_run, 50000},
                                         target_case{"raft_batch", raft_batch_run, 50000},
                                         target_case{"config", config_run, 20000}),
                         [](const testing::TestParamInfo<target_case>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace chronik::fuzz
