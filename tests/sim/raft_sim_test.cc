// Seeded randomized simulation of the Raft core (issue 3): 3 and 5 nodes on a network that drops,
// delays, duplicates and reorders, with partitions (one-way too), pauses, crashes that lose the
// write in flight, restarts and compaction. Invariants are checked after every tick
// (raft_cluster.cc); a failure prints its seed, and CHRONIK_SIM_SEED=<seed> replays it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>

#include "tests/sim/raft_cluster.h"
#include "tests/sim/seed_guard.h"
#include "tests/sim/sim_seeds.h"

namespace chronik::sim {
namespace {

consensus::raft_config sim_config() {
  consensus::raft_config cfg;
  cfg.election_timeout_ticks_min = 10;
  cfg.election_timeout_ticks_max = 20;
  cfg.heartbeat_ticks = 2;
  cfg.max_msg_bytes = 64;  // small messages exercise pipelining and flow control
  cfg.max_inflight_msgs = 4;
  cfg.snapshot_chunk_bytes = 64;  // snapshots go in several chunks
  return cfg;
}

// One random fault or repair.
void nemesis(raft_cluster& c) {
  auto& r = c.net().random();
  const int n = c.size();
  const int victim = static_cast<int>(r.below(static_cast<std::uint64_t>(n)));
  int down = 0;
  for (int i = 0; i < n; ++i) down += c.running(i) ? 0 : 1;
  switch (r.below(9)) {
    case 0:
      if (c.running(victim) && down + 1 <= (n - 1) / 2) c.crash(victim);
      break;
    case 1:
      for (int i = 0; i < n; ++i)
        if (!c.running(i)) c.restart(i);
      break;
    case 2: {  // a random split into two sides
      for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b)
          if (a != b && ((a ^ static_cast<int>(r.next())) & 1)) c.net().cut(a, b);
      break;
    }
    case 3: c.net().cut(victim, (victim + 1) % n); break;  // one way only
    case 4:
    case 5: c.net().heal(); break;
    case 6: c.net().pause(victim); break;
    case 7:
      for (int i = 0; i < n; ++i) c.net().resume(i);
      break;
    case 8:
      if (c.running(victim)) c.compact(victim);
      break;
  }
}

void run_one(std::uint64_t seed, int n) {
  set_current_seed(seed);
  raft_cluster c(seed, n, sim_config());
  auto& r = c.net().random();
  c.net().faults = {.loss_percent = static_cast<std::uint32_t>(r.below(8)),
                    .duplicate_percent = static_cast<std::uint32_t>(r.below(4)),
                    .delay_min_ticks = 1,
                    .delay_max_ticks = 1 + r.below(4)};
  std::uint64_t value = 0;
  for (int step = 0; step < 1200; ++step) {
    if (r.below(4) == 0) c.propose("v" + std::to_string(++value));
    if (r.below(30) == 0) nemesis(c);
    c.run(1);
    if (step % 200 == 0) c.check_logs();
    ASSERT_TRUE(c.violations().empty()) << c.violations().front() << "; " << replay(seed);
  }
  // Heal everything; the cluster must elect a leader, commit a fresh proposal and every node must
  // apply every acknowledged value: nothing acknowledged is lost.
  c.net().heal();
  c.net().faults = {};
  for (int i = 0; i < n; ++i) {
    c.net().resume(i);
    if (!c.running(i)) c.restart(i);
  }
  ASSERT_TRUE(c.run_until([&] { return c.leader().has_value(); }, 400)) << "no leader after heal; " << replay(seed) << c.describe();
  std::optional<std::uint64_t> done;
  for (int attempt = 0; attempt < 20 && !done; ++attempt) {
    c.propose("final-" + std::to_string(attempt));
    done = c.run_until([&] { return c.all_applied_acknowledged() && c.acknowledged() > 0; }, 100);
  }
  ASSERT_TRUE(done) << "acknowledged values not applied everywhere after heal; " << replay(seed) << c.describe();
  c.check_logs();
  ASSERT_TRUE(c.violations().empty()) << c.violations().front() << "; " << replay(seed);
}

TEST(RaftSim, ThreeNodesUnderFaults) {
  for (std::uint64_t seed : seeds(5000, 3)) {
    run_one(seed, 3);
    if (HasFatalFailure()) return;
  }
}

TEST(RaftSim, FiveNodesUnderFaults) {
  for (std::uint64_t seed : seeds(5000, 5)) {
    run_one(seed, 5);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace chronik::sim
