#include "kafka/partition/isr_tracker.h"

#include <algorithm>

#include "base/assert.h"

namespace chronik::kafka {

void isr_tracker::start(std::int64_t now_ms, const std::vector<node_id>& replicas) {
  samples_.clear();
  last_match_.clear();
  caught_up_ms_.clear();
  fenced_ms_.clear();
  for (node_id r : replicas) caught_up_ms_[r] = now_ms;
}

void isr_tracker::observe(std::int64_t now_ms, consensus::log_index leader_last,
                          const std::map<node_id, consensus::log_index>& match) {
  // The leader's log only grows while it leads (Raft §5.3, Leader Append-Only), so samples stay
  // ascending; a repeated index keeps its latest time, the moment a follower must reach.
  CHRONIK_EXPECTS(samples_.empty() || (samples_.back().at_ms <= now_ms && samples_.back().last <= leader_last),
                  "observations come in time order from one leadership");
  if (!samples_.empty() && samples_.back().last == leader_last) {
    samples_.back().at_ms = now_ms;
  } else {
    samples_.push_back({now_ms, leader_last});
  }
  // Older samples than the window can no longer keep anyone in sync; the newest stays.
  while (samples_.size() > 1 && samples_.front().at_ms < now_ms - lag_max_ms_) samples_.pop_front();
  last_match_ = match;
  credit(last_match_);
}

void isr_tracker::observe_again(std::int64_t now_ms) {
  CHRONIK_EXPECTS(!samples_.empty(), "an observation to repeat");
  CHRONIK_EXPECTS(samples_.back().at_ms <= now_ms, "observations come in time order");
  samples_.back().at_ms = now_ms;
  while (samples_.size() > 1 && samples_.front().at_ms < now_ms - lag_max_ms_) samples_.pop_front();
  credit(last_match_);
}

void isr_tracker::credit(const std::map<node_id, consensus::log_index>& match) {
  for (const auto& [r, m] : match) {
    // The latest moment whose leader log this follower holds entirely.
    auto held = std::upper_bound(samples_.begin(), samples_.end(), m,
                                 [](consensus::log_index v, const sample& s) { return v < s.last; });
    if (held == samples_.begin()) continue;
    const std::int64_t t = std::prev(held)->at_ms;
    // What a fenced replica held while it was down, or before, does not count.
    if (auto f = fenced_ms_.find(r); f != fenced_ms_.end() && t <= f->second) continue;
    auto& best = caught_up_ms_[r];
    best = std::max(best, t);
  }
}

void isr_tracker::fence(std::int64_t now_ms, node_id r) {
  fenced_ms_[r] = now_ms;
  caught_up_ms_.erase(r);
}

std::vector<node_id> isr_tracker::in_sync(std::int64_t now_ms, const std::vector<node_id>& replicas,
                                          node_id self) const {
  std::vector<node_id> out;
  for (node_id r : replicas) {
    if (r == self) {
      out.push_back(r);
      continue;
    }
    auto it = caught_up_ms_.find(r);
    if (it == caught_up_ms_.end() || now_ms - it->second > lag_max_ms_) continue;
    CHRONIK_ASSERT(!fenced_ms_.contains(r) || it->second > fenced_ms_.at(r),
                   "a fenced replica is in sync only by what it held after it was last down");
    out.push_back(r);
  }
  return out;
}

}  // namespace chronik::kafka
