// Latency histograms for the node's metrics (docs/operations.md "Metrics and readiness"): fixed
// log-scale buckets (1, 2.5, 5 per decade, 25 us to 10 s), counted in plain integers so that the
// hot paths that observe them (a Kafka request, a WAL fdatasync, a Raft commit) pay a clock read
// and a short scan, never a lock. Buckets are fixed so that every histogram of the node, and of
// every node, can be summed and compared by Prometheus (its `le` labels must match).
//
// latency_histogram is owned by one thread; its owner hands out snapshot() copies (the admin
// endpoint asks for them on the owner's thread). shared_latency_histogram has one writing thread
// and readers on others (the WAL's disk thread): relaxed atomics, no lock; a snapshot read while
// the writer runs may be off by the observation in progress, which a scrape tolerates.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace chronik {

// Upper bounds (inclusive, Prometheus `le`) in microseconds; a last, implicit bucket is +Inf.
inline constexpr std::array<std::uint64_t, 19> latency_bounds_us = {
    25,     50,     100,    250,     500,     1'000,   2'500,   5'000,     10'000,    25'000,
    50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 0};
// The number of finite bounds (the array's last slot is a sentinel so the size is a constant).
inline constexpr std::size_t latency_finite_buckets = latency_bounds_us.size() - 1;

// The index of the bucket `us` falls into: the first bound >= us, or latency_finite_buckets (+Inf).
constexpr std::size_t latency_bucket_of(std::uint64_t us) {
  std::size_t i = 0;
  while (i < latency_finite_buckets && us > latency_bounds_us[i]) ++i;
  return i;
}

// A copy of a histogram: per-bucket (not cumulative) counts, the last one +Inf.
struct latency_snapshot {
  std::array<std::uint64_t, latency_finite_buckets + 1> buckets{};
  std::uint64_t sum_us = 0;
  std::uint64_t count = 0;

  latency_snapshot& operator+=(const latency_snapshot& o) {
    for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += o.buckets[i];
    sum_us += o.sum_us;
    count += o.count;
    return *this;
  }
};

class latency_histogram {
 public:
  void observe_us(std::uint64_t us) {
    ++snap_.buckets[latency_bucket_of(us)];
    snap_.sum_us += us;
    ++snap_.count;
  }
  const latency_snapshot& snapshot() const { return snap_; }

 private:
  latency_snapshot snap_;
};

class shared_latency_histogram {
 public:
  // One writing thread only.
  void observe_us(std::uint64_t us) {
    bump(buckets_[latency_bucket_of(us)], 1);
    bump(sum_us_, us);
    bump(count_, 1);
  }
  // Any thread.
  latency_snapshot snapshot() const {
    latency_snapshot s;
    for (std::size_t i = 0; i < buckets_.size(); ++i) s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    s.sum_us = sum_us_.load(std::memory_order_relaxed);
    s.count = count_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  // The only writer needs no read-modify-write: a load and a store cost what a plain add does.
  static void bump(std::atomic<std::uint64_t>& a, std::uint64_t by) {
    a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  std::array<std::atomic<std::uint64_t>, latency_finite_buckets + 1> buckets_{};
  std::atomic<std::uint64_t> sum_us_{0};
  std::atomic<std::uint64_t> count_{0};
};

}  // namespace chronik
