#include "kafka/partition/entry_cache.h"

#include <algorithm>

namespace chronik::kafka {

using consensus::group_id;
using consensus::log_index;

void entry_cache::put(group_id group, log_index index, std::shared_ptr<const std::string> bytes) {
  // Applied entries come in index order, so the search for a replaced suffix is needed only when
  // this index is not past the newest cached one (a profile of one-record produce requests put
  // that search at 1 % of a broker's CPU).
  if (auto g = groups_.find(group.value); g != groups_.end() && g->second.back().index >= index) {
    drop_from(group, index);
  }
  if (!bytes || bytes->size() > max_bytes_) return;
  while (bytes_ + bytes->size() > max_bytes_ && evict_oldest()) {
  }
  bytes_ += bytes->size();
  ++entries_;
  groups_[group.value].push_back({index, std::move(bytes)});
  order_.push_back({group, index});
}

std::shared_ptr<const std::string> entry_cache::find(group_id group, log_index index) const {
  auto g = groups_.find(group.value);
  if (g == groups_.end()) return nullptr;
  const auto& run = g->second;
  auto it = std::lower_bound(run.begin(), run.end(), index, [](const cached& c, log_index i) { return c.index < i; });
  if (it == run.end() || it->index != index) return nullptr;
  return it->bytes;
}

void entry_cache::drop_through(group_id group, log_index index) {
  auto g = groups_.find(group.value);
  if (g == groups_.end()) return;
  auto& run = g->second;
  auto end = std::upper_bound(run.begin(), run.end(), index, [](log_index i, const cached& c) { return i < c.index; });
  forget(run, run.begin(), end);
  if (run.empty()) groups_.erase(g);
  sweep_stale_refs();
}

void entry_cache::drop_from(group_id group, log_index index) {
  auto g = groups_.find(group.value);
  if (g == groups_.end()) return;
  auto& run = g->second;
  auto first = std::lower_bound(run.begin(), run.end(), index, [](const cached& c, log_index i) { return c.index < i; });
  forget(run, first, run.end());
  if (run.empty()) groups_.erase(g);
  sweep_stale_refs();
}

void entry_cache::drop_group(group_id group) {
  auto g = groups_.find(group.value);
  if (g == groups_.end()) return;
  forget(g->second, g->second.begin(), g->second.end());
  groups_.erase(g);
  sweep_stale_refs();
}

log_index entry_cache::first_index(group_id group) const {
  auto g = groups_.find(group.value);
  return g == groups_.end() ? log_index{} : g->second.front().index;
}

log_index entry_cache::last_index(group_id group) const {
  auto g = groups_.find(group.value);
  return g == groups_.end() ? log_index{} : g->second.back().index;
}

bool entry_cache::evict_oldest() {
  while (!order_.empty()) {
    const ref r = order_.front();
    order_.pop_front();
    auto g = groups_.find(r.group.value);
    // Each group's run was put in index order, so a live reference is always its group's front.
    if (g == groups_.end() || g->second.front().index != r.index) continue;  // stale
    forget(g->second, g->second.begin(), g->second.begin() + 1);
    if (g->second.empty()) groups_.erase(g);
    return true;
  }
  return false;
}

void entry_cache::forget(std::deque<cached>& run, std::deque<cached>::iterator first,
                         std::deque<cached>::iterator last) {
  for (auto it = first; it != last; ++it) {
    bytes_ -= it->bytes->size();
    --entries_;
  }
  run.erase(first, last);
}

void entry_cache::sweep_stale_refs() {
  // Dropped entries leave their references behind; without evictions (a cache that never fills)
  // they would pile up, so they are swept once they outnumber the live ones.
  if (order_.size() <= 2 * entries_ + 64) return;
  std::erase_if(order_, [this](const ref& r) { return find(r.group, r.index) == nullptr; });
}

}  // namespace chronik::kafka
