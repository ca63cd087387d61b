// large_frame_bench: the CPU a WAL frame of many megabytes costs per GB written
// (docs/performance.md "Write calls of at most 1 MiB").
//
//   large_frame_bench [--dir PATH] [--frame-mib N] [--entry-kib K] [--mib-per-run M] [--rounds R]
//
// Under a produce load of large batches (librdkafka's up to 1 MB per partition) each group commit
// writes one frame of several to tens of megabytes, then fdatasyncs it. Three writers, each
// followed by one fdatasync per frame, write the same bytes from the same 256 MiB pool of payloads
// (colder than any cache, as a broker's received requests are):
//   - the WAL: append_batch of frame-mib / entry-kib groups, one entry each;
//   - anchor "one call": one pwrite per frame, as the WAL wrote before its calls were capped;
//   - anchor "1 MiB calls": the frame in pwrites of at most 1 MiB, the WAL's file I/O alone.
// Figures: CPU seconds (user + system, this process) per GB written and MB/s, medians of rounds
// that interleave the three; the ratio is the WAL's CPU per GB over the one-call anchor's.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "consensus/storage/wal.h"

namespace {

using clock_type = std::chrono::steady_clock;

struct args {
  std::filesystem::path dir = "large_frame_bench_data";
  std::size_t frame_bytes = 16u << 20;
  std::size_t entry_bytes = 1u << 20;
  std::uint64_t bytes_per_run = 1024ull << 20;
  int rounds = 3;
};

struct figures {
  double cpu_s_per_gb = 0;
  double mb_per_s = 0;
};

// The payloads every writer draws from, in turn: 256 MiB, so no frame's source is still cached.
struct payload_pool {
  explicit payload_pool(std::size_t entry_bytes) {
    const std::size_t count = std::max<std::size_t>(1, (256u << 20) / entry_bytes);
    for (std::size_t i = 0; i < count; ++i) {
      std::string s(entry_bytes, '\0');
      for (std::size_t j = 0; j < s.size(); j += 64) s[j] = static_cast<char>(i + j);
      payloads.emplace_back(std::move(s));
    }
  }
  const chronik::shared_payload& next() {
    const auto& p = payloads[at];
    at = (at + 1) % payloads.size();
    return p;
  }
  std::vector<chronik::shared_payload> payloads;
  std::size_t at = 0;
};

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  const auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

[[noreturn]] void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "large_frame_bench: %s: %s\n", what, detail.c_str());
  std::exit(1);
}

// Measures `write_frames`, which writes `frames` frames and returns the bytes it wrote.
template <typename Fn>
figures measure(Fn write_frames) {
  const double cpu0 = cpu_seconds();
  const auto t0 = clock_type::now();
  const std::uint64_t bytes = write_frames();
  const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double gb = static_cast<double>(bytes) / 1e9;
  return {(cpu_seconds() - cpu0) / gb, gb * 1e3 / secs};
}

figures raw_run(const args& a, payload_pool& pool, std::size_t max_call) {
  const auto path = a.dir / "raw.bin";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("open", path.string());
  // The frame is gathered into one buffer first, as a writer of one pwrite must (the WAL hands the
  // kernel the payloads themselves); that copy counts, as user time.
  std::string frame(a.frame_bytes, '\0');
  const figures f = measure([&] {
    std::uint64_t offset = 0;
    while (offset < a.bytes_per_run) {
      for (std::size_t at = 0; at < frame.size(); at += a.entry_bytes) {
        const std::string_view p = pool.next();
        std::copy_n(p.data(), std::min(p.size(), frame.size() - at), frame.data() + at);
      }
      for (std::size_t done = 0; done < frame.size();) {
        const std::size_t n = std::min(max_call, frame.size() - done);
        if (::pwrite(fd, frame.data() + done, n, static_cast<off_t>(offset + done)) != static_cast<ssize_t>(n)) {
          die("pwrite", path.string());
        }
        done += n;
      }
      if (::fdatasync(fd) != 0) die("fdatasync", path.string());
      offset += frame.size();
    }
    return offset;
  });
  ::close(fd);
  std::filesystem::remove(path);
  return f;
}

figures wal_run(const args& a, payload_pool& pool) {
  using namespace chronik::consensus;
  const auto dir = a.dir / "wal";
  std::filesystem::remove_all(dir);
  auto w = wal::open(dir, wal_options{});
  if (!w) die("open", w.error().text);
  std::vector<group_write> batch(a.frame_bytes / a.entry_bytes);
  for (std::size_t g = 0; g < batch.size(); ++g) {
    batch[g].group = group_id{g + 1};
    batch[g].entries.resize(1);
  }
  const figures f = measure([&] {
    std::uint64_t written = 0;
    for (std::uint64_t next = 1; written < a.bytes_per_run; ++next) {
      for (group_write& gw : batch) {
        gw.entries[0] = entry{term_id{1}, log_index{next}, entry_type::normal, pool.next()};
        gw.state = hard_state{term_id{1}, node_id{1}, log_index{next - 1}};
      }
      if (auto r = (*w)->append_batch(batch); !r) die("append", r.error().text);
      written += batch.size() * a.entry_bytes;
    }
    return written;
  });
  w->reset();
  std::filesystem::remove_all(dir);
  return f;
}

args parse(int argc, char** argv) {
  args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const auto n = std::strtoull(argv[i + 1], nullptr, 10);
    if (k == "--dir") a.dir = argv[i + 1];
    else if (k == "--frame-mib") a.frame_bytes = n << 20;
    else if (k == "--entry-kib") a.entry_bytes = n << 10;
    else if (k == "--mib-per-run") a.bytes_per_run = n << 20;
    else if (k == "--rounds") a.rounds = static_cast<int>(n);
    else {
      std::fprintf(stderr, "usage: large_frame_bench [--dir PATH] [--frame-mib N] [--entry-kib K] "
                           "[--mib-per-run M] [--rounds R]\n");
      std::exit(2);
    }
  }
  if (a.entry_bytes == 0 || a.frame_bytes < a.entry_bytes || a.frame_bytes > (128u << 20) ||
      a.bytes_per_run < a.frame_bytes || a.bytes_per_run > (8ull << 30) || a.rounds < 1 || a.rounds > 20) {
    std::fprintf(stderr, "large_frame_bench: need 0 < entry <= frame <= 128 MiB, frame <= run <= 8 GiB, "
                         "rounds in [1, 20]\n");
    std::exit(2);
  }
  return a;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const args a = parse(argc, argv);
  std::filesystem::create_directories(a.dir);
  payload_pool pool(a.entry_bytes);
  std::printf("large_frame_bench: dir %s, frames of %zu MiB (%zu entries of %zu KiB), %llu MiB per run, "
              "%d rounds, fdatasync after every frame\n\n", std::filesystem::absolute(a.dir).c_str(),
              a.frame_bytes >> 20, a.frame_bytes / a.entry_bytes, a.entry_bytes >> 10,
              static_cast<unsigned long long>(a.bytes_per_run >> 20), a.rounds);
  std::vector<figures> wal, one_call, capped;
  for (int round = 0; round < a.rounds; ++round) {
    one_call.push_back(raw_run(a, pool, a.frame_bytes));
    wal.push_back(wal_run(a, pool));
    capped.push_back(raw_run(a, pool, 1u << 20));
    std::fprintf(stderr, "round %d of %d done\n", round + 1, a.rounds);
  }
  const auto row = [](const char* name, const std::vector<figures>& fs) {
    std::vector<double> cpu, mb;
    for (const figures& f : fs) {
      cpu.push_back(f.cpu_s_per_gb);
      mb.push_back(f.mb_per_s);
    }
    char range[48];
    std::snprintf(range, sizeof range, "[%.2f-%.2f]", *std::min_element(cpu.begin(), cpu.end()),
                  *std::max_element(cpu.begin(), cpu.end()));
    std::printf("%-36s %10.2f %18s %9.0f\n", name, median(cpu), range, median(mb));
    return median(cpu);
  };
  std::printf("%-36s %10s %18s %9s\n", "writer (median of rounds)", "CPU s/GB", "[min-max]", "MB/s");
  const double anchor = row("one pwrite per frame (anchor)", one_call);
  const double ours = row("wal append_batch", wal);
  row("pwrites of at most 1 MiB", capped);
  std::printf("\nwal / one-call anchor, CPU per GB: %.2fx (lower is better)\n", ours / anchor);
  std::filesystem::remove_all(a.dir);
  return 0;
}
