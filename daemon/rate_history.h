// Per-node produce and fetch rates for the status page (docs/operations.md "Status page"): the node
// samples two byte counters every few seconds on its io thread (daemon/status_service.h) into a
// fixed ring, and rates_of turns consecutive samples into bytes per second. Pure: the caller
// brings the clock readings, so a unit test checks every figure.
//
// Why a ring of counter samples and not rates: the counters only grow, so a rate over any span is
// the difference of two samples, and a sample missed (a busy io thread) widens one interval instead
// of losing its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace chronik::daemon {

// Since the node started: Produce request bytes received, Fetch response bytes sent
// (kafka/handlers/request_metrics.h "Bytes", by API).
struct traffic_totals {
  std::uint64_t produce_bytes = 0;
  std::uint64_t fetch_bytes = 0;
};

struct traffic_sample {
  std::int64_t steady_ms = 0;  // the denominator of a rate: never jumps
  std::int64_t wall_ms = 0;    // the chart's time axis (Unix milliseconds): comparable across nodes
  traffic_totals totals;
};

class rate_history {
 public:
  // Keeps the last `capacity` samples (at least 2).
  explicit rate_history(std::size_t capacity);
  void add(const traffic_sample& s);
  // Oldest first.
  std::vector<traffic_sample> samples() const;
  std::size_t capacity() const { return ring_.size(); }

 private:
  std::vector<traffic_sample> ring_;
  std::size_t next_ = 0;   // where the next sample goes
  std::size_t count_ = 0;  // samples held, at most capacity
};

struct rate_point {
  std::int64_t wall_ms = 0;  // the end of the interval
  double produce_bytes_per_s = 0;
  double fetch_bytes_per_s = 0;
};

// One point per pair of consecutive samples. A pair whose steady time does not advance, or whose
// counters went down (they cannot in one process; a sample of a replaced dispatcher could), gives no
// point rather than a negative or infinite rate.
std::vector<rate_point> rates_of(const std::vector<traffic_sample>& samples);

}  // namespace chronik::daemon
