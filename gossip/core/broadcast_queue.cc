#include "gossip/core/broadcast_queue.h"

#include <algorithm>

namespace chronik::gossip {

void broadcast_queue::push(node_id about, message msg) {
  std::erase_if(entries_, [&](const entry& e) { return e.about == about; });
  if (entries_.size() >= max_entries) {
    auto worst = std::max_element(entries_.begin(), entries_.end(), [](const entry& a, const entry& b) {
      return a.transmits != b.transmits ? a.transmits < b.transmits : a.order > b.order;
    });
    entries_.erase(worst);
  }
  entries_.push_back(entry{about, std::move(msg), 0, next_order_++});
}

std::vector<message> broadcast_queue::take(std::size_t budget, std::uint32_t limit, transmission mode) {
  std::sort(entries_.begin(), entries_.end(), [](const entry& a, const entry& b) {
    return a.transmits != b.transmits ? a.transmits < b.transmits : a.order > b.order;
  });
  std::vector<message> out;
  for (auto& e : entries_) {
    const std::size_t size = encoded_size_bound(e.msg);
    if (size > budget) continue;
    budget -= size;
    out.push_back(e.msg);
    if (mode == transmission::counted) ++e.transmits;
  }
  std::erase_if(entries_, [&](const entry& e) { return e.transmits >= limit; });
  return out;
}

std::optional<std::uint32_t> broadcast_queue::transmits(node_id about) const {
  for (const auto& e : entries_)
    if (e.about == about) return e.transmits;
  return std::nullopt;
}

}  // namespace chronik::gossip
