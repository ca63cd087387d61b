// In-process throughput of the Raft core (issue 3 "Core throughput"): a 3-node cluster on
// memory_storage with messages handed over directly, so the figure is the core's own cost per
// committed entry. Proposals go in batches of 1, 16 and 256 per ready cycle; the figure is entries
// committed per second at the leader, and the ratio is against batches of 1 in the same run.
#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "consensus/core/memory_storage.h"
#include "consensus/core/raft.h"

namespace {

using namespace chronik::consensus;

struct cluster {
  std::map<std::uint64_t, std::unique_ptr<memory_storage>> disks;
  std::map<std::uint64_t, std::unique_ptr<raft>> cores;
  std::deque<message> queue;
  std::uint64_t committed_at_leader = 0;

  explicit cluster(raft_config cfg) {
    conf_state conf{{node_id{1}, node_id{2}, node_id{3}}, {}};
    for (std::uint64_t id = 1; id <= 3; ++id) {
      disks[id] = std::make_unique<memory_storage>(conf);
      cores[id] = std::make_unique<raft>(cfg, node_id{static_cast<std::uint32_t>(id)}, *disks[id], id);
    }
    cores[1]->campaign();
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
      if (id == 1) committed_at_leader += rd.committed_entries.size();
      core->advance(rd);
    }
    while (!queue.empty()) {
      moved = true;
      message m = std::move(queue.front());
      queue.pop_front();
      cores[m.to.value()]->step(m);
    }
    return moved;
  }
  void settle() {
    for (int i = 0; i < 1000 && round(); ++i) {
    }
  }
};

double run(std::size_t batch, double seconds) {
  raft_config cfg;
  cfg.max_uncommitted_bytes = 1ULL << 30;
  cluster c(cfg);
  const std::string payload(256, 'x');
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  const std::uint64_t before = c.committed_at_leader;
  std::uint64_t cycles = 0;
  // Compact now and then, as a real node would, so memory stays flat over the run.
  while (std::chrono::steady_clock::now() < end) {
    for (std::size_t i = 0; i < batch; ++i) (void)c.cores[1]->propose(payload);
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
  c.settle();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(c.committed_at_leader - before) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
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
