// The host simulation's replica moves (docs/raft_host.md "Simulation"): this shell plays `__meta`
// and each node's partition manager around the production cores. `__meta` is the production
// meta_state (metadata/replica_moves.h decides every move, cancel and completion); its committed
// log is one list, and each host's own meta_state applies it late, a few records per tick, as a
// node's `__meta` replica does. What each host does with a record is what
// kafka/partition/partition_manager.cc does: start the group where it is listed (empty after a
// move, reviving a group it removed earlier), remove it where it is no longer listed, and, on the
// group's leader, take the step kafka::plan_move_step decides.
#include <algorithm>
#include <set>

#include "metadata/meta_commands.h"
#include "tests/sim/host_cluster.h"

namespace chronik::sim {

using namespace consensus;
namespace cmd = metadata::commands;


// Every host is a registered broker; one topic has a partition per group, each replicated on the
// first `voters` hosts. `__meta` gives their groups consecutive ids.
void host_cluster::init_meta() {
  group_base_ = metadata::first_partition_group_id.value;
  for (const auto& n : nodes_) {
    const std::string v = std::to_string(n->id.value());
    meta_propose(cmd::register_broker({n->id, "uuid-" + v, "127.0.0." + v + ":9092", "127.0.0." + v + ":7000", ""}));
  }
  topic_.bytes[0] = 0x51;
  cmd::topic_spec t;
  t.name = "moving";
  t.id = topic_;
  std::vector<node_id> creation;
  for (int i = 0; i < opt_.voters; ++i) creation.push_back(nodes_[static_cast<std::size_t>(i)]->id);
  t.assignments.assign(static_cast<std::size_t>(opt_.groups), creation);
  if (!meta_propose(cmd::create_topic(t))) violation("__meta refused the topic");
  for (int g = 0; g < opt_.groups; ++g) {
    const auto* p = meta_.partition(topic_, g);
    if (p == nullptr || p->group != group_id_of(g)) violation("__meta gave partition " + std::to_string(g) + " another group");
  }
}

// Commits `command` to `__meta` at once (its leader is not what this simulation tests): true when
// the state changed.
bool host_cluster::meta_propose(const std::string& command) {
  meta_log_.push_back(command);
  auto r = meta_.apply(log_index{meta_log_.size()}, command);
  return r && r->changed;
}

bool host_cluster::move(int group, const std::vector<int>& target) {
  std::vector<node_id> ids;
  for (int h : target) ids.push_back(nodes_[static_cast<std::size_t>(h)]->id);
  const bool changed = meta_propose(cmd::alter_reassignment(topic_, group, ids, ++nonce_));
  if (changed) ++counts_.moves_begun;
  return changed;
}

bool host_cluster::cancel(int group) {
  const bool changed = meta_propose(cmd::alter_reassignment(topic_, group, std::nullopt, ++nonce_));
  if (changed) ++counts_.moves_cancelled;
  return changed;
}

bool host_cluster::moving(int group) const {
  const auto* p = meta_.partition(topic_, group);
  return p != nullptr && p->moving();
}

const metadata::partition_record& host_cluster::record(int group) const { return *meta_.partition(topic_, group); }

// The host's `__meta` replica applies up to `max_records` more committed records; with `act`, the
// partition manager carries out each move record as it applies (partition_manager::apply_move).
void host_cluster::meta_catch_up(node& n, std::size_t max_records, bool act) {
  for (std::size_t k = 0; k < max_records && n.view.applied_index().value < meta_log_.size(); ++k) {
    const std::uint64_t index = n.view.applied_index().value + 1;
    auto r = n.view.apply(log_index{index}, meta_log_[index - 1]);
    if (!r || !act) continue;
    for (const auto& ref : r->moved) {
      if (!n.core || n.core->failed()) return;
      apply_move(n, ref);
    }
  }
}

void host_cluster::apply_move(node& n, const metadata::partition_ref& ref) {
  if (std::ranges::find(ref.replicas, n.id) != ref.replicas.end()) ensure(n, ref);
  else remove(n, ref.group);  // the group no longer counts this replica: the move finished
}

// partition_manager::ensure: a listed group this host does not run starts with the record's
// bootstrap voters (empty once the partition has moved: the replica joins empty and its leader
// sends it the log); a group it removed earlier is revived first and comes back rejoining.
void host_cluster::ensure(node& n, const metadata::partition_ref& ref) {
  if (std::ranges::find(ref.replicas, n.id) == ref.replicas.end() || n.core->hosts(ref.group)) return;
  const auto gi = static_cast<std::size_t>(ref.group.value - group_base_);
  n.applied[gi] = 0;  // a new replica: its state machine starts over
  const conf_state initial{ref.bootstrap, {}};
  auto r = n.core->create_group(ref.group, initial, group_config(), group_start::fresh, n.disk.reader(ref.group));
  if (!r && r.error().code == host_errc::group_removed) {
    // As partition_manager::ensure: revived, unless its removal is not durable yet (not_ready);
    // then the shell tries again on a later tick (drive_moves), as partition_manager::tick does.
    auto v = n.core->revive_group(ref.group);
    if (!v && v.error().code == host_errc::not_ready) {
      ++counts_.revivals_postponed;
      return;
    }
    if (v) {
      ++counts_.revivals;
      r = n.core->create_group(ref.group, initial, group_config(), group_start::fresh, n.disk.reader(ref.group));
    }
  }
  if (!r) {
    if (r.error().code != host_errc::storage_failed) {
      violation("node " + std::to_string(n.id.value()) + " could not start group " + std::to_string(ref.group.value) +
                ": " + r.error().text);
    }
    return;
  }
  if (r->stored_snapshot) apply(n, *r->stored_snapshot);
}

void host_cluster::remove(node& n, group_id id) {
  if (!n.core->hosts(id)) return;
  if (n.core->remove_group(id)) {
    ++counts_.removals;
    n.applied[static_cast<std::size_t>(id.value - group_base_)] = 0;
  }
}

// partition_manager::sync at a start: run every group `__meta` lists here, and delete the ones it
// no longer lists (a move finished while this host was down), opening a recovered one briefly.
void host_cluster::sync_groups(node& n) {
  std::set<std::uint64_t> wanted;
  for (const auto& ref : n.view.groups_for(n.id)) {
    wanted.insert(ref.group.value);
    ensure(n, ref);
  }
  for (group_id id : n.core->groups())
    if (!wanted.contains(id.value)) remove(n, id);
  for (group_id id : n.core->recovered()) {
    if (wanted.contains(id.value) || n.core->hosts(id)) continue;
    if (n.core->create_group(id, {}, group_config(), group_start::fresh, n.disk.reader(id))) remove(n, id);
  }
}

// partition_manager::drive_moves: the leader of each moving group takes the planner's next step,
// and a group at rest is reconciled with its replicas (every few ticks, as production does at its
// ISR interval). Every host that believes it leads does, as in production: a deposed leader's step
// fails or is overruled, and its completion report names a move `__meta` may have ended.
void host_cluster::drive_moves(node& n) {
  const bool at_rest = now_ % 5 == 0;
  for (const auto& ref : n.view.groups_for(n.id)) {
    if (!n.core->hosts(ref.group)) ensure(n, ref);  // a revival postponed above
    const bool moving = !ref.target.empty();
    if (!moving && !at_rest) continue;
    const auto st = n.core->status(ref.group);
    if (!st || st->state != role::leader) continue;
    const auto& target = moving ? ref.target : ref.replicas;
    const kafka::move_step step = opt_.planner ? opt_.planner(target, *st) : kafka::plan_move_step(target, *st);
    switch (step.what) {
      case kafka::move_step::kind::wait:
        break;
      case kafka::move_step::kind::change:
        if (n.core->propose_conf_change(ref.group, step.change)) ++counts_.conf_changes;
        break;
      case kafka::move_step::kind::transfer:
        if (n.core->transfer_leadership(ref.group, step.to)) ++counts_.transfers;
        break;
      case kafka::move_step::kind::finish:
        if (moving && meta_propose(cmd::complete_reassignment(topic_, ref.partition, ref.inc, ref.move_id, ref.target))) {
          ++counts_.moves_finished;
        }
        break;
    }
  }
}

// Convergence with moves: no move in progress, every running host's `__meta` replica caught up,
// no host outside a group's replicas still running it, and every group led by a leader whose
// voters are exactly the replicas, with no learner left.
bool host_cluster::moves_settled(std::string* why) const {
  const auto say = [&](std::string s) {
    if (why) *why = std::move(s);
    return false;
  };
  for (int g = 0; g < opt_.groups; ++g) {
    const auto* p = meta_.partition(topic_, g);
    const std::string name = "group " + std::to_string(group_id_of(g).value);
    if (p->moving()) return say(name + " is still moving");
    std::vector<node_id> replicas = p->replicas;
    std::ranges::sort(replicas);
    std::optional<raft_status> leader;
    for (const auto& n : nodes_) {
      if (!n->core) continue;
      if (n->view.applied_index().value < meta_log_.size()) return say("a host's __meta lags");
      if (!replica_of(g, *n) && n->core->hosts(group_id_of(g))) return say(name + " still runs outside its replicas");
      const auto st = n->core->status(group_id_of(g));
      if (st && st->state == role::leader && (!leader || st->term > leader->term)) leader = *st;
    }
    if (!leader) return say(name + " has no leader");
    if (leader->conf.voters != replicas || !leader->conf.learners.empty()) {
      return say(name + "'s voters are not its replicas");
    }
  }
  return true;
}

}  // namespace chronik::sim
