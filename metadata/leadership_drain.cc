#include "metadata/leadership_drain.h"

#include <algorithm>

namespace chronik::metadata {

std::set<node_id> drained_nodes(const meta_state& state) {
  std::set<node_id> out;
  for (const auto& [id, b] : state.brokers())
    if (b.leads_nothing()) out.insert(id);
  return out;
}

bool may_take_leadership(const meta_state& state, node_id node) {
  const broker_record* b = state.broker(node);
  return b == nullptr || !b->leads_nothing();  // an unregistered node is not the operator's to drain
}

consensus::campaign_mode campaign_mode_for(const meta_state& state, node_id self) {
  return may_take_leadership(state, self) ? consensus::campaign_mode::eager : consensus::campaign_mode::reluctant;
}

std::optional<node_id> drain_target(const drain_group_view& group, const std::set<node_id>& drained,
                                    const std::set<node_id>& unavailable) {
  auto eligible = [&](node_id n) {
    return n != group.self && !drained.contains(n) && !unavailable.contains(n) &&
           std::find(group.voters.begin(), group.voters.end(), n) != group.voters.end();
  };
  // Rank: in sync first (a transfer to it hands over in one message), then the preference order;
  // voters missing from `preference` come after it, by id (the voters are sorted by the caller's
  // map order or not at all, so sort them here).
  std::vector<node_id> order;
  for (node_id n : group.preference)
    if (eligible(n) && std::find(order.begin(), order.end(), n) == order.end()) order.push_back(n);
  std::vector<node_id> rest;
  for (node_id n : group.voters)
    if (eligible(n) && std::find(order.begin(), order.end(), n) == order.end()) rest.push_back(n);
  std::sort(rest.begin(), rest.end());
  order.insert(order.end(), rest.begin(), rest.end());
  if (order.empty()) return std::nullopt;
  auto match_of = [&](node_id n) {
    auto it = group.match.find(n);
    return it == group.match.end() ? log_index{} : it->second;
  };
  for (node_id n : order)
    if (match_of(n) >= group.last_index) return n;
  // Nobody holds the whole log: the most caught-up, the transfer brings it up to date first.
  node_id best = order.front();
  for (node_id n : order)
    if (match_of(n) > match_of(best)) best = n;
  return best;
}

bool meta_goes_now(std::size_t partition_groups_led_here) { return partition_groups_led_here == 0; }

std::size_t partitions_led_by(const meta_state& state, node_id node) {
  std::size_t n = 0;
  for (const auto& [name, t] : state.topics())
    for (const auto& p : t.partitions)
      if (p.leader == node) ++n;
  return n;
}

}  // namespace chronik::metadata
