// daemon/rate_history.h: the ring keeps the newest samples oldest first, and rates are byte
// differences over steady time, with no point for an interval that cannot give one.
#include "daemon/rate_history.h"

#include <gtest/gtest.h>

namespace chronik::daemon {
namespace {

traffic_sample at(std::int64_t steady_ms, std::uint64_t produce, std::uint64_t fetch) {
  return traffic_sample{steady_ms, 1'700'000'000'000 + steady_ms, traffic_totals{produce, fetch}};
}

TEST(rate_history_test, keeps_the_last_capacity_samples_oldest_first) {
  rate_history h(3);
  EXPECT_TRUE(h.samples().empty());
  h.add(at(0, 0, 0));
  h.add(at(5000, 10, 1));
  ASSERT_EQ(h.samples().size(), 2u);
  EXPECT_EQ(h.samples()[0].steady_ms, 0);
  for (std::int64_t i = 2; i <= 6; ++i) h.add(at(i * 5000, 0, 0));
  const auto s = h.samples();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].steady_ms, 20000);
  EXPECT_EQ(s[1].steady_ms, 25000);
  EXPECT_EQ(s[2].steady_ms, 30000);
  EXPECT_EQ(rate_history(0).capacity(), 2u);  // a rate needs two samples
}

TEST(rate_history_test, rates_are_bytes_per_second_between_consecutive_samples) {
  const auto r = rates_of({at(0, 1000, 0), at(5000, 6000, 500), at(15000, 6000, 10500)});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].wall_ms, 1'700'000'005'000);  // the end of its interval
  EXPECT_DOUBLE_EQ(r[0].produce_bytes_per_s, 1000.0);
  EXPECT_DOUBLE_EQ(r[0].fetch_bytes_per_s, 100.0);
  // A missed sample widens the interval: its bytes are spread over it, not lost.
  EXPECT_DOUBLE_EQ(r[1].produce_bytes_per_s, 0.0);
  EXPECT_DOUBLE_EQ(r[1].fetch_bytes_per_s, 1000.0);
  EXPECT_TRUE(rates_of({}).empty());
  EXPECT_TRUE(rates_of({at(0, 1, 1)}).empty());
}

TEST(rate_history_test, no_point_for_a_standing_clock_or_counters_that_went_down) {
  const auto r = rates_of({at(1000, 500, 500), at(1000, 900, 900), at(2000, 100, 900), at(3000, 300, 1900)});
  ASSERT_EQ(r.size(), 1u);  // only the last pair is usable
  EXPECT_DOUBLE_EQ(r[0].produce_bytes_per_s, 200.0);
  EXPECT_DOUBLE_EQ(r[0].fetch_bytes_per_s, 1000.0);
}

}  // namespace
}  // namespace chronik::daemon
