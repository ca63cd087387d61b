// In-process throughput of the Raft core (issue 3 "Core throughput"): a 3-node cluster on
// memory_storage with messages handed over directly, so the figure is the core's own cost per
// committed entry. Proposals go in batches of 1, 16 and 256 per ready cycle; the figure is entries
// committed per second at the leader, and the ratio is against batches of 1 in the same run.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "consensus/core/memory_storage.h"
#include "consensus/core/raft.h"

namespace {

using namespace chronik::consensus;

// Keyed by node_id itself (not its raw number), which reads the same at both commits.
const node_id leader{1U};

struct cluster {
  std::map<node_id, std::unique_ptr<memory_storage>> disks;
  std::map<node_id, std::unique_ptr<raft>> cores;
  std::deque<message> queue;
  std::uint64_t committed_at_leader = 0;

  explicit cluster(raft_config cfg) {
    conf_state conf{{node_id{1}, node_id{2}, node_id{3}}, {}};
    for (std::uint32_t raw = 1; raw <= 3; ++raw) {
      const node_id id{raw};
      disks[id] = std::make_unique<memory_storage>(conf);
      cores[id] = std::make_unique<raft>(cfg, id, *disks[id], raw);
    }
    cores[leader]->campaign();
    settle();
  }

  // One round: every node persists its ready, messages are delivered, committed entries counted.
  bool round() {
    bool moved = false;
    for (auto& [id, core] : cores) {
      if (!core->has_ready()) continue;
      moved = true;
      ready rd = core->get_ready();
      disks[id]->persist(rd.hard_state_update, rd.snapshot_update, rd.entries);
      for (auto& m : rd.messages) queue.push_back(std::move(m));
      if (id == leader) committed_at_leader += rd.committed_entries.size();
      core->advance(rd);
    }
    while (!queue.empty()) {
      moved = true;
      message m = std::move(queue.front());
      queue.pop_front();
      cores.at(m.to)->step(m);
    }
    return moved;
  }
  void settle() {
    for (int i = 0; i < 1000 && round(); ++i) {
    }
  }
};

raft_config bench_config() {
  raft_config cfg;
  cfg.max_uncommitted_bytes = 1ULL << 30;
  return cfg;
}

// One ready cycle: a batch of proposals at the leader, three rounds to replicate and commit it,
// and now and then a compaction, as a real node would, so memory stays flat over the run.
void cycle(cluster& c, std::size_t batch, const std::string& payload, std::uint64_t& cycles) {
  for (std::size_t i = 0; i < batch; ++i) (void)c.cores[leader]->propose(payload);
  c.round();
  c.round();
  c.round();
  if (++cycles % 1024 == 0) {
    for (auto& [id, core] : c.cores) {
      const log_index applied = core->log().applied();
      c.disks[id]->compact(applied, {}, core->conf());
    }
  }
}

double run(std::size_t batch, double seconds) {
  cluster c(bench_config());
  const std::string payload(256, 'x');
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  const std::uint64_t before = c.committed_at_leader;
  std::uint64_t cycles = 0;
  while (std::chrono::steady_clock::now() < end) cycle(c, batch, payload, cycles);
  c.settle();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(c.committed_at_leader - before) / elapsed;
}

// The fixed work measured by instructions_compare.sh: `entries` proposals (rounded up to whole
// batches) from an elected leader until all are committed. Not inlined, so that callgrind can
// count this function alone (--toggle-collect), leaving out the cluster's setup and teardown.
[[gnu::noinline]] std::uint64_t fixed_work(cluster& c, std::size_t batch, std::uint64_t entries) {
  const std::string payload(256, 'x');
  const std::uint64_t before = c.committed_at_leader;
  std::uint64_t cycles = 0;
  for (std::uint64_t proposed = 0; proposed < entries; proposed += batch) cycle(c, batch, payload, cycles);
  c.settle();
  return c.committed_at_leader - before;
}

int run_fixed(std::uint64_t entries, std::size_t only_batch) {
  std::printf("raft core, 3 nodes in memory, 256-byte entries, %llu entries per case\n",
              static_cast<unsigned long long>(entries));
  std::printf("%-10s %18s %12s %18s\n", "batch", "committed", "seconds", "entries/s");
  for (std::size_t batch : {std::size_t{1}, std::size_t{16}, std::size_t{256}}) {
    if (only_batch != 0 && batch != only_batch) continue;
    cluster c(bench_config());
    const auto start = std::chrono::steady_clock::now();
    const std::uint64_t committed = fixed_work(c, batch, entries);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%-10zu %18llu %12.3f %18.0f\n", batch, static_cast<unsigned long long>(committed), elapsed,
                static_cast<double>(committed) / elapsed);
    // Every proposal must commit, or the counts compared between commits are of different work.
    const std::uint64_t want = (entries + batch - 1) / batch * batch;
    if (committed != want) {
      std::fprintf(stderr, "committed %llu entries, proposed %llu\n", static_cast<unsigned long long>(committed),
                   static_cast<unsigned long long>(want));
      return 1;
    }
  }
  return 0;
}

int usage() {
  std::fprintf(stderr, "usage: raft_core_bench [seconds]\n       raft_core_bench --entries N [--batch 1|16|256]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--entries") == 0) {
    if (argc != 3 && !(argc == 5 && std::strcmp(argv[3], "--batch") == 0)) return usage();
    const std::uint64_t entries = std::stoull(argv[2]);
    const std::size_t batch = argc == 5 ? std::stoul(argv[4]) : 0;
    if (entries == 0 || (batch != 0 && batch != 1 && batch != 16 && batch != 256)) return usage();
    return run_fixed(entries, batch);
  }
  const double seconds = argc > 1 ? std::stod(argv[1]) : 2.0;
  std::printf("raft core, 3 nodes in memory, 256-byte entries, %.1f s per case\n", seconds);
  std::printf("%-10s %18s %12s\n", "batch", "entries/s", "vs batch 1");
  const double base = run(1, seconds);
  std::printf("%-10d %18.0f %12.2f\n", 1, base, 1.0);
  for (std::size_t batch : {16, 256}) {
    const double rate = run(batch, seconds);
    std::printf("%-10zu %18.0f %12.2f\n", batch, rate, rate / base);
  }
  return 0;
}
