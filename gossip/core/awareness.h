// Lifeguard local health awareness (Lifeguard §4.3, memberlist awareness.go): a node that misses
// acks and nacks, or has to refute suspicion of itself, is probably the slow one, so it stretches
// its own probe timing instead of accusing healthy peers.
#pragma once

#include <algorithm>
#include <cstdint>

#include "gossip/core/types.h"

namespace chronik::gossip {

class awareness {
 public:
  explicit awareness(std::uint32_t max_multiplier) : max_(std::max<std::uint32_t>(1, max_multiplier)) {}

  // Adds delta and clamps the score to [0, max_multiplier - 1].
  void apply(int delta) {
    const long long next = static_cast<long long>(score_) + delta;
    score_ = static_cast<std::uint32_t>(std::clamp<long long>(next, 0, max_ - 1));
  }

  std::uint32_t score() const { return score_; }
  tick_count scale(tick_count timeout) const { return timeout * (score_ + 1); }

 private:
  std::uint32_t max_;
  std::uint32_t score_ = 0;
};

}  // namespace chronik::gossip
