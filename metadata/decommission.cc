#include "metadata/decommission.h"

#include <algorithm>
#include <map>
#include <optional>

#include "base/assert.h"

namespace chronik::metadata {
namespace {

bool lists(const std::vector<node_id>& v, node_id id) { return std::find(v.begin(), v.end(), id) != v.end(); }

bool decommissioning(const meta_data& d, node_id id) {
  auto it = d.brokers.find(id);
  return it != d.brokers.end() && it->second.decommission == decommission_state::moving;
}

// The first replica of `p` that is being decommissioned, if any.
std::optional<node_id> leaving_replica(const meta_data& d, const partition_record& p) {
  for (node_id r : p.replicas)
    if (decommissioning(d, r)) return r;
  return std::nullopt;
}

// How many partitions list each broker that takes replicas, counting a move's target: the load a
// new replica would add to.
std::map<node_id, std::size_t> replica_load(const meta_data& d) {
  std::map<node_id, std::size_t> load;
  for (const auto& [id, b] : d.brokers)
    if (b.takes_replicas()) load[id] = 0;
  for (const auto& [name, t] : d.topics) {
    for (const auto& p : t.partitions) {
      for (node_id r : p.target()) {
        auto it = load.find(r);
        if (it != load.end()) ++it->second;
      }
    }
  }
  return load;
}

// Where the replica of `p` on `leaving` goes: see plan_decommission_moves.
std::optional<node_id> taker(const meta_data& d, const partition_record& p, node_id leaving,
                             const std::map<node_id, std::size_t>& load) {
  const std::string& rack = d.brokers.at(leaving).rack;
  std::optional<node_id> best;
  auto better = [&](node_id a, node_id b) {
    const bool a_rack = !rack.empty() && d.brokers.at(a).rack == rack;
    const bool b_rack = !rack.empty() && d.brokers.at(b).rack == rack;
    if (a_rack != b_rack) return a_rack;
    if (load.at(a) != load.at(b)) return load.at(a) < load.at(b);
    return a < b;
  };
  for (const auto& [id, n] : load) {
    if (lists(p.replicas, id)) continue;
    if (!best || better(id, *best)) best = id;
  }
  return best;
}

bool holds_data(const meta_data& d, node_id id) {
  return std::ranges::any_of(d.topics, [&](const auto& kv) {
    return std::ranges::any_of(kv.second.partitions, [&](const partition_record& p) {
      return lists(p.replicas, id) || lists(p.move_to, id) || lists(p.move_from, id);
    });
  });
}

// The largest replication factor of any partition, as the replicas it ends with.
std::size_t widest_partition(const meta_data& d) {
  std::size_t widest = 0;
  for (const auto& [name, t] : d.topics)
    for (const auto& p : t.partitions) widest = std::max(widest, p.target().size());
  return widest;
}

}  // namespace

std::expected<void, meta_errc> check_decommission(const meta_data& d, node_id id, decommission_state to) {
  const broker_record& b = d.brokers.at(id);
  switch (to) {
    case decommission_state::moving: {
      if (b.decommission != decommission_state::none) return std::unexpected(meta_errc::wrong_decommission_state);
      const auto left = static_cast<std::size_t>(std::ranges::count_if(d.brokers, [&](const auto& kv) {
        return kv.first != id && kv.second.decommission == decommission_state::none;
      }));
      if (left < std::max<std::size_t>(widest_partition(d), 1)) return std::unexpected(meta_errc::too_few_brokers);
      return {};
    }
    case decommission_state::none:
      if (b.decommission != decommission_state::moving) return std::unexpected(meta_errc::wrong_decommission_state);
      return {};
    case decommission_state::done:
      if (b.decommission != decommission_state::moving) return std::unexpected(meta_errc::wrong_decommission_state);
      if (holds_data(d, id)) return std::unexpected(meta_errc::decommission_incomplete);
      return {};
  }
  return std::unexpected(meta_errc::malformed_command);
}

std::vector<decommission_move> plan_decommission_moves(const meta_data& d, std::size_t max_moves) {
  std::vector<decommission_move> out;
  // The controller asks at every pass (every 50 ms on the `__meta` leader): with no broker being
  // decommissioned, the answer must not cost a walk over every partition (docs/performance.md
  // "Scale").
  if (std::ranges::none_of(d.brokers, [](const auto& kv) { return kv.second.decommission == decommission_state::moving; }))
    return out;
  std::size_t in_flight = 0;
  for (const auto& [name, t] : d.topics)
    for (const auto& p : t.partitions)
      if (p.moving()) ++in_flight;
  if (in_flight >= max_moves) return out;

  auto load = replica_load(d);
  for (const auto& [name, t] : d.topics) {
    for (const auto& p : t.partitions) {
      if (p.moving()) continue;  // an operator's move, or ours: it ends first
      const auto leaving = leaving_replica(d, p);
      if (!leaving) continue;
      const auto to = taker(d, p, *leaving, load);
      if (!to) continue;  // stuck: progress_of reports it
      decommission_move m{t.id, name, p.partition, *leaving, *to, {}};
      for (node_id r : p.replicas)
        if (r != *leaving) m.target.push_back(r);
      m.target.push_back(*to);
      CHRONIK_ASSERT(m.target.size() == p.replicas.size(), "a decommission move keeps the replication factor");
      ++load[*to];
      out.push_back(std::move(m));
      if (in_flight + out.size() >= max_moves) return out;
    }
  }
  return out;
}

std::vector<node_id> emptied_decommissions(const meta_data& d) {
  std::vector<node_id> out;
  for (const auto& [id, b] : d.brokers) {
    if (b.decommission == decommission_state::moving && !holds_data(d, id)) out.push_back(id);
  }
  return out;
}

decommission_progress progress_of(const meta_data& d, node_id node) {
  decommission_progress out;
  auto b = d.brokers.find(node);
  if (b != d.brokers.end()) out.state = b->second.decommission;
  const auto load = replica_load(d);
  for (const auto& [name, t] : d.topics) {
    for (const auto& p : t.partitions) {
      if (p.leader == node) ++out.leaderships;
      if (!lists(p.replicas, node)) continue;
      ++out.partitions_left;
      if (p.moving()) {
        ++out.moving;
      } else if (b != d.brokers.end() && !taker(d, p, node, load)) {
        ++out.stuck;
      }
    }
  }
  return out;
}

}  // namespace chronik::metadata
