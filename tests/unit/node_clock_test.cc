// daemon/node_clock.h: a service's period on the node loop's grid. The schedule starts at the
// first reading, keeps to its grid, reports how late a due slot ran, and skips slots a stall
// missed instead of running them in a burst. Time is made up: no clock is read.
#include "daemon/node_clock.h"

#include <gtest/gtest.h>

#include <chrono>

namespace chronik::daemon {
namespace {

using namespace std::chrono_literals;
using time_point = periodic::clock::time_point;

const time_point t0 = time_point{} + 1000s;

TEST(node_clock_test, first_reading_is_due_and_starts_the_grid) {
  periodic p(50ms);
  EXPECT_EQ(p.next(), time_point{});
  EXPECT_TRUE(p.due(t0));
  EXPECT_EQ(p.late(), 0ms);
  EXPECT_EQ(p.next(), t0 + 50ms);
}

TEST(node_clock_test, a_service_period_of_several_loop_periods_runs_on_every_fifth_loop_tick) {
  periodic loop(10ms);
  periodic raft(50ms);
  int runs = 0;
  for (int k = 0; k <= 20; ++k) {
    const auto now = t0 + k * 10ms;
    ASSERT_TRUE(loop.due(now));
    if (raft.due(now)) {
      ++runs;
      EXPECT_EQ(k % 5, 0) << k;
      EXPECT_EQ(raft.late(), 0ms);
    }
  }
  EXPECT_EQ(runs, 5);  // k = 0, 5, 10, 15, 20
}

TEST(node_clock_test, lateness_is_measured_against_the_slot) {
  periodic p(10ms);
  ASSERT_TRUE(p.due(t0));
  EXPECT_FALSE(p.due(t0 + 9ms));
  ASSERT_TRUE(p.due(t0 + 13ms));  // the slot at +10 ran 3 ms late
  EXPECT_EQ(p.late(), 3ms);
  EXPECT_EQ(p.next(), t0 + 20ms);  // still on the grid
}

TEST(node_clock_test, a_stall_skips_the_missed_slots_and_stays_on_the_grid) {
  periodic p(10ms);
  ASSERT_TRUE(p.due(t0));
  ASSERT_TRUE(p.due(t0 + 347ms));  // 34 slots missed: one run, not 34
  EXPECT_EQ(p.late(), 337ms);
  EXPECT_EQ(p.next(), t0 + 350ms);
  EXPECT_FALSE(p.due(t0 + 349ms));
  EXPECT_TRUE(p.due(t0 + 350ms));
  EXPECT_EQ(p.late(), 0ms);
}

}  // namespace
}  // namespace chronik::daemon
