// One period on the node's tick grid (daemon/node.h "one tick loop"). The node reads the steady
// clock once per tick and hands that `now` to every service; a service whose period is longer
// than the loop's (the Raft tick, the gossip tick, a 100 ms deadline sweep) asks its `periodic`
// whether it is due.
//
// The schedule starts at the first `now` it is shown. Every service sees the node's first tick
// first, so all of them start on the loop's own grid (the node anchors its timer to that same
// first reading), and `late()` is then exactly how late the loop ran, not a phase difference
// between two timers. After a stall the missed slots are skipped, not run in a burst: a Raft or
// coordinator tick counts logical time, and a burst of them would only fire elections and
// timeouts at once (docs/design.md "Cores and shells").
#pragma once

#include <chrono>

#include "base/assert.h"

namespace chronik::daemon {

class periodic {
 public:
  using clock = std::chrono::steady_clock;

  explicit periodic(std::chrono::milliseconds period) : period_(period) {
    CHRONIK_ASSERT(period.count() > 0, "a periodic task needs a positive period");
  }

  // True when a slot is due at `now`, which then moves to the first slot after `now`.
  bool due(clock::time_point now) {
    if (next_ == clock::time_point{}) next_ = now;
    if (now < next_) return false;
    late_ = std::chrono::duration_cast<std::chrono::milliseconds>(now - next_);
    next_ += period_ * ((now - next_) / period_ + 1);
    return true;
  }

  // How long after its slot the latest due() that returned true ran.
  std::chrono::milliseconds late() const { return late_; }
  std::chrono::milliseconds period() const { return period_; }
  // The next slot; zero before the first due().
  clock::time_point next() const { return next_; }

 private:
  std::chrono::milliseconds period_;
  clock::time_point next_{};
  std::chrono::milliseconds late_{0};
};

}  // namespace chronik::daemon
