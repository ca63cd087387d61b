// storage_bench: what group commit buys (docs/design.md "Threads", "Testing").
//
//   storage_bench [--dir PATH] [--seconds S] [--entry-bytes N] [--rounds R]
//
// Anchor: a loop of 4 KiB pwrite + fdatasync on a file in PATH, the most a one-fsync-per-append
// design can do on this disk. Then the WAL: batches of G groups' appends (one entry each), with
// group commit (one fdatasync per batch) and without (sync_mode::per_write, one per group).
// Figures are appends (entries) per second and their ratio to the anchor's fsyncs per second.
// Each run is bounded by time and by bytes written; PATH is removed at the end.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "consensus/storage/wal.h"

namespace {

using clock_type = std::chrono::steady_clock;
using chronik::consensus::entry;
using chronik::consensus::group_write;

struct args {
  std::filesystem::path dir = "storage_bench_data";
  double seconds = 2.0;
  int rounds = 3;
  std::size_t entry_bytes = 4096;
  std::uint64_t max_bytes_per_run = 2ull << 30;
};

struct result {
  double appends_per_s = 0;
  double fsyncs_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
};

double percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

double elapsed_s(clock_type::time_point since) {
  return std::chrono::duration<double>(clock_type::now() - since).count();
}

result raw_fdatasync(const args& a) {
  const auto path = a.dir / "raw.bin";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror("open");
    std::exit(1);
  }
  const std::string block(4096, 'r');
  std::vector<double> lat;
  std::uint64_t offset = 0;
  const auto start = clock_type::now();
  while (elapsed_s(start) < a.seconds && offset < a.max_bytes_per_run) {
    const auto t0 = clock_type::now();
    if (::pwrite(fd, block.data(), block.size(), static_cast<off_t>(offset)) !=
            static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      std::perror("raw write");
      std::exit(1);
    }
    lat.push_back(elapsed_s(t0) * 1e6);
    offset += block.size();
  }
  const double secs = elapsed_s(start);
  ::close(fd);
  std::filesystem::remove(path);
  result r;
  r.appends_per_s = r.fsyncs_per_s = static_cast<double>(lat.size()) / secs;
  r.p50_us = percentile(lat, 0.5);
  r.p99_us = percentile(lat, 0.99);
  return r;
}

result wal_run(const args& a, std::uint64_t groups, chronik::consensus::sync_mode mode) {
  using namespace chronik::consensus;
  const auto dir = a.dir / "wal";
  std::filesystem::remove_all(dir);
  wal_options o;
  o.sync = mode;
  auto w = wal::open(dir, o);
  if (!w) {
    std::fprintf(stderr, "open: %s\n", w.error().text.c_str());
    std::exit(1);
  }
  std::vector<group_write> batch(groups);
  for (std::uint64_t g = 0; g < groups; ++g) {
    batch[g].group = group_id{g + 1};
    batch[g].entries.push_back(entry{term_id{1}, log_index{0}, entry_type::normal,
                                     std::string(a.entry_bytes, 'e')});
  }
  std::vector<double> lat;
  std::uint64_t next = 1;
  const std::uint64_t fsyncs_before = (*w)->stats().fsyncs;
  const auto start = clock_type::now();
  while (elapsed_s(start) < a.seconds && next * groups * a.entry_bytes < a.max_bytes_per_run) {
    for (group_write& gw : batch) {
      gw.entries[0].index = log_index{next};
      gw.state = hard_state{term_id{1}, node_id{1}, log_index{next - 1}};
    }
    const auto t0 = clock_type::now();
    if (auto r = (*w)->append_batch(batch); !r) {
      std::fprintf(stderr, "append: %s\n", r.error().text.c_str());
      std::exit(1);
    }
    lat.push_back(elapsed_s(t0) * 1e6);
    ++next;
  }
  const double secs = elapsed_s(start);
  result r;
  r.appends_per_s = static_cast<double>(lat.size() * groups) / secs;
  r.fsyncs_per_s = static_cast<double>((*w)->stats().fsyncs - fsyncs_before) / secs;
  r.p50_us = percentile(lat, 0.5);
  r.p99_us = percentile(lat, 0.99);
  w->reset();
  std::filesystem::remove_all(dir);
  return r;
}

args parse(int argc, char** argv) {
  args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--dir") a.dir = argv[i + 1];
    else if (k == "--seconds") a.seconds = std::atof(argv[i + 1]);
    else if (k == "--entry-bytes") a.entry_bytes = std::strtoull(argv[i + 1], nullptr, 10);
    else if (k == "--rounds") a.rounds = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: storage_bench [--dir PATH] [--seconds S] [--entry-bytes N] "
                   "[--rounds R]\n");
      std::exit(2);
    }
  }
  if (a.seconds <= 0 || a.seconds > 600 || a.entry_bytes == 0 || a.entry_bytes > (16u << 20) ||
      a.rounds < 1 || a.rounds > 20) {
    std::fprintf(stderr, "storage_bench: --seconds in (0, 600], --entry-bytes in [1, 16 MiB], "
                         "--rounds in [1, 20]\n");
    std::exit(2);
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const args a = parse(argc, argv);
  std::filesystem::create_directories(a.dir);
  std::printf("storage_bench: dir %s, %d rounds of %.1f s per run, %zu-byte entries, one entry "
              "per group per batch\n\n", std::filesystem::absolute(a.dir).c_str(), a.rounds,
              a.seconds, a.entry_bytes);
  using chronik::consensus::sync_mode;
  struct config {
    std::string name;
    std::uint64_t groups;  // 0: the raw anchor
    sync_mode mode;
  };
  std::vector<config> configs = {{"raw 4 KiB pwrite + fdatasync", 0, sync_mode::group_commit}};
  for (std::uint64_t groups : {1u, 16u, 64u}) {
    configs.push_back({"wal group commit, " + std::to_string(groups) + " groups", groups,
                       sync_mode::group_commit});
    if (groups == 1) continue;  // per_write is the same thing with one group
    configs.push_back({"wal fsync per append, " + std::to_string(groups) + " groups", groups,
                       sync_mode::per_write});
  }
  // Rounds interleave every configuration, and the anchor runs at the start and end of each, so
  // a disk that is busy with other work for a while skews every row alike; medians are reported.
  std::vector<std::vector<result>> runs(configs.size());
  for (int round = 0; round < a.rounds; ++round) {
    runs[0].push_back(raw_fdatasync(a));
    for (std::size_t c = 1; c < configs.size(); ++c) {
      runs[c].push_back(wal_run(a, configs[c].groups, configs[c].mode));
    }
    runs[0].push_back(raw_fdatasync(a));
    std::fprintf(stderr, "round %d of %d done\n", round + 1, a.rounds);
  }
  auto median_of = [](std::vector<result> rs, auto field) {
    std::vector<double> v;
    for (const result& r : rs) v.push_back(r.*field);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double raw_rate = median_of(runs[0], &result::fsyncs_per_s);
  std::printf("%-34s %11s %16s %10s %9s %9s %8s\n", "run (median of rounds)", "appends/s",
              "[min-max]", "fsyncs/s", "p50 us", "p99 us", "vs raw");
  for (std::size_t c = 0; c < configs.size(); ++c) {
    std::vector<double> rates;
    for (const result& r : runs[c]) rates.push_back(r.appends_per_s);
    std::sort(rates.begin(), rates.end());
    const double rate = median_of(runs[c], &result::appends_per_s);
    char range[40];
    std::snprintf(range, sizeof range, "[%.0f-%.0f]", rates.front(), rates.back());
    std::printf("%-34s %11.0f %16s %10.0f %9.1f %9.1f %7.2fx\n", configs[c].name.c_str(), rate,
                range, median_of(runs[c], &result::fsyncs_per_s),
                median_of(runs[c], &result::p50_us), median_of(runs[c], &result::p99_us),
                rate / raw_rate);
  }
  std::printf("\nvs raw: appends/s over the median raw fdatasync rate (%.0f/s). Latencies are per "
              "append_batch call (per write for the anchor).\n", raw_rate);
  std::filesystem::remove_all(a.dir);
  return 0;
}
