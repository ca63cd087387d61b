#include "kafka/partition/leader_epochs.h"

#include <algorithm>

#include "base/assert.h"

namespace chronik::kafka {

void leader_epochs::observe(std::int32_t epoch, std::int64_t offset) {
  if (!epochs_.empty()) {
    const epoch_start& last = epochs_.back();
    CHRONIK_ASSERT(epoch >= last.epoch, "the terms of committed entries never decrease (Raft §5.3)");
    CHRONIK_ASSERT(offset >= last.start_offset, "entries are observed in log order");
    if (epoch == last.epoch) return;
    // The previous epoch took no offsets (a leader that wrote only its no-op): the new one
    // starts at the same offset and answers for it.
    if (offset == last.start_offset) epochs_.pop_back();
  }
  epochs_.push_back({epoch, offset});
}

epoch_end leader_epochs::end_offset_for(std::int32_t requested, std::int64_t log_start, std::int64_t log_end) const {
  if (requested < 0 || epochs_.empty()) return {};
  const epoch_start& latest = epochs_.back();
  if (requested == latest.epoch) return {requested, log_end};
  if (requested > latest.epoch) return {};
  // The first epoch still in the log is the last one starting at or before log_start (it holds
  // log_start), or the first of all when none does.
  auto first = std::upper_bound(epochs_.begin(), epochs_.end(), log_start,
                                [](std::int64_t offset, const epoch_start& e) { return offset < e.start_offset; });
  if (first != epochs_.begin()) --first;
  // The first epoch after the requested one; there is one, since the latest is larger.
  const auto higher = std::upper_bound(first, epochs_.end(), requested,
                                       [](std::int32_t epoch, const epoch_start& e) { return epoch < e.epoch; });
  CHRONIK_ASSERT(higher != epochs_.end(), "an epoch below the latest has a larger one after it");
  const std::int64_t higher_start = std::max(higher->start_offset, log_start);
  if (higher == first) return {requested, higher_start};
  return {std::prev(higher)->epoch, higher_start};
}

std::int32_t leader_epochs::epoch_at(std::int64_t offset) const {
  if (offset < 0 || epochs_.empty()) return undefined_epoch;
  auto after = std::upper_bound(epochs_.begin(), epochs_.end(), offset,
                                [](std::int64_t o, const epoch_start& e) { return o < e.start_offset; });
  return after == epochs_.begin() ? epochs_.front().epoch : std::prev(after)->epoch;
}

void leader_epochs::truncate_from_start(std::int64_t log_start) {
  while (epochs_.size() >= 2 && epochs_[1].start_offset <= log_start) epochs_.pop_front();
  if (!epochs_.empty() && epochs_.front().start_offset < log_start) epochs_.front().start_offset = log_start;
}

}  // namespace chronik::kafka
