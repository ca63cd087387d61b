#include "daemon/rate_history.h"

#include <algorithm>

namespace chronik::daemon {

rate_history::rate_history(std::size_t capacity) : ring_(std::max<std::size_t>(capacity, 2)) {}

void rate_history::add(const traffic_sample& s) {
  ring_[next_] = s;
  next_ = (next_ + 1) % ring_.size();
  count_ = std::min(count_ + 1, ring_.size());
}

std::vector<traffic_sample> rate_history::samples() const {
  std::vector<traffic_sample> out;
  out.reserve(count_);
  // The oldest sample sits at next_ once the ring is full, at 0 before.
  const std::size_t first = count_ == ring_.size() ? next_ : 0;
  for (std::size_t i = 0; i < count_; ++i) out.push_back(ring_[(first + i) % ring_.size()]);
  return out;
}

std::vector<rate_point> rates_of(const std::vector<traffic_sample>& samples) {
  std::vector<rate_point> out;
  for (std::size_t i = 1; i < samples.size(); ++i) {
    const auto& a = samples[i - 1];
    const auto& b = samples[i];
    if (b.steady_ms <= a.steady_ms) continue;
    if (b.totals.produce_bytes < a.totals.produce_bytes || b.totals.fetch_bytes < a.totals.fetch_bytes) continue;
    const double secs = static_cast<double>(b.steady_ms - a.steady_ms) / 1000.0;
    out.push_back({b.wall_ms, static_cast<double>(b.totals.produce_bytes - a.totals.produce_bytes) / secs,
                   static_cast<double>(b.totals.fetch_bytes - a.totals.fetch_bytes) / secs});
  }
  return out;
}

}  // namespace chronik::daemon
