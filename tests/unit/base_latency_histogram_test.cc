#include "base/latency_histogram.h"

#include <gtest/gtest.h>

namespace chronik {
namespace {

TEST(LatencyHistogram, BoundsAreInclusiveAndAscending) {
  for (std::size_t i = 1; i < latency_finite_buckets; ++i) EXPECT_LT(latency_bounds_us[i - 1], latency_bounds_us[i]);
  EXPECT_EQ(latency_bucket_of(0), 0u);
  EXPECT_EQ(latency_bucket_of(25), 0u);   // le is inclusive
  EXPECT_EQ(latency_bucket_of(26), 1u);
  EXPECT_EQ(latency_bucket_of(1'000), 5u);
  EXPECT_EQ(latency_bucket_of(10'000'000), latency_finite_buckets - 1);
  EXPECT_EQ(latency_bucket_of(10'000'001), latency_finite_buckets);  // +Inf
}

TEST(LatencyHistogram, CountsSumAndBuckets) {
  latency_histogram h;
  h.observe_us(10);
  h.observe_us(300);
  h.observe_us(300);
  h.observe_us(60'000'000);
  const auto& s = h.snapshot();
  EXPECT_EQ(s.count, 4u);
  EXPECT_EQ(s.sum_us, 60'000'610u);
  EXPECT_EQ(s.buckets[0], 1u);
  EXPECT_EQ(s.buckets[latency_bucket_of(300)], 2u);
  EXPECT_EQ(s.buckets[latency_finite_buckets], 1u);
}

TEST(LatencyHistogram, SharedSnapshotMatchesPlainOne) {
  latency_histogram plain;
  shared_latency_histogram shared;
  for (std::uint64_t us : {1u, 99u, 2'600u, 7'000'000u, 20'000'000u}) {
    plain.observe_us(us);
    shared.observe_us(us);
  }
  const auto a = plain.snapshot();
  const auto b = shared.snapshot();
  EXPECT_EQ(a.buckets, b.buckets);
  EXPECT_EQ(a.sum_us, b.sum_us);
  EXPECT_EQ(a.count, b.count);
  latency_snapshot sum = a;
  sum += b;
  EXPECT_EQ(sum.count, 10u);
}

}  // namespace
}  // namespace chronik
