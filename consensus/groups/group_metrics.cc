#include "consensus/groups/group_metrics.h"

namespace chronik::consensus {

void group_metrics::proposed(group_id g, log_index index, time_point now) {
  auto& timed = groups_[g.value].timed;
  if (timed.size() >= max_timed_per_group) return;
  // A new leader's proposals can reuse indexes above a cut suffix: drop the stale ones first, so
  // the queue stays ascending.
  while (!timed.empty() && timed.back().first >= index) timed.pop_back();
  timed.emplace_back(index, now);
}

void group_metrics::applied(group_id g, log_index last, time_point now) {
  const auto it = groups_.find(g.value);
  if (it == groups_.end()) return;
  auto& timed = it->second.timed;
  while (!timed.empty() && timed.front().first <= last) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - timed.front().second).count();
    commit_latency_.observe_us(us < 0 ? 0 : static_cast<std::uint64_t>(us));
    timed.pop_front();
  }
}

void group_metrics::persisting(const group_write& w) {
  if (!w.state) return;
  auto& g = groups_[w.group.value];
  if (w.state->term <= g.term) return;
  const bool known = g.term.value != 0;
  g.term = w.state->term;
  if (!known) return;  // the group's first write here (a bootstrap or a restart): no change seen
  ++term_changes_;
  if (w.state->vote == self_) ++elections_started_;
}

}  // namespace chronik::consensus
