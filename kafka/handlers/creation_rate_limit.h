// The node-wide cap on topics Metadata auto-creates per second (broker_defaults; docs/kafka.md
// "Metadata"). One unauthenticated request naming a thousand topics used to create them all,
// each a `__meta` entry and Raft groups on several brokers. A fixed one-second window: simple,
// and at most twice the cap in any second-long span, which is enough for a safety bound. Pure:
// the caller passes the time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace chronik::kafka {

class creation_rate_limit {
 public:
  explicit creation_rate_limit(std::size_t per_second) : per_second_(per_second) {}

  // How many of `wanted` creations may go ahead at `now_ms` (any monotonic milliseconds).
  std::size_t take(std::size_t wanted, std::int64_t now_ms) {
    if (now_ms >= window_start_ms_ + 1000 || now_ms < window_start_ms_) {
      window_start_ms_ = now_ms;
      used_ = 0;
    }
    const std::size_t granted = std::min(wanted, per_second_ - used_);
    used_ += granted;
    return granted;
  }

 private:
  std::size_t per_second_;
  std::int64_t window_start_ms_ = INT64_MIN / 2;
  std::size_t used_ = 0;
};

}  // namespace chronik::kafka
