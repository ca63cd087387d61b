// Lifeguard's dynamic suspicion timeout (Lifeguard §4.2, memberlist suspicion.go): a suspicion
// starts at the maximum timeout and shrinks logarithmically toward the minimum as independent
// members confirm it, so a truly failed member is declared dead fast while a slow one gets time.
#pragma once

#include <cstdint>
#include <set>

#include "gossip/core/types.h"

namespace chronik::gossip {

// min = mult * max(1, log10(max(1, n))) * probe_interval_ticks (SWIM §4.2 suspicion period,
// scaled by cluster size as in memberlist), with the scale truncated to thousandths and the result
// rounded down to whole ticks, as memberlist truncates.
tick_count suspicion_min_ticks(std::uint32_t mult, std::size_t n, tick_count probe_interval_ticks);

// timeout(c) = max - (max - min) * log(c + 1) / log(k + 1), never below min. k == 0 means no
// confirmations are expected and the timeout is min.
tick_count suspicion_timeout_ticks(std::uint32_t k, std::uint32_t confirmations, tick_count min,
                                   tick_count max);

class suspicion {
 public:
  suspicion(node_id first_accuser, tick_count started_at, std::uint32_t k, tick_count min,
            tick_count max);

  // Records an accusation; returns true when it is a new independent one (a repeat from the same
  // member, or from the first accuser, does not shorten the timeout).
  bool confirm(node_id accuser);

  tick_count deadline() const;
  tick_count started_at() const { return started_at_; }
  std::uint32_t confirmations() const { return static_cast<std::uint32_t>(accusers_.size()) - 1; }

 private:
  tick_count started_at_;
  std::uint32_t k_;
  tick_count min_;
  tick_count max_;
  std::set<node_id> accusers_;
};

}  // namespace chronik::gossip
