#include "consensus/groups/held_votes.h"

#include "base/assert.h"

namespace chronik::consensus {

bool held_votes::holds(message_type type) { return type == message_type::pre_vote || type == message_type::vote; }

bool held_votes::hold(group_id g, message m, std::uint64_t now) {
  CHRONIK_ASSERT(holds(m.type), "only vote requests are held");
  const std::pair key{g.value, m.from.value()};
  auto it = held_.find(key);
  if (it == held_.end()) {
    if (held_.size() >= max_held) return false;
    held_.emplace(key, held{std::move(m), now});
    return true;
  }
  it->second = held{std::move(m), now};  // a newer request of the same candidate supersedes
  return true;
}

std::vector<message> held_votes::take(group_id g) {
  std::vector<message> out;
  auto it = held_.lower_bound({g.value, 0});
  while (it != held_.end() && it->first.first == g.value) {
    out.push_back(std::move(it->second.msg));
    it = held_.erase(it);
  }
  return out;
}

void held_votes::expire(std::uint64_t now) {
  std::erase_if(held_, [&](const auto& kv) { return now - kv.second.at >= hold_ticks; });
}

}  // namespace chronik::consensus
