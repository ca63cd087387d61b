// Driving the group coordinator core (kafka/groups/group_coordinator.h) in tests without a Raft
// log: one offsets partition served here, and writes reported committed as soon as they are made,
// unless a test holds them to play the log itself.
#pragma once

#include <expected>
#include <optional>
#include <vector>

#include "kafka/groups/group_coordinator.h"

namespace chronik::kafka::testing {

// Every group in partition 0 of a one-partition offsets topic, loaded and served here.
inline void serve_all(group_coordinator& c) {
  c.begin_load(0, 1);
  c.finish_load(0);
}

// Where settle() places the writes it reports committed: offsets that only grow, as in a log.
inline std::int64_t settled_log_end = 0;

// Reports every write the core made, and those they lead to, as `outcome`; returns them in order.
inline std::vector<group_write> settle(group_coordinator& c, write_outcome outcome = write_outcome::committed) {
  std::vector<group_write> all;
  for (int round = 0; round < 100; ++round) {
    auto writes = c.take_writes();
    if (writes.empty()) break;
    for (auto& w : writes) {
      const std::int64_t base = settled_log_end;
      settled_log_end += static_cast<std::int64_t>(w.records.size());
      c.write_done(w.id, outcome, base);
      all.push_back(std::move(w));
    }
  }
  return all;
}

// OffsetCommit with its writes committed at once: the answer, as the handler would get it.
inline std::expected<std::vector<group_errc>, group_errc> commit_now(group_coordinator& c, const commit_params& p) {
  std::optional<std::expected<std::vector<group_errc>, group_errc>> got;
  c.commit_offsets(p, [&](std::expected<std::vector<group_errc>, group_errc> r) { got = std::move(r); });
  settle(c);
  if (!got) return std::unexpected(group_errc::coordinator_not_available);  // never answered: a test fails on it
  return *got;
}

}  // namespace chronik::kafka::testing
