// Seeded simulation of the gossip core (docs/design.md "Testing"). Each test runs many seeds; a
// failure prints the seed, and CHRONIK_SIM_SEED=<seed> replays exactly that run. Bounds are derived
// in docs/gossip.md ("Bounds").
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <optional>
#include <string>

#include "tests/sim/gossip_cluster.h"
#include "tests/sim/seed_guard.h"
#include "tests/sim/sim_seeds.h"

namespace chronik::sim {
namespace {

using gossip::member_state;

gossip::config sim_config(gossip::config cfg) {
  cfg.tick_ms = 10;  // the simulation's unit of time; all bounds below are in these ticks
  return cfg;
}

// Random seed lists whose graph is connected: in a random order, each node names one earlier node,
// sometimes two. Seeds may start later than the node naming them.
std::vector<std::vector<int>> connected_seed_lists(rng& r, int n) {
  std::vector<int> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  r.shuffle(order);
  std::vector<std::vector<int>> seeds(static_cast<std::size_t>(n));
  for (int k = 1; k < n; ++k) {
    seeds[order[k]].push_back(order[r.below(k)]);
    if (r.below(3) == 0) seeds[order[k]].push_back(order[r.below(k)]);
  }
  return seeds;
}

// Starts all n nodes in a random order at random times within `spread` ticks.
std::uint64_t start_randomly(gossip_cluster& c, std::uint64_t spread) {
  auto& r = c.net().random();
  auto seed_lists = connected_seed_lists(r, c.size());
  std::vector<int> order(static_cast<std::size_t>(c.size()));
  std::iota(order.begin(), order.end(), 0);
  r.shuffle(order);
  std::uint64_t elapsed = 0;
  for (int i : order) {
    const std::uint64_t gap = spread / static_cast<std::uint64_t>(c.size());
    const std::uint64_t wait = gap == 0 ? 0 : r.below(gap + 1);
    c.run(wait);
    elapsed += wait;
    c.start(i, seed_lists[i]);
  }
  return elapsed;
}

// Convergence bound (docs/gossip.md "Bounds"): every seed is retried until it answers, at most
// join_retry_max apart, and each answer is a full sync; news learned in a sync is passed on by
// another sync one gossip interval later, and a member that hears from a stranger syncs with it on
// first contact, which round-robin probing guarantees within a few probe periods.
std::uint64_t convergence_bound_ticks(const gossip::config& cfg, int) {
  return 2 * cfg.ticks(cfg.join_retry_max_ms) + 6 * cfg.ticks(cfg.probe_interval_ms);
}

// Detection bound (docs/gossip.md "Bounds"): the n - 1 survivors probe in shuffled round-robin, so
// some survivor probes the victim within a few periods and, since failed probes of a suspect count
// as independent confirmations, k more accuse it within about n / 2 periods; the suspicion then
// expires at its minimum and the dead message spreads in a few gossip rounds.
std::uint64_t detection_bound_ticks(const gossip::config& cfg, int n) {
  const auto probe = cfg.ticks(cfg.probe_interval_ms);
  const auto min = gossip::suspicion_min_ticks(cfg.suspicion_mult, static_cast<std::size_t>(n), probe);
  return min + (static_cast<std::uint64_t>(n) / 2 + 4) * probe + 10 * cfg.ticks(cfg.gossip_interval_ms);
}

void expect_clean(const gossip_cluster& c) {
  ASSERT_TRUE(c.violations().empty()) << c.violations().front() << "; " << replay(c.seed());
}

struct size_case {
  int n;
  std::uint64_t runs;
};

TEST(GossipSim, AnyStartOrderConverges) {
  const gossip::config cfg = sim_config(gossip::config::local());
  for (auto [n, runs] : {size_case{3, 600}, {5, 500}, {8, 300}, {16, 60}, {32, 12}, {64, 3}}) {
    std::uint64_t worst = 0;
    std::uint64_t worst_seed = 0;
    for (std::uint64_t seed : seeds(runs, static_cast<std::uint64_t>(n))) {
      gossip_cluster c(seed, cfg, n);
      set_current_seed(seed);
      c.net().faults = {.loss_percent = 5, .duplicate_percent = 2, .delay_min_ticks = 1, .delay_max_ticks = 4};
      start_randomly(c, 300);
      auto took = c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, n));
      ASSERT_TRUE(took.has_value()) << "n=" << n << " did not converge; " << "; " << c.divergence() << "; " << replay(seed);
      if (*took > worst) worst = *took, worst_seed = seed;
      expect_clean(c);
    }
    std::printf("n=%d: worst convergence after last start %llu ticks (seed %llu, bound %llu)\n", n,
                static_cast<unsigned long long>(worst), static_cast<unsigned long long>(worst_seed),
                static_cast<unsigned long long>(convergence_bound_ticks(cfg, n)));
  }
}

TEST(GossipSim, CrashIsDetectedByEveryMember) {
  const gossip::config cfg = sim_config(gossip::config::local());
  for (auto [n, runs] : {size_case{3, 300}, {5, 300}, {8, 100}, {16, 20}}) {
    std::uint64_t worst = 0;
    for (std::uint64_t seed : seeds(runs, 100 + static_cast<std::uint64_t>(n))) {
      gossip_cluster c(seed, cfg, n);
      set_current_seed(seed);
      c.net().faults = {.loss_percent = 2, .delay_min_ticks = 1, .delay_max_ticks = 3};
      start_randomly(c, 100);
      ASSERT_TRUE(c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, n))) << "; " << c.divergence() << "; " << replay(seed);
      const int victim = static_cast<int>(c.net().random().below(static_cast<std::uint64_t>(n)));
      c.crash(victim, /*bounces=*/c.net().random().below(2) == 0);  // a dead process or a dead host
      auto took = c.run_until([&] { return c.all_see(victim, member_state::dead); }, detection_bound_ticks(cfg, n));
      ASSERT_TRUE(took.has_value()) << "n=" << n << " crash of " << victim << " not seen by all; " << "; " << c.divergence() << "; " << replay(seed);
      worst = std::max(worst, *took);
      ASSERT_TRUE(c.false_deaths().empty()) << "false dead of " << c.false_deaths().front().victim << "; " << c.divergence() << "; " << replay(seed);
      expect_clean(c);
    }
    std::printf("n=%d: worst detection by all %llu ticks (bound %llu)\n", n, static_cast<unsigned long long>(worst),
                static_cast<unsigned long long>(detection_bound_ticks(cfg, n)));
  }
}

// Convergence under loss with lan timings (docs/gossip.md "Bounds"): a lost news-triggered sync
// can leave a member unlearned until the next periodic push-pull, so under loss the bound adds one
// push_pull_interval. 32 nodes chain-joined as in the benchmark, with 1% loss.
TEST(GossipSim, ChainJoinWithLanTimingsAndLossConvergesWithinOnePeriodicSync) {
  const gossip::config cfg = sim_config(gossip::config::lan());
  const int n = 32;
  const auto bound = convergence_bound_ticks(cfg, n) + cfg.ticks(cfg.push_pull_interval_ms);
  for (std::uint64_t seed : seeds(10, 800)) {
    gossip_cluster c(seed, cfg, n);
    set_current_seed(seed);
    c.net().faults = {.loss_percent = 1, .delay_min_ticks = 1, .delay_max_ticks = 2};
    c.start(0, {});
    for (int i = 1; i < n; ++i) {
      // Each node joins through the previous one once that one has joined, as the benchmark does.
      c.start(i, {i - 1});
      ASSERT_TRUE(c.run_until([&] { return c.core(i).alive_count() > static_cast<std::size_t>(i); }, bound)) << replay(seed);
    }
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, bound)) << c.divergence() << "; " << replay(seed);
    expect_clean(c);
  }
}

// The benchmark's crash at N = 32: chain-joined like the benchmark, with lan timings, on a lossless
// network like its loopback, then node n / 2 crashes at a random phase of the probe schedules.
// Returns the ticks from the crash to the first suspicion, the first death and the last death.
struct crash_timeline {
  std::uint64_t suspect = 0, first = 0, last = 0;
};
crash_timeline chain_join_and_crash(std::uint64_t seed, const gossip::config& cfg, int n, bool bounces) {
  const int victim = n / 2;
  const gossip::node_id victim_id{static_cast<std::uint32_t>(victim + 1)};
  gossip_cluster c(seed, cfg, n);
  set_current_seed(seed);
  c.net().faults = {.loss_percent = 0, .delay_min_ticks = 1, .delay_max_ticks = 2};
  c.start(0, {});
  for (int i = 1; i < n; ++i) {
    c.start(i, {i - 1});
    EXPECT_TRUE(c.run_until([&] { return c.core(i).alive_count() > static_cast<std::size_t>(i); }, 1000)) << replay(seed);
  }
  EXPECT_TRUE(c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, n))) << c.divergence() << "; " << replay(seed);
  c.run(c.net().random().below(cfg.ticks(cfg.probe_interval_ms)));
  c.crash(victim, bounces);
  std::optional<std::uint64_t> suspect, first, last;
  const std::uint64_t crash_at = c.net().now();
  auto step = [&] {
    int dead = 0;
    for (int i = 0; i < n; ++i) {
      if (i == victim) continue;
      const auto state = c.core(i).find(victim_id)->state;
      if (!suspect && state != member_state::alive) suspect = c.net().now() - crash_at;
      dead += state == member_state::dead ? 1 : 0;
    }
    if (dead > 0 && !first) first = c.net().now() - crash_at;
    if (dead == n - 1) last = c.net().now() - crash_at;
    return last.has_value();
  };
  EXPECT_TRUE(c.run_until(step, detection_bound_ticks(cfg, n))) << c.divergence() << "; " << replay(seed);
  EXPECT_TRUE(suspect && first) << replay(seed);
  EXPECT_TRUE(c.false_deaths().empty()) << replay(seed);
  expect_clean(c);
  return {suspect.value_or(0), first.value_or(0), last.value_or(0)};
}

// The benchmark's crash figure in two parts: the time to the first failed probe, a lottery over
// the survivors' probe orders, and the rest, which the suspicion and dissemination rules decide.
// The rest must stay at memberlist's floor: the first death exactly at the suspicion minimum once
// k independent failed probes confirmed it, and every survivor a few gossip rounds later. The
// victim's host is down here (nothing bounces), so every probe waits for its deadline.
TEST(GossipSim, AfterFirstSuspicionDetectionTakesTheSuspicionMinimum) {
  const gossip::config cfg = sim_config(gossip::config::lan());
  const int n = 32;
  const auto probe = cfg.ticks(cfg.probe_interval_ms);
  const auto min = gossip::suspicion_min_ticks(cfg.suspicion_mult, n, probe);
  std::uint64_t worst_first = 0, worst_spread = 0, sum_suspect = 0, runs = 0;
  for (std::uint64_t seed : seeds(20, 800)) {
    const crash_timeline t = chain_join_and_crash(seed, cfg, n, false);
    if (::testing::Test::HasFailure()) return;
    // k = 2 confirmations come from other survivors' failed probes, about one per probe period.
    EXPECT_LE(t.first - t.suspect, min + 3 * probe) << "first death " << t.first - t.suspect << " ticks after the first suspicion; " << replay(seed);
    EXPECT_LE(t.last - t.first, 10 * cfg.ticks(cfg.gossip_interval_ms)) << replay(seed);
    worst_first = std::max(worst_first, t.first - t.suspect);
    worst_spread = std::max(worst_spread, t.last - t.first);
    sum_suspect += t.suspect;
    ++runs;
  }
  std::printf("n=%d lan: first suspicion after the crash %.2f s on average; first death at most %llu ticks after it "
              "(minimum %llu); last death at most %llu ticks after the first\n",
              n, static_cast<double>(sum_suspect) / static_cast<double>(runs) / 100.0,
              static_cast<unsigned long long>(worst_first), static_cast<unsigned long long>(min),
              static_cast<unsigned long long>(worst_spread));
}

// A crashed process on a live host bounces the probes (ICMP port unreachable), and a probe whose
// direct and indirect paths all bounced fails at once instead of at its deadline
// (membership::refused). The same seeds crash the same victim at the same moment once silently and
// once bouncing: the suspicion must start about one probe interval sooner on average, and the rest
// of the detection is unchanged.
TEST(GossipSim, CrashedProcessOnALiveHostIsSuspectedOneProbeIntervalSooner) {
  const gossip::config cfg = sim_config(gossip::config::lan());
  const int n = 32;
  const auto probe = cfg.ticks(cfg.probe_interval_ms);
  const auto min = gossip::suspicion_min_ticks(cfg.suspicion_mult, n, probe);
  std::uint64_t silent = 0, bounced = 0, runs = 0, worst_last = 0;
  for (std::uint64_t seed : seeds(20, 900)) {
    const crash_timeline s = chain_join_and_crash(seed, cfg, n, false);
    const crash_timeline b = chain_join_and_crash(seed, cfg, n, true);
    if (::testing::Test::HasFailure()) return;
    EXPECT_LE(b.first - b.suspect, min + 3 * probe) << replay(seed);
    silent += s.suspect;
    bounced += b.suspect;
    worst_last = std::max(worst_last, b.last);
    ++runs;
  }
  const double gain = (static_cast<double>(silent) - static_cast<double>(bounced)) / static_cast<double>(runs);
  std::printf("n=%d lan: first suspicion %.2f s after a silent crash, %.2f s after a bouncing one, on average; "
              "bouncing crash seen dead by all within %llu ticks\n",
              n, static_cast<double>(silent) / static_cast<double>(runs) / 100.0,
              static_cast<double>(bounced) / static_cast<double>(runs) / 100.0,
              static_cast<unsigned long long>(worst_last));
  EXPECT_GE(gain, 0.8 * static_cast<double>(probe));
}

TEST(GossipSim, NoFalseDeadUnderThirtyPercentLoss) {
  const gossip::config cfg = sim_config(gossip::config::lan());
  for (std::uint64_t seed : seeds(40, 200)) {
    gossip_cluster c(seed, cfg, 8);
    set_current_seed(seed);
    start_randomly(c, 50);
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, 8))) << "; " << c.divergence() << "; " << replay(seed);
    c.net().faults = {.loss_percent = 30, .duplicate_percent = 1, .delay_min_ticks = 1, .delay_max_ticks = 5};
    c.run(12'000);  // two minutes
    ASSERT_TRUE(c.false_deaths().empty()) << "node " << c.false_deaths().front().observer << " declared "
                                          << c.false_deaths().front().victim << " dead; " << "; " << c.divergence() << "; " << replay(seed);
    expect_clean(c);
  }
}

TEST(GossipSim, NoFalseDeadForPauseShorterThanSuspicionMinimum) {
  const gossip::config cfg = sim_config(gossip::config::lan());
  const int n = 8;
  const auto min = gossip::suspicion_min_ticks(cfg.suspicion_mult, n, cfg.ticks(cfg.probe_interval_ms));
  for (std::uint64_t seed : seeds(100, 300)) {
    gossip_cluster c(seed, cfg, n);
    set_current_seed(seed);
    start_randomly(c, 50);
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, n))) << "; " << c.divergence() << "; " << replay(seed);
    auto& r = c.net().random();
    const int victim = static_cast<int>(r.below(n));
    const std::uint64_t pause = min / 2 + r.below(min / 2);  // [min/2, min)
    c.net().pause(victim);
    c.run(pause);
    c.net().resume(victim);
    c.run(3000);
    ASSERT_TRUE(c.false_deaths().empty()) << "pause of " << pause << " ticks declared dead; " << "; " << c.divergence() << "; " << replay(seed);
    ASSERT_TRUE(c.converged()) << "; " << c.divergence() << "; " << replay(seed);
    expect_clean(c);
  }
}

TEST(GossipSim, OneWayDropsAndRejectsCauseNoFalseDead) {
  const gossip::config cfg = sim_config(gossip::config::local());
  for (std::uint64_t seed : seeds(100, 400)) {
    gossip_cluster c(seed, cfg, 6);
    set_current_seed(seed);
    start_randomly(c, 50);
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, 6))) << "; " << c.divergence() << "; " << replay(seed);
    auto& r = c.net().random();
    const int a = static_cast<int>(r.below(6));
    const int b = (a + 1 + static_cast<int>(r.below(5))) % 6;
    // a's packets to b are lost, or bounce as a firewall REJECT answers them; b to a still works.
    // A bounce makes a's probes of b fail early, but the relays still reach b (SWIM §3.1).
    const bool rejects = r.below(2) == 0;
    rejects ? c.net().reject(a, b) : c.net().cut(a, b);
    c.run(6000);
    ASSERT_TRUE(c.false_deaths().empty()) << "one-way " << (rejects ? "reject " : "cut ") << a << "->" << b << " caused a false dead; " << "; " << c.divergence() << "; " << replay(seed);
    expect_clean(c);
  }
}

TEST(GossipSim, PartitionHeals) {
  const gossip::config cfg = sim_config(gossip::config::local());
  for (std::uint64_t seed : seeds(100, 500)) {
    const int n = 6;
    gossip_cluster c(seed, cfg, n);
    set_current_seed(seed);
    start_randomly(c, 50);
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, n))) << "; " << c.divergence() << "; " << replay(seed);
    for (int a = 0; a < n / 2; ++a)
      for (int b = n / 2; b < n; ++b) c.net().cut_both(a, b);
    // Long enough for each side to declare the other dead.
    const auto partition_wait = cfg.ticks(cfg.probe_interval_ms) * static_cast<std::uint64_t>(n) +
                                gossip::suspicion_min_ticks(cfg.suspicion_mult, n, cfg.ticks(cfg.probe_interval_ms)) *
                                    cfg.suspicion_max_timeout_mult;
    ASSERT_TRUE(c.run_until([&] { return c.all_see(0, member_state::dead) || c.core(n - 1).find(node_id{1})->state == member_state::dead; },
                            partition_wait))
        << "; " << c.divergence() << "; " << replay(seed);
    c.run(partition_wait);
    c.net().heal();
    const auto bound = 2 * cfg.ticks(cfg.reconnect_interval_ms) + convergence_bound_ticks(cfg, n);
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, bound)) << "no heal; " << "; " << c.divergence() << "; " << replay(seed);
    expect_clean(c);
  }
}

// Metadata changed on each side of a partition must reach the other side once it heals, although
// the gossip of the change was spent while the other side was cut off: only push-pulls carry it
// then, and a compact push-pull carries metadata only where the other side asks for it
// (docs/gossip.md "Compact push-pull"). converged() compares every member's metadata.
TEST(GossipSim, MetadataChangedDuringAPartitionSpreadsAfterItHeals) {
  const gossip::config cfg = sim_config(gossip::config::local());
  for (std::uint64_t seed : seeds(100, 900)) {
    const int n = 6;
    gossip_cluster c(seed, cfg, n);
    set_current_seed(seed);
    c.net().faults = {.loss_percent = 5, .duplicate_percent = 2, .delay_min_ticks = 1, .delay_max_ticks = 4};
    start_randomly(c, 50);
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, n))) << "; " << c.divergence() << "; " << replay(seed);
    for (int a = 0; a < n / 2; ++a)
      for (int b = n / 2; b < n; ++b) c.net().cut_both(a, b);
    c.set_meta(0, "changed on the first side");
    c.set_meta(n - 1, "changed on the second side");
    // Long enough for each side to declare the other dead, and for the changes' gossip to be spent.
    const auto partition_wait = cfg.ticks(cfg.probe_interval_ms) * static_cast<std::uint64_t>(n) +
                                gossip::suspicion_min_ticks(cfg.suspicion_mult, n, cfg.ticks(cfg.probe_interval_ms)) *
                                    cfg.suspicion_max_timeout_mult;
    c.run(2 * partition_wait);
    const auto held = c.core(n - 1).find(node_id{1});
    ASSERT_TRUE(!held || held->meta != "changed on the first side") << replay(seed);
    c.net().heal();
    const auto bound = 2 * cfg.ticks(cfg.reconnect_interval_ms) + convergence_bound_ticks(cfg, n) +
                       cfg.ticks(cfg.push_pull_interval_ms);
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, bound)) << "no heal; " << c.divergence() << "; " << replay(seed);
    expect_clean(c);
  }
}

TEST(GossipSim, LeaveIsSeenAsLeft) {
  const gossip::config cfg = sim_config(gossip::config::local());
  for (std::uint64_t seed : seeds(200, 600)) {
    gossip_cluster c(seed, cfg, 5);
    set_current_seed(seed);
    c.net().faults = {.loss_percent = 5, .delay_min_ticks = 1, .delay_max_ticks = 3};
    start_randomly(c, 50);
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, 5))) << "; " << c.divergence() << "; " << replay(seed);
    const int who = static_cast<int>(c.net().random().below(5));
    c.leave(who);
    ASSERT_TRUE(c.run_until([&] { return c.core(who).leave_broadcast_done(); }, 1000)) << "; " << c.divergence() << "; " << replay(seed);
    c.crash(who);
    ASSERT_TRUE(c.run_until([&] { return c.all_see(who, member_state::left); }, convergence_bound_ticks(cfg, 5)))
        << "leave not seen as left by all; " << "; " << c.divergence() << "; " << replay(seed);
    expect_clean(c);
  }
}

TEST(GossipSim, RestartReplacesOldEntry) {
  const gossip::config cfg = sim_config(gossip::config::local());
  for (std::uint64_t seed : seeds(200, 700)) {
    const int n = 5;
    gossip_cluster c(seed, cfg, n);
    set_current_seed(seed);
    start_randomly(c, 50);
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, n))) << "; " << c.divergence() << "; " << replay(seed);
    auto& r = c.net().random();
    const int who = static_cast<int>(r.below(n));
    const bool wiped = r.below(2) == 0;
    c.crash(who);
    c.run(r.below(2 * detection_bound_ticks(cfg, n)));  // before or after the others notice
    c.start(who, {(who + 1) % n}, wiped);
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, n)))
        << "restart (wiped=" << wiped << ") did not rejoin; " << "; " << c.divergence() << "; " << replay(seed);
    // No flapping back to the old entry afterwards: nobody ever holds the old identity again, and
    // the view stays converged (a probe in flight across the restart may cause a brief suspicion,
    // which the restarted node refutes).
    const std::string uuid = c.core(who).self().uuid;
    for (int k = 0; k < 100; ++k) {
      c.run(10);
      for (int i = 0; i < n; ++i) {
        auto m = c.core(i).find(c.core(who).self().id);
        ASSERT_TRUE(m && m->uuid == uuid) << "node " << i << " holds an old identity; " << replay(seed);
      }
    }
    ASSERT_TRUE(c.converged()) << c.divergence() << "; " << replay(seed);
    expect_clean(c);
  }
}

// A forger on the network injects claims past the incarnation ceiling: suspect and dead at
// 2^64 - 1 and at the ceiling, push-pull records with them, and alive claims of another identity
// past it (docs/gossip.md "Values that cannot wrap"). Before the ceiling one such dead evicted a
// live member for good. Every member must drop them all: no false death, no incarnation moving
// back, the view stays converged, and a restart afterwards still rejoins. Some seeds also forge
// one accusation just below the ceiling, which the victim refutes at the ceiling itself.
TEST(GossipSim, ForgedTopIncarnationsCauseNoFalseDead) {
  using gossip::incarnation;
  using gossip::node_id;
  const gossip::config cfg = sim_config(gossip::config::local());
  constexpr std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
  for (std::uint64_t seed : seeds(20, 800)) {
    const int n = 5;
    gossip_cluster c(seed, cfg, n);
    set_current_seed(seed);
    start_randomly(c, 50);
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, n))) << c.divergence() << "; " << replay(seed);
    auto& r = c.net().random();
    auto pick = [&] { return static_cast<int>(r.below(static_cast<std::uint64_t>(n))); };
    const int boundary_victim = seed % 2 == 0 ? pick() : -1;
    std::uint64_t must_drop = 0;
    for (int round = 0; round < 150; ++round) {
      const int forger = pick();
      const int to = (forger + 1 + static_cast<int>(r.below(n - 1))) % n;  // a member ignores itself
      const node_id victim{static_cast<std::uint32_t>(pick() + 1)};
      const incarnation bad{r.below(2) == 0 ? top : gossip::max_incarnation + r.below(2)};
      const incarnation accusation{bad.value == gossip::max_incarnation + 1 ? gossip::max_incarnation : bad.value};
      gossip::message forged;
      switch (r.below(5)) {
        case 0: forged = gossip::suspect_msg{victim, accusation, node_id{static_cast<std::uint32_t>(forger + 1)}}; break;
        case 1: forged = gossip::dead_msg{victim, accusation, node_id{static_cast<std::uint32_t>(forger + 1)}}; break;
        case 2: forged = gossip::dead_msg{victim, accusation, victim}; break;  // a forged leave
        case 3:
          forged = gossip::push_pull_msg{false, true, {{victim, accusation, r.below(2) == 0 ? member_state::dead : member_state::suspect, "", "", ""}}};
          break;
        default: forged = gossip::alive_msg{victim, incarnation{bad.value == gossip::max_incarnation ? bad.value + 1 : bad.value}, "forged", "10.9.9.9:7946", ""}; break;
      }
      // An accusation of the recipient itself at the ceiling is answered, not dropped.
      const bool answered = accusation.value == gossip::max_incarnation && victim.value() == static_cast<std::uint32_t>(to + 1) &&
                            !std::holds_alternative<gossip::alive_msg>(forged);
      if (round == 75 && boundary_victim >= 0) {
        forged = gossip::suspect_msg{node_id{static_cast<std::uint32_t>(boundary_victim + 1)},
                                     incarnation{gossip::max_incarnation - 1}, node_id{static_cast<std::uint32_t>(forger + 1)}};
      } else if (!answered) {
        ++must_drop;
      }
      const bool stream = std::holds_alternative<gossip::push_pull_msg>(forged);
      gossip::envelope env{"sim", node_id{static_cast<std::uint32_t>(forger + 1)}, c.addr(forger), {std::move(forged)}};
      c.net().send(forger, to, gossip_packet{c.addr(to), stream ? gossip::transport::stream : gossip::transport::datagram, std::move(env)}, false);
      c.run(1 + r.below(20));
    }
    c.run(detection_bound_ticks(cfg, n));
    ASSERT_TRUE(c.false_deaths().empty()) << "node " << c.false_deaths().front().observer << " declared "
                                          << c.false_deaths().front().victim << " dead; " << replay(seed);
    ASSERT_TRUE(c.converged()) << c.divergence() << "; " << replay(seed);
    std::uint64_t dropped = 0;
    for (int i = 0; i < n; ++i) {
      dropped += c.core(i).stats().incarnations_out_of_range;
      for (const auto& m : c.core(i).members()) ASSERT_LE(m.inc.value, gossip::max_incarnation) << replay(seed);
    }
    EXPECT_GE(dropped, must_drop) << replay(seed);
    EXPECT_GT(must_drop, 100u);
    if (boundary_victim >= 0) {
      EXPECT_EQ(c.core(boundary_victim).self().inc.value, gossip::max_incarnation) << replay(seed);
    }

    // A member restarts (same data directory) after the forgeries, even one at the ceiling.
    const int who = boundary_victim >= 0 ? boundary_victim : pick();
    c.crash(who);
    c.run(r.below(2 * detection_bound_ticks(cfg, n)));
    c.start(who, {(who + 1) % n});
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, n)))
        << "restart did not rejoin; " << c.divergence() << "; " << replay(seed);
    expect_clean(c);
  }
}


// One holder per node id (docs/bootstrap.md property 7). A second process claims the id of a
// live member, with a fresh uuid at another address, through random seeds (the holder itself
// among them at times). It must yield within the convergence bound; the holder is never suspected
// into death, left or replaced in anyone's view, and its incarnation does not race upward (before
// the rule the two outbid each other for ever). Then the holder crashes, and once SWIM has
// confirmed it dead a wiped successor at another address takes the id over.
TEST(GossipSim, ImpostorOfALiveNodeIdYieldsAndTheHolderKeepsIt) {
  const gossip::config cfg = sim_config(gossip::config::local());
  for (std::uint64_t seed : seeds(200, 900)) {
    const int n = 4;  // three members and one slot for the second process
    const int slot = 3;
    gossip_cluster c(seed, cfg, n);
    set_current_seed(seed);
    c.net().faults.loss_percent = seed % 3 == 0 ? 5 : 0;
    auto& r = c.net().random();
    for (int i = 0; i < slot; ++i) {
      c.start(i, {0, 1, 2});
      c.run(r.below(20));
    }
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, slot))) << c.divergence() << "; " << replay(seed);
    const int holder = static_cast<int>(r.below(slot));
    const gossip::node_id id = c.core(holder).self().id;
    const std::string uuid = c.core(holder).self().uuid;
    const std::uint64_t inc_before = c.core(holder).self().inc.value;
    std::vector<int> seeds_of_impostor{static_cast<int>(r.below(slot))};
    if (r.below(2) == 0) seeds_of_impostor.push_back(holder);
    c.start_impostor(slot, holder, seeds_of_impostor);
    auto holder_kept = [&] {
      for (int i = 0; i < slot; ++i) {
        if (i == holder) continue;
        auto m = c.core(i).find(id);
        if (!m || m->uuid != uuid || m->addr != c.addr(holder)) return false;
      }
      return c.core(holder).self().uuid == uuid && !c.core(holder).conflict();
    };
    std::optional<std::uint64_t> yielded;
    for (std::uint64_t t = 1; t <= convergence_bound_ticks(cfg, slot) && !yielded; ++t) {
      c.run(1);
      ASSERT_TRUE(holder_kept()) << "tick " << t << ": the holder lost its id; " << replay(seed);
      if (c.yielded(slot)) yielded = t;
    }
    ASSERT_TRUE(yielded) << "the second process never yielded; " << replay(seed);
    for (int k = 0; k < 100; ++k) {
      c.run(detection_bound_ticks(cfg, slot) / 100);
      ASSERT_TRUE(holder_kept()) << "the holder lost its id after the impostor left; " << replay(seed);
    }
    ASSERT_TRUE(c.false_deaths().empty()) << "node " << c.false_deaths().front().observer << " declared "
                                          << c.false_deaths().front().victim << " dead; " << replay(seed);
    // Under loss a member may be suspected for a moment (and refute); the view converges again.
    ASSERT_TRUE(c.run_until([&] { return c.converged(); }, convergence_bound_ticks(cfg, slot))) << c.divergence() << "; " << replay(seed);
    // Only loss can make the holder refute (a real suspicion); no claim of the impostor does.
    EXPECT_LE(c.core(holder).self().inc.value, inc_before + (c.net().faults.loss_percent > 0 ? 3u : 0u)) << replay(seed);
    expect_clean(c);

    // The holder dies for real; once every member holds it dead, a process with a fresh uuid at
    // the other address that was not asked to take the id over yields too (a copied node id is
    // never a takeover), while one started with --replace-node takes it over and every member
    // follows.
    c.crash(holder);
    const int witness = (holder + 1) % slot;
    ASSERT_TRUE(c.run_until([&] { return c.all_see(holder, member_state::dead); }, 2 * detection_bound_ticks(cfg, slot)))
        << replay(seed);
    c.start_impostor(slot, holder, {witness});
    ASSERT_TRUE(c.run_until([&] { return c.yielded(slot); }, convergence_bound_ticks(cfg, slot)))
        << "a copied id took a dead holder's id over without --replace-node; " << replay(seed);
    for (int i = 0; i < slot; ++i) {
      if (i == holder) continue;
      auto m = c.core(i).find(id);
      ASSERT_TRUE(m && m->state == member_state::dead && m->addr == c.addr(holder)) << replay(seed);
    }
    c.start_impostor(slot, holder, {witness}, id_takeover::replace_dead_holder);
    ASSERT_TRUE(c.run_until(
        [&] {
          for (int i = 0; i < slot; ++i) {
            if (i == holder) continue;
            auto m = c.core(i).find(id);
            if (!m || m->state != member_state::alive || m->addr != c.addr(slot)) return false;
          }
          return true;
        },
        convergence_bound_ticks(cfg, slot)))
        << "the successor did not take the dead holder's id over; " << replay(seed);
    EXPECT_FALSE(c.yielded(slot)) << replay(seed);
    expect_clean(c);
  }
}

}  // namespace
}  // namespace chronik::sim
