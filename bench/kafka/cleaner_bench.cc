// cleaner_bench: how long one log-compaction pass takes on the Raft host's thread
// (kafka/partition/log_cleaner.h; docs/kafka.md "Log compaction", whose pass and prefix bounds
// rest on it).
//
//   cleaner_bench [--rounds R]
//
// Logs of uncompressed batches (16 records of 1 KiB each, keyed), 8 and 32 MiB, whose keys repeat
// a little (most records stay) or a lot (most go). Anchor: copying the same bytes once (memcpy),
// the least any pass that reads the log and writes what stays must do. Figures: milliseconds per
// pass and MB/s, medians of R rounds, and the ratio of the pass to the copy.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kafka/partition/log_cleaner.h"
#include "kafka/protocol/keyed_records.h"
#include "kafka/protocol/record_batch.h"

namespace {

using namespace chronik::kafka;
using clock_type = std::chrono::steady_clock;

constexpr std::int64_t now_ms = 1'800'000'000'000;

// A log of `bytes` whose records cycle through `keys` distinct keys.
std::string make_log(std::size_t bytes, std::int64_t keys) {
  std::string log;
  std::int64_t offset = 0;
  while (log.size() < bytes) {
    std::vector<keyed_record> records;
    for (int i = 0; i < 16; ++i) records.push_back({"key-" + std::to_string((offset + i) % keys), std::string(1000, 'v')});
    std::string batch = build_keyed_batch(records, now_ms);
    set_base_offset(batch, 0, offset);
    offset += 16;
    log += batch;
  }
  return log;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--rounds") {
      rounds = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: cleaner_bench [--rounds R]\n");
      return 2;
    }
  }
  if (rounds < 1 || rounds > 50) {
    std::fprintf(stderr, "cleaner_bench: --rounds in [1, 50]\n");
    return 2;
  }
  std::printf("cleaner_bench: one clean_log pass over uncompressed batches of 16 keyed 1 KiB records, "
              "median of %d rounds\n\n", rounds);
  std::printf("%-30s %8s %10s %10s %9s %12s\n", "log", "kept %", "pass ms", "MB/s", "copy ms", "pass / copy");
  struct shape {
    const char* name;
    std::size_t bytes;
    std::int64_t keys_per_mib;  // distinct keys per MiB of log
  };
  for (const shape s : {shape{"8 MiB, keys repeat little", 8u << 20, 900}, shape{"8 MiB, keys repeat a lot", 8u << 20, 20},
                        shape{"32 MiB, keys repeat little", 32u << 20, 900},
                        shape{"32 MiB, keys repeat a lot", 32u << 20, 20}}) {
    const std::string log = make_log(s.bytes, s.keys_per_mib * static_cast<std::int64_t>(s.bytes >> 20));
    const std::vector<std::string_view> pieces{log};
    std::vector<double> pass_ms, copy_ms;
    double kept = 0;
    std::string copy(log.size(), '\0');
    for (int r = 0; r < rounds; ++r) {
      const auto t0 = clock_type::now();
      auto out = clean_log(pieces, {}, cleaner_rules{now_ms, 86'400'000});
      const auto t1 = clock_type::now();
      if (!out) {
        std::fprintf(stderr, "cleaner_bench: %s\n", out.error().text.c_str());
        return 1;
      }
      kept = 100.0 * static_cast<double>(out->records_kept) / static_cast<double>(out->records_in);
      std::memcpy(copy.data(), log.data(), log.size());
      const auto t2 = clock_type::now();
      pass_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      copy_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
    const double pass = median(pass_ms);
    const double anchor = std::max(median(copy_ms), 1e-3);
    std::printf("%-30s %8.1f %10.1f %10.0f %9.2f %11.0fx\n", s.name, kept, pass,
                static_cast<double>(log.size()) / 1e3 / pass, anchor, pass / anchor);
  }
  return 0;
}
