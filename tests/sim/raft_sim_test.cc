// Seeded randomized simulation of the Raft core (issue 3): 3 and 5 nodes on a network that drops,
// delays, duplicates and reorders, with partitions (one-way too), pauses, crashes that lose the
// write in flight, restarts and compaction. Invariants are checked after every tick
// (raft_cluster.cc); a failure prints its seed, and CHRONIK_SIM_SEED=<seed> replays it.
// Even seeds run with quiescence (docs/raft.md "Quiescence"): bursts of proposals separated by
// idle stretches long enough to quiesce, and a liveness oracle standing in for SWIM that wakes a
// quiet node whose leader is crashed, paused or cut off, after a per-seed delay. Odd seeds run
// without it, exactly as before quiescence existed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <optional>

#include "metadata/leadership_drain.h"
#include "tests/sim/raft_cluster.h"
#include "tests/sim/seed_guard.h"
#include "tests/sim/sim_seeds.h"

namespace chronik::sim {
namespace {

consensus::raft_config sim_config(std::uint32_t quiesce_after_ticks) {
  consensus::raft_config cfg;
  cfg.quiesce_after_ticks = quiesce_after_ticks;
  cfg.election_timeout_ticks_min = 10;
  cfg.election_timeout_ticks_max = 20;
  cfg.heartbeat_ticks = 2;
  cfg.max_msg_bytes = 64;  // small messages exercise pipelining and flow control
  cfg.max_inflight_msgs = 4;
  cfg.snapshot_chunk_bytes = 64;  // snapshots go in several chunks
  return cfg;
}

// One random fault or repair. With `wipes`, a node may also lose its disk. Crashed and rejoining
// nodes together stay a minority: a rejoining node does not vote, so a majority of the others is
// what lets the group go on (and what it needs to catch up at all).
void nemesis(raft_cluster& c, std::optional<wipe_mode> wipes = std::nullopt) {
  auto& r = c.net().random();
  const int n = c.size();
  const int victim = static_cast<int>(r.below(static_cast<std::uint64_t>(n)));
  int out = 0;
  for (int i = 0; i < n; ++i) out += c.running(i) && !c.rejoining(i) ? 0 : 1;
  switch (r.below(wipes ? 10 : 9)) {
    case 0:
      if (c.running(victim) && out + 1 <= (n - 1) / 2) c.crash(victim);
      break;
    case 1:
      for (int i = 0; i < n; ++i)
        if (!c.running(i)) c.restart(i);
      break;
    case 2: {  // a random split into two sides
      for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b)
          if (a != b && ((a ^ static_cast<int>(r.next())) & 1)) c.cut(a, b);
      break;
    }
    case 3: c.cut(victim, (victim + 1) % n); break;  // one way only
    case 4:
    case 5: c.heal(); break;
    case 6: c.net().pause(victim); break;
    case 7:
      for (int i = 0; i < n; ++i) c.net().resume(i);
      break;
    case 8:
      if (c.running(victim)) c.compact(victim);
      break;
    case 9:
      if (c.running(victim) && !c.rejoining(victim) && out + 1 <= (n - 1) / 2) c.wipe(victim, *wipes);
      break;
  }
}

// What the quiescence seeds did, so the test fails if quiescence never actually happened.
struct quiesce_tally {
  std::uint64_t seeds = 0;
  std::uint64_t seeds_quiesced = 0;
  std::uint64_t oracle_wakes = 0;
};

// The running nodes elect a leader, commit a fresh proposal, and every one of them applies every
// acknowledged value.
void converge(raft_cluster& c, std::uint64_t seed, const std::string& who) {
  ASSERT_TRUE(c.run_until([&] { return c.leader().has_value(); }, 400))
      << "no leader among " << who << " after heal; " << replay(seed) << c.describe();
  std::optional<std::uint64_t> done;
  for (int attempt = 0; attempt < 20 && !done; ++attempt) {
    c.propose("final-" + who + "-" + std::to_string(attempt));
    done = c.run_until([&] { return c.all_applied_acknowledged() && c.acknowledged() > 0; }, 100);
  }
  ASSERT_TRUE(done) << "acknowledged values not applied by " << who << " after heal; " << replay(seed) << c.describe();
  c.check_logs();
  ASSERT_TRUE(c.violations().empty()) << c.violations().front() << "; " << replay(seed);
}

void run_one(std::uint64_t seed, int n, quiesce_tally& tally, std::optional<wipe_mode> wipes = std::nullopt) {
  set_current_seed(seed);
  const bool quiesce = seed % 2 == 0;
  // Between the election timeout minimum (the least validate() allows) and 3x it.
  const auto quiesce_after = static_cast<std::uint32_t>(quiesce ? 10 + (seed / 2) % 21 : 0);
  raft_cluster c(seed, n, sim_config(quiesce_after));
  auto& r = c.net().random();
  c.net().faults = {.loss_percent = static_cast<std::uint32_t>(r.below(8)),
                    .duplicate_percent = static_cast<std::uint32_t>(r.below(4)),
                    .delay_min_ticks = 1,
                    .delay_max_ticks = 1 + r.below(4)};
  if (quiesce) c.enable_liveness_oracle((seed / 64) % 31);  // SWIM's detection delay: 0-30 ticks
  std::uint64_t value = 0;
  bool idle = false;
  for (int step = 0; step < 1200; ++step) {
    // Quiescence seeds alternate bursts and idle stretches of 100 steps; others propose steadily.
    if (quiesce && step % 100 == 0) idle = (seed / 2 + static_cast<std::uint64_t>(step / 100)) % 2 == 0;
    if (!idle && r.below(4) == 0) c.propose("v" + std::to_string(++value));
    if (r.below(30) == 0) nemesis(c, wipes);
    c.run(1);
    if (step % 200 == 0) c.check_logs();
    ASSERT_TRUE(c.violations().empty()) << c.violations().front() << "; " << replay(seed);
  }
  // Heal the network but leave crashed nodes down: the survivors, a majority, must elect a leader
  // and commit on their own. With quiescence, followers of a leader that died while the group
  // was quiet get there only because the liveness oracle wakes them. Then the crashed nodes come
  // back and must catch up: nothing acknowledged is lost.
  c.heal();
  c.net().faults = {};
  for (int i = 0; i < n; ++i) c.net().resume(i);
  converge(c, seed, "survivors");
  if (::testing::Test::HasFatalFailure()) return;
  for (int i = 0; i < n; ++i)
    if (!c.running(i)) c.restart(i);
  converge(c, seed, "everyone");
  if (::testing::Test::HasFatalFailure()) return;
  if (quiesce) {
    ++tally.seeds;
    tally.seeds_quiesced += c.quiesced_ticks() > 0 ? 1 : 0;
    tally.oracle_wakes += c.oracle_wakes();
  }
}

// Most quiescence seeds must really have quiesced, and the oracle must have had work to do;
// otherwise the runs above proved nothing about quiescence.
void expect_quiescence_exercised(const quiesce_tally& t) {
  if (t.seeds < 20) return;  // a single replayed seed proves its own point
  std::printf("quiescence: %llu of %llu seeds quiesced, %llu wakes by the liveness oracle\n",
              static_cast<unsigned long long>(t.seeds_quiesced), static_cast<unsigned long long>(t.seeds),
              static_cast<unsigned long long>(t.oracle_wakes));
  EXPECT_GE(t.seeds_quiesced * 2, t.seeds) << t.seeds_quiesced << " of " << t.seeds << " quiescence seeds quiesced";
  EXPECT_GT(t.oracle_wakes, 0u);
}

TEST(RaftSim, ThreeNodesUnderFaults) {
  quiesce_tally tally;
  for (std::uint64_t seed : seeds(5000, 3)) {
    run_one(seed, 3, tally);
    if (HasFatalFailure()) return;
  }
  expect_quiescence_exercised(tally);
}

TEST(RaftSim, FiveNodesUnderFaults) {
  quiesce_tally tally;
  for (std::uint64_t seed : seeds(5000, 5)) {
    run_one(seed, 5, tally);
    if (HasFatalFailure()) return;
  }
  expect_quiescence_exercised(tally);
}

// docs/raft.md "Rejoining replicas": nodes lose their disks under the same faults, in 3- and
// 5-node groups, and come back as the host brings them back: rejoining, voting only once caught
// up. Every invariant holds and nothing acknowledged is lost, on the survivors and on everyone.
TEST(RaftSim, WipedDisksLoseNothingCommitted) {
  quiesce_tally tally;
  for (std::uint64_t seed : seeds(600, 11)) {
    run_one(seed, seed % 3 == 0 ? 5 : 3, tally, wipe_mode::rejoin);
    if (HasFatalFailure()) return;
  }
}

// Maintenance mode (docs/operations.md "Maintenance: drain") under the same faults, in 3- and
// 5-node groups: one node is drained at a random step, and from then on it campaigns reluctantly
// and, whenever it leads, hands leadership to the voter the production planner picks
// (metadata::drain_target; crashed nodes are the unavailable ones, as dead brokers are in the
// daemon). Every invariant holds and nothing acknowledged is lost; the survivors elect and commit
// even when the drained node is one of the few left (reluctant is not never); and once everyone
// is back, the group ends led by another node.
struct drain_tally {
  std::uint64_t transfers = 0;       // transfers the drain loop asked for
  std::uint64_t drained_led = 0;     // seeds in which the drained node led after its drain
};

void drain_step(raft_cluster& c, int drained, drain_tally& tally, bool& led) {
  if (!c.running(drained) || c.core(drained).state() != consensus::role::leader) return;
  led = true;
  const auto st = c.core(drained).status();
  std::set<node_id> down;
  for (int i = 0; i < c.size(); ++i)
    if (!c.running(i)) down.insert(node_id{static_cast<std::uint32_t>(i + 1)});
  const metadata::drain_group_view view{st.id, {}, st.conf.voters, st.match, st.last_index};
  const auto target = metadata::drain_target(view, {st.id}, down);
  if (target && c.transfer(drained, static_cast<int>(target->value()) - 1)) ++tally.transfers;
}

void run_drain(std::uint64_t seed, int n, drain_tally& tally) {
  set_current_seed(seed);
  raft_cluster c(seed, n, sim_config(0));
  auto& r = c.net().random();
  c.net().faults = {.loss_percent = static_cast<std::uint32_t>(r.below(8)),
                    .duplicate_percent = static_cast<std::uint32_t>(r.below(4)),
                    .delay_min_ticks = 1,
                    .delay_max_ticks = 1 + r.below(4)};
  const int drained = static_cast<int>(r.below(static_cast<std::uint64_t>(n)));
  const auto drain_at = static_cast<int>(r.below(300));
  std::uint64_t value = 0;
  bool led = false;
  for (int step = 0; step < 1200; ++step) {
    if (step == drain_at) c.set_campaign_mode(drained, consensus::campaign_mode::reluctant);
    if (r.below(4) == 0) c.propose("v" + std::to_string(++value));
    if (r.below(30) == 0) nemesis(c);
    if (step >= drain_at && step % 5 == 0) drain_step(c, drained, tally, led);
    c.run(1);
    if (step % 200 == 0) c.check_logs();
    ASSERT_TRUE(c.violations().empty()) << c.violations().front() << "; " << replay(seed);
  }
  c.heal();
  c.net().faults = {};
  for (int i = 0; i < n; ++i) c.net().resume(i);
  converge(c, seed, "survivors");
  if (::testing::Test::HasFatalFailure()) return;
  for (int i = 0; i < n; ++i)
    if (!c.running(i)) c.restart(i);
  converge(c, seed, "everyone");
  if (::testing::Test::HasFatalFailure()) return;
  const auto led_elsewhere = c.run_until(
      [&] {
        drain_step(c, drained, tally, led);
        const auto l = c.leader();
        return l && *l != drained;
      },
      400);
  ASSERT_TRUE(led_elsewhere) << "node " << drained + 1 << " still leads with everyone back; " << replay(seed)
                             << c.describe();
  tally.drained_led += led ? 1 : 0;
}

TEST(RaftSim, ADrainedNodeHandsOverAndLeadsOnlyWhenItMust) {
  drain_tally tally;
  for (std::uint64_t seed : seeds(200, 13)) {
    run_drain(seed, seed % 3 == 0 ? 5 : 3, tally);
    if (HasFatalFailure()) return;
  }
  std::printf("drain: %llu transfers asked, drained node led in %llu seeds\n",
              static_cast<unsigned long long>(tally.transfers), static_cast<unsigned long long>(tally.drained_led));
  EXPECT_GT(tally.transfers, 0u);
  EXPECT_GT(tally.drained_led, 0u);
}

// The same runs with the wiped node back as a plain voter must find the hazard: a committed entry
// lost or a leader without it (the check that makes the test above mean something).
TEST(RaftSim, WipedVotersThatVoteAtOnceLoseCommittedEntries) {
  std::uint64_t broken = 0, runs = 0;
  for (std::uint64_t seed : seeds(600, 11)) {
    set_current_seed(seed);
    const int n = seed % 3 == 0 ? 5 : 3;
    raft_cluster c(seed, n, sim_config(0));
    auto& r = c.net().random();
    c.net().faults = {.loss_percent = static_cast<std::uint32_t>(r.below(8)), .delay_min_ticks = 1, .delay_max_ticks = 3};
    std::uint64_t value = 0;
    for (int step = 0; step < 1200 && c.violations().empty(); ++step) {
      if (r.below(4) == 0) c.propose("v" + std::to_string(++value));
      if (r.below(30) == 0) nemesis(c, wipe_mode::unsafe_fresh);
      c.run(1);
      if (step % 200 == 0) c.check_logs();
    }
    c.check_logs();
    ++runs;
    broken += c.violations().empty() ? 0 : 1;
  }
  std::printf("unsafe wipes: %llu of %llu runs broke an invariant\n", static_cast<unsigned long long>(broken),
              static_cast<unsigned long long>(runs));
  if (runs >= 100) {
    EXPECT_GT(broken, 0u);
  }
}

// A forged message whose term, or one of whose indexes, is past the ceilings (docs/raft.md
// "Values that cannot wrap"), claiming to come from one member and addressed to another.
consensus::message forged_message(rng& r, int n, std::uint64_t current_term) {
  using namespace consensus;
  constexpr std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
  const auto from = r.below(static_cast<std::uint64_t>(n));
  const auto to = (from + 1 + r.below(static_cast<std::uint64_t>(n - 1))) % static_cast<std::uint64_t>(n);
  message m;
  m.type = static_cast<message_type>(r.below(static_cast<std::uint64_t>(message_type::propose) + 1));
  m.from = node_id{static_cast<std::uint32_t>(from + 1)};
  m.to = node_id{static_cast<std::uint32_t>(to + 1)};
  m.term = term_id{current_term};
  const std::uint64_t bad = r.below(2) == 0 ? top : max_term + 1 + r.below(3);
  switch (r.below(6)) {
    case 0: m.term = term_id{bad}; break;
    case 1: m.index = log_index{bad}; break;
    case 2: m.commit = log_index{bad}; break;
    case 3: m.reject = true, m.reject_hint = log_index{bad}; break;
    case 4: m.snap_meta.index = log_index{bad}, m.snap_done = true; break;
    default: m.log_term = term_id{bad}; break;
  }
  return m;
}

// The reported wedge, under faults: a forger keeps injecting messages at term 2^64 - 1 and with
// indexes past the ceiling while the group runs, crashes and restarts. Before the ceilings one
// such heartbeat left a group leaderless for good. Every core must drop them all (none adopts a
// term past max_term), the invariants hold, and the group elects and commits after heal.
TEST(RaftSim, ForgedMaxValuesNeverWedgeTheGroup) {
  for (std::uint64_t seed : seeds(40, 9)) {
    set_current_seed(seed);
    const int n = 3;
    raft_cluster c(seed, n, sim_config(seed % 2 == 0 ? 20 : 0));
    auto& r = c.net().random();
    c.net().faults = {.loss_percent = static_cast<std::uint32_t>(r.below(5)), .delay_min_ticks = 1, .delay_max_ticks = 3};
    if (seed % 2 == 0) c.enable_liveness_oracle(10);
    std::uint64_t value = 0;
    std::uint64_t forged = 0;
    for (int step = 0; step < 600; ++step) {
      if (r.below(4) == 0) c.propose("v" + std::to_string(++value));
      if (r.below(3) == 0) {
        std::uint64_t term = 0;
        for (int i = 0; i < n; ++i)
          if (c.running(i)) term = std::max(term, c.core(i).term().value);
        consensus::message m = forged_message(r, n, term);
        const auto from = static_cast<int>(m.from.value()) - 1;
        const auto to = static_cast<int>(m.to.value()) - 1;
        c.net().send(from, to, std::move(m), false);
        ++forged;
      }
      if (r.below(60) == 0) nemesis(c);
      c.run(1);
      ASSERT_TRUE(c.violations().empty()) << c.violations().front() << "; " << replay(seed);
    }
    c.heal();
    c.net().faults = {};
    for (int i = 0; i < n; ++i) c.net().resume(i);
    converge(c, seed, "survivors");
    if (HasFatalFailure()) return;
    for (int i = 0; i < n; ++i)
      if (!c.running(i)) c.restart(i);
    converge(c, seed, "everyone");
    if (HasFatalFailure()) return;
    for (int i = 0; i < n; ++i) ASSERT_LT(c.core(i).term().value, 1000u) << c.describe() << replay(seed);
    EXPECT_GT(forged, 100u);
  }
}

}  // namespace
}  // namespace chronik::sim
