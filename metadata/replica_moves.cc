#include "metadata/replica_moves.h"

#include <algorithm>

#include "base/assert.h"

namespace chronik::metadata {
namespace {

bool has(const std::vector<node_id>& v, node_id id) { return std::find(v.begin(), v.end(), id) != v.end(); }

std::vector<node_id> without(const std::vector<node_id>& v, const std::vector<node_id>& drop) {
  std::vector<node_id> out;
  for (node_id id : v)
    if (!has(drop, id)) out.push_back(id);
  return out;
}

// Makes `target` (valid and distinct) the move's target. `replicas` keeps every node that may hold a
// copy: the target first, then the others, which leave.
bool retarget(partition_record& p, const std::vector<node_id>& target, log_index index) {
  if (!p.moving()) {
    if (target.size() == p.replicas.size() && without(p.replicas, target).empty()) {
      // The same replicas in another order: no data moves, only the preferred leader changes.
      // Still `moved`: a replica without durable state must not bootstrap this order.
      if (target == p.replicas) return false;
      p.replicas = target;
      p.moved = true;
      return true;
    }
    p.move_from = p.replicas;
  } else if (target == p.move_to) {
    return false;
  }
  std::vector<node_id> replicas = target;
  for (node_id r : p.replicas)
    if (!has(target, r)) replicas.push_back(r);
  p.replicas = std::move(replicas);
  p.move_to = target;
  p.move_id = index;
  p.moved = true;
  std::vector<node_id> isr;
  for (node_id r : p.replicas)
    if (has(p.isr, r)) isr.push_back(r);
  p.isr = std::move(isr);
  return true;
}

}  // namespace

std::vector<node_id> partition_record::adding() const { return moving() ? without(move_to, move_from) : std::vector<node_id>{}; }
std::vector<node_id> partition_record::removing() const { return moving() ? without(replicas, move_to) : std::vector<node_id>{}; }

std::expected<bool, meta_errc> begin_move(const meta_data& d, partition_record& p, const std::vector<node_id>& target,
                                          log_index index) {
  if (target.empty() || target.size() > static_cast<std::size_t>(max_replication_factor)) {
    return std::unexpected(meta_errc::invalid_replica_assignment);
  }
  for (std::size_t i = 0; i < target.size(); ++i) {
    const node_id id = target[i];
    if (id == no_node || std::find(target.begin(), target.begin() + static_cast<std::ptrdiff_t>(i), id) !=
                             target.begin() + static_cast<std::ptrdiff_t>(i)) {
      return std::unexpected(meta_errc::invalid_replica_assignment);
    }
    if (has(p.replicas, id)) continue;  // it already runs the group, in whatever state its broker is
    auto b = d.brokers.find(id);
    if (b == d.brokers.end() || !b->second.takes_replicas()) {
      return std::unexpected(meta_errc::invalid_replica_assignment);
    }
  }
  return retarget(p, target, index);
}

std::expected<bool, meta_errc> cancel_move(const meta_data&, partition_record& p, log_index index) {
  if (!p.moving()) return std::unexpected(meta_errc::no_reassignment);
  CHRONIK_ASSERT(!p.move_from.empty(), "a move keeps the replicas it began with until it finishes");
  const std::vector<node_id> origin = p.move_from;
  return retarget(p, origin, index);
}

bool finish_move(const meta_data&, partition_record& p, incarnation inc, log_index move_id,
                 const std::vector<node_id>& target) {
  if (p.inc != inc || !p.moving() || p.move_id != move_id || p.move_to != target) return false;
  p.replicas = target;
  p.move_to.clear();
  p.move_from.clear();
  p.move_id = log_index{};
  std::erase_if(p.isr, [&](node_id r) { return !has(p.replicas, r); });
  if (!has(p.replicas, p.leader)) p.leader = no_node;  // the epoch stays: it only grows
  CHRONIK_ASSERT(!p.replicas.empty() && !p.moving(), "a finished move leaves a replica set and no move");
  return true;
}

}  // namespace chronik::metadata
