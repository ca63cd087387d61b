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

// The record's new replica lists for `target`, from the replicas the move in progress began with.
// `target` is valid and distinct here.
bool retarget(partition_record& p, const std::vector<node_id>& target) {
  const std::vector<node_id> origin = without(p.replicas, p.adding);
  std::vector<node_id> replicas = target;
  for (node_id r : p.replicas)
    if (!has(target, r)) replicas.push_back(r);
  std::vector<node_id> removing = without(p.replicas, target);
  std::vector<node_id> adding = without(target, origin);
  if (replicas == p.replicas && adding == p.adding && removing == p.removing) return false;
  p.replicas = std::move(replicas);
  p.adding = std::move(adding);
  p.removing = std::move(removing);
  // Any change of the replica list changes what a replica without durable state may bootstrap.
  p.moved = true;
  std::vector<node_id> isr;
  for (node_id r : p.replicas)
    if (has(p.isr, r)) isr.push_back(r);
  p.isr = std::move(isr);
  return true;
}

}  // namespace

std::vector<node_id> partition_record::target() const { return without(replicas, removing); }

std::expected<bool, meta_errc> begin_move(const meta_data& d, partition_record& p, const std::vector<node_id>& target) {
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
    if (b == d.brokers.end() || b->second.state != broker_state::alive) {
      return std::unexpected(meta_errc::invalid_replica_assignment);
    }
  }
  return retarget(p, target);
}

std::expected<bool, meta_errc> cancel_move(const meta_data&, partition_record& p) {
  if (!p.moving()) return std::unexpected(meta_errc::no_reassignment);
  const std::vector<node_id> origin = without(p.replicas, p.adding);
  CHRONIK_ASSERT(!origin.empty(), "a move keeps the replicas it began with until it finishes");
  return retarget(p, origin);
}

bool finish_move(const meta_data&, partition_record& p, incarnation inc, const std::vector<node_id>& target) {
  if (p.inc != inc || !p.moving() || p.target() != target) return false;
  p.replicas = target;
  p.adding.clear();
  p.removing.clear();
  std::erase_if(p.isr, [&](node_id r) { return !has(p.replicas, r); });
  if (!has(p.replicas, p.leader)) p.leader = no_node;  // the epoch stays: it only grows
  CHRONIK_ASSERT(!p.replicas.empty() && !p.moving(), "a finished move leaves a replica set and no move");
  return true;
}

}  // namespace chronik::metadata
