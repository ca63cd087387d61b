// Seeded simulation of the multi-Raft host (docs/raft_host.md "Simulation"): 3 hosts x 8 groups,
// each host the production host_core over a simulated disk that completes batches late, out of
// order and merged, fails writes (fencing the host) and loses unsynced data on power loss; the
// network delays, reorders and loses messages and isolates hosts. Every failure prints its seed;
// CHRONIK_SIM_SEED replays one, CHRONIK_SIM_SCALE scales the count (tests/sim/sim_seeds.h).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tests/sim/host_cluster.h"
#include "tests/sim/seed_guard.h"
#include "tests/sim/sim_seeds.h"

namespace chronik::sim {
namespace {

struct tally {
  std::uint64_t runs = 0;
  std::uint64_t broken = 0;
  host_sim_counts counts;
  void add(const host_cluster& c) {
    ++runs;
    broken += c.violations().empty() ? 0 : 1;
    counts.acked += c.counts().acked;
    counts.crashes += c.counts().crashes;
    counts.disk_failures += c.counts().disk_failures;
    counts.urgent_packets += c.counts().urgent_packets;
    counts.batches += c.counts().batches;
    counts.compactions += c.counts().compactions;
    counts.snapshots_installed += c.counts().snapshots_installed;
  }
};

host_sim_options options(rng& r, bool lying) {
  host_sim_options o;
  o.hosts = 3;
  o.groups = 8;
  o.loss_percent = static_cast<std::uint32_t>(r.below(6));
  o.max_delay_ticks = 1 + r.below(3);
  o.disk.reorder_percent = static_cast<std::uint32_t>(r.below(101));
  o.disk.merge_percent = static_cast<std::uint32_t>(r.below(50));
  o.disk.fail_per_mille = r.below(3) == 0 ? static_cast<std::uint32_t>(1 + r.below(4)) : 0;
  o.disk.lying = lying;
  return o;
}

// One run: proposals to random groups under crashes, isolation and disk faults, then healing.
void chaos(host_cluster& c, int ticks) {
  rng& r = c.random();
  std::uint64_t value = 0;
  for (int step = 0; step < ticks && c.violations().empty(); ++step) {
    for (int k = 0; k < 2; ++k)
      if (r.below(2) == 0) c.propose(static_cast<int>(r.below(8)), "v" + std::to_string(++value));
    if (r.below(120) == 0) c.crash(static_cast<int>(r.below(3)));
    if (r.below(150) == 0) c.isolate(static_cast<int>(r.below(3)), true);
    if (r.below(60) == 0) c.heal();
    c.run(1);
  }
}

void report(const char* what, const tally& t) {
  std::printf("%s: %llu runs, %llu broken; %llu entries acknowledged, %llu crashes, %llu hosts fenced by a failed "
              "write, %llu disk batches, %llu urgent outbox calls, %llu compactions, %llu snapshots installed\n",
              what, static_cast<unsigned long long>(t.runs), static_cast<unsigned long long>(t.broken),
              static_cast<unsigned long long>(t.counts.acked), static_cast<unsigned long long>(t.counts.crashes),
              static_cast<unsigned long long>(t.counts.disk_failures), static_cast<unsigned long long>(t.counts.batches),
              static_cast<unsigned long long>(t.counts.urgent_packets), static_cast<unsigned long long>(t.counts.compactions),
              static_cast<unsigned long long>(t.counts.snapshots_installed));
}

TEST(HostSim, NothingAcknowledgedIsLost) {
  tally t;
  for (std::uint64_t seed : seeds(2000, 21)) {
    set_current_seed(seed);
    rng setup(seed ^ 0x5eedULL);
    host_cluster c(seed, options(setup, false));
    chaos(c, 500);
    if (c.violations().empty()) c.converge(600);
    t.add(c);
    if (!c.violations().empty()) {
      std::string all;
      for (const auto& v : c.violations()) all += "  " + v + "\n";
      FAIL() << "seed " << seed << " broke an invariant (" << replay(seed) << "):\n" << all;
    }
  }
  report("host sim", t);
  if (t.runs >= 100) {
    // The runs must have exercised what they claim to: acknowledgements, crashes and fencing.
    EXPECT_GT(t.counts.acked, t.runs * 20);
    EXPECT_GT(t.counts.crashes, t.runs / 2);
    EXPECT_GT(t.counts.disk_failures, 0u);
    EXPECT_GT(t.counts.snapshots_installed, 0u);
  }
}

// The unsafe twin: the same production core over a disk that acknowledges writes before they are
// durable (a lying write cache). The checker must catch acknowledged entries lost on power loss;
// otherwise the test above proves nothing.
TEST(HostSim, ALyingDiskLosesAcknowledgedEntries) {
  tally t;
  for (std::uint64_t seed : seeds(200, 22)) {
    set_current_seed(seed);
    rng setup(seed ^ 0x5eedULL);
    host_cluster c(seed, options(setup, true));
    chaos(c, 300);  // crashes check durability: the lost writes are the ones a crash caught
    if (t.broken == 0 && !c.violations().empty()) {  // show what the checker caught, once
      std::printf("lying disk, seed %llu: %s\n", static_cast<unsigned long long>(seed), c.violations().front().c_str());
    }
    t.add(c);
  }
  report("lying disk", t);
  if (t.runs >= 100) {
    EXPECT_GT(t.broken, 0u);
  }
}

}  // namespace
}  // namespace chronik::sim
