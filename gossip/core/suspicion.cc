#include "gossip/core/suspicion.h"

#include <algorithm>
#include <cmath>

namespace chronik::gossip {

tick_count suspicion_min_ticks(std::uint32_t mult, std::size_t n, tick_count probe_interval_ticks) {
  const double node_scale = std::max(1.0, std::log10(std::max<double>(1.0, static_cast<double>(n))));
  // memberlist suspicionTimeout truncates the scale to thousandths and the product to its clock's
  // resolution; we truncate to whole ticks the same way. Rounding up instead made every suspicion
  // up to one tick longer than memberlist's (6.03 s against 6.02 s at n = 32 with lan timings).
  // The epsilon keeps exact powers of ten (log10(1000) may come out as 2.9999...) whole.
  const auto scale_milli = static_cast<tick_count>(std::floor(node_scale * 1000.0 + 1e-6));
  return std::max<tick_count>(1, mult * scale_milli * probe_interval_ticks / 1000);
}

tick_count suspicion_timeout_ticks(std::uint32_t k, std::uint32_t confirmations, tick_count min,
                                   tick_count max) {
  if (k == 0 || max <= min) return min;
  const double frac = std::log(static_cast<double>(confirmations) + 1.0) / std::log(static_cast<double>(k) + 1.0);
  const double raw = static_cast<double>(max) - frac * static_cast<double>(max - min);
  // Floor, as memberlist does, so that k confirmations land exactly on min.
  if (raw <= static_cast<double>(min)) return min;
  return static_cast<tick_count>(std::floor(raw));
}

suspicion::suspicion(node_id first_accuser, tick_count started_at, std::uint32_t k, tick_count min,
                     tick_count max)
    : started_at_(started_at), k_(k), min_(min), max_(max), accusers_{first_accuser} {}

bool suspicion::confirm(node_id accuser) {
  if (confirmations() >= k_) return false;
  return accusers_.insert(accuser).second;
}

tick_count suspicion::deadline() const {
  return started_at_ + suspicion_timeout_ticks(k_, confirmations(), min_, max_);
}

}  // namespace chronik::gossip
