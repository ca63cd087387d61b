// Seeded simulation of the multi-Raft host (docs/raft_host.md "Simulation"): 3 hosts x 8 groups,
// each host the production host_core over a simulated disk that completes batches late, out of
// order and merged, fails writes (fencing the host) and loses unsynced data on power loss; the
// network delays, reorders and loses messages and isolates hosts. Every failure prints its seed;
// CHRONIK_SIM_SEED replays one, CHRONIK_SIM_SCALE scales the count (tests/sim/sim_seeds.h).
#include <gtest/gtest.h>

#include <algorithm>
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
    counts.moves_begun += c.counts().moves_begun;
    counts.moves_cancelled += c.counts().moves_cancelled;
    counts.moves_finished += c.counts().moves_finished;
    counts.conf_changes += c.counts().conf_changes;
    counts.transfers += c.counts().transfers;
    counts.removals += c.counts().removals;
    counts.revivals += c.counts().revivals;
    counts.revivals_postponed += c.counts().revivals_postponed;
    counts.votes_held += c.votes_held();
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
  o.stagger_create_ticks = r.below(2) == 0 ? 0 : 1 + r.below(40);
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
              "write, %llu disk batches, %llu urgent outbox calls, %llu compactions, %llu snapshots installed, %llu vote "
              "requests held for groups not running yet\n",
              what, static_cast<unsigned long long>(t.runs), static_cast<unsigned long long>(t.broken),
              static_cast<unsigned long long>(t.counts.acked), static_cast<unsigned long long>(t.counts.crashes),
              static_cast<unsigned long long>(t.counts.disk_failures), static_cast<unsigned long long>(t.counts.batches),
              static_cast<unsigned long long>(t.counts.urgent_packets), static_cast<unsigned long long>(t.counts.compactions),
              static_cast<unsigned long long>(t.counts.snapshots_installed),
              static_cast<unsigned long long>(t.counts.votes_held));
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
    EXPECT_GT(t.counts.votes_held, t.runs / 10);  // staggered creation: requests before the group
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

// --- replica moves -------------------------------------------------------------------------------

host_sim_options move_options(rng& r) {
  host_sim_options o = options(r, false);
  o.hosts = 4 + static_cast<int>(r.below(2));
  o.groups = 4;
  o.voters = 3;
  o.moves = true;
  return o;
}

// A random target of 2..4 distinct hosts (AlterPartitionReassignments' replica list). Not 1: a
// group shrunk to one voter whose leader restarts before its commit index of the removal is
// durable waits for the removed voter forever (docs/raft_host.md "Simulation").
std::vector<int> random_target(rng& r, int hosts) {
  std::vector<int> all(static_cast<std::size_t>(hosts));
  for (int i = 0; i < hosts; ++i) all[static_cast<std::size_t>(i)] = i;
  for (std::size_t i = all.size() - 1; i > 0; --i) std::swap(all[i], all[r.below(i + 1)]);
  all.resize(2 + r.below(static_cast<std::uint64_t>(std::min(hosts, 4) - 1)));
  return all;
}

// The chaos of chaos() plus moves: now and then a group gets a new target, or its move is
// cancelled, while proposals, crashes, isolation, disk faults and compaction go on.
void chaos_with_moves(host_cluster& c, int ticks, int groups) {
  rng& r = c.random();
  const auto hosts = static_cast<std::uint64_t>(c.hosts());
  std::uint64_t value = 0;
  for (int step = 0; step < ticks && c.violations().empty(); ++step) {
    for (int k = 0; k < 2; ++k)
      if (r.below(2) == 0) c.propose(static_cast<int>(r.below(static_cast<std::uint64_t>(groups))), "v" + std::to_string(++value));
    if (r.below(15) == 0) {
      // A new target, for a group at rest or one moving; or a cancel of a move in progress (more
      // than once too: `__meta` keeps the replicas a move began from).
      const int g = static_cast<int>(r.below(static_cast<std::uint64_t>(groups)));
      if (c.moving(g) && r.below(3) == 0) {
        c.cancel(g);
      } else {
        c.move(g, random_target(r, c.hosts()));
      }
    }
    if (r.below(120) == 0) c.crash(static_cast<int>(r.below(hosts)));
    if (r.below(150) == 0) c.isolate(static_cast<int>(r.below(hosts)), true);
    if (r.below(60) == 0) c.heal();
    c.run(1);
  }
}

void report_moves(const char* what, const tally& t) {
  report(what, t);
  std::printf("%s: %llu targets, %llu cancels, %llu moves finished, %llu membership changes, %llu leadership "
              "transfers, %llu replicas removed, %llu revived (%llu waited for the removal)\n",
              what, static_cast<unsigned long long>(t.counts.moves_begun),
              static_cast<unsigned long long>(t.counts.moves_cancelled),
              static_cast<unsigned long long>(t.counts.moves_finished),
              static_cast<unsigned long long>(t.counts.conf_changes), static_cast<unsigned long long>(t.counts.transfers),
              static_cast<unsigned long long>(t.counts.removals), static_cast<unsigned long long>(t.counts.revivals),
              static_cast<unsigned long long>(t.counts.revivals_postponed));
}

// Replica moves (docs/kafka.md "Moving replicas") under the same chaos, with the production
// host_core on every host, `__meta`'s production rules and the production planner: nothing
// acknowledged is lost, and after healing every move ends with the group's voters exactly its
// replicas, every one of which applies a final entry.
TEST(HostSim, MovesLoseNothing) {
  tally t;
  for (std::uint64_t seed : seeds(1000, 23)) {
    set_current_seed(seed);
    rng setup(seed ^ 0x5eedULL);
    const host_sim_options o = move_options(setup);
    host_cluster c(seed, o);
    chaos_with_moves(c, 600, o.groups);
    if (c.violations().empty()) c.converge(1500);
    t.add(c);
    if (!c.violations().empty()) {
      std::string all;
      for (const auto& v : c.violations()) all += "  " + v + "\n";
      FAIL() << "seed " << seed << " broke an invariant (" << replay(seed) << "):\n" << all;
    }
  }
  report_moves("host sim with moves", t);
  if (t.runs >= 100) {
    EXPECT_GT(t.counts.moves_finished, t.runs);
    EXPECT_GT(t.counts.moves_cancelled, 0u);
    EXPECT_GT(t.counts.transfers, 0u);
    EXPECT_GT(t.counts.removals, t.runs);
    EXPECT_GT(t.counts.revivals, 0u);
    EXPECT_GT(t.counts.crashes, t.runs / 2);
  }
}

// The unsafe twin of the test above: a planner that reports the move done as soon as every target
// replica votes, while the leaving replicas still vote too. `__meta` then ends the move and the
// leaving hosts delete their copies although the group still counts them: acknowledged entries
// held by them are gone from a majority of the voters. The checker must see it.
kafka::move_step report_early(const std::vector<consensus::node_id>& target, const consensus::raft_status& st) {
  kafka::move_step s = kafka::plan_move_step(target, st);
  if (s.what != kafka::move_step::kind::change || s.change.op != consensus::conf_change::kind::remove) return s;
  for (consensus::node_id t : target)
    if (std::ranges::find(st.conf.voters, t) == st.conf.voters.end()) return s;
  if (!st.conf.learners.empty()) return s;
  kafka::move_step early;
  early.what = kafka::move_step::kind::finish;
  return early;
}

TEST(HostSim, AnEarlyMoveReportLosesAcknowledgedEntries) {
  tally t;
  std::uint64_t lost = 0;  // runs the durability check failed (not only convergence)
  for (std::uint64_t seed : seeds(100, 24)) {
    set_current_seed(seed);
    rng setup(seed ^ 0x5eedULL);
    host_sim_options o = move_options(setup);
    o.planner = report_early;
    host_cluster c(seed, o);
    chaos_with_moves(c, 600, o.groups);
    if (c.violations().empty()) c.converge(1500);
    for (const auto& v : c.violations()) {
      if (v.find("is durable on") == std::string::npos) continue;
      if (lost++ == 0) std::printf("early report, seed %llu: %s\n", static_cast<unsigned long long>(seed), v.c_str());
      break;
    }
    t.add(c);
  }
  report_moves("early report", t);
  std::printf("early report: the durability check failed in %llu runs\n", static_cast<unsigned long long>(lost));
  if (t.runs >= 50) {
    EXPECT_GT(lost, 0u);
  }
}

}  // namespace
}  // namespace chronik::sim
