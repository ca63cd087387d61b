// Static membership (KIP-345) in the group coordinator; see group_coordinator.h. The Kafka
// broker's GroupCoordinator (doStaticMemberJoinGroup, updateStaticMemberAndRebalance,
// validateCurrentMember) and GroupMetadata (replaceStaticMember, maybeElectNewJoinedLeader) are
// the reference for each rule.
//
// A static member is bound to its group.instance.id. A consumer that restarts joins again with that
// instance id and no member id; it takes over the member bound to it under a new member id, keeps
// the assignment, and the group does not rebalance unless the selected protocol would change or the
// group is mid-rebalance. The old member id is fenced from then on: a zombie of the previous
// process cannot heartbeat, sync or commit for the instance.
#include <algorithm>
#include <utility>

#include "base/assert.h"
#include "kafka/groups/group_coordinator.h"

namespace chronik::kafka {

group_errc group_coordinator::check_member(const group& g, std::string_view member_id,
                                           std::optional<std::string_view> instance_id) const {
  if (instance_id) {
    auto bound = g.static_members.find(*instance_id);
    if (bound == g.static_members.end()) return group_errc::unknown_member;
    return bound->second == member_id ? group_errc::none : group_errc::fenced_instance_id;
  }
  return g.members.contains(member_id) ? group_errc::none : group_errc::unknown_member;
}

void group_coordinator::join_static(group& g, join_params& params, join_callback& done) {
  CHRONIK_ASSERT(params.group_instance_id && params.member_id.empty(), "a static member joining without a member id");
  if (auto bound = g.static_members.find(*params.group_instance_id); bound != g.static_members.end()) {
    const std::string old_id = bound->second;  // rebind() rewrites the binding
    replace_static_member(g, old_id, params, std::move(done));
    return;
  }
  if (g.members.size() + g.pending.size() >= config_.max_members_per_group) {
    join_result r{.error = group_errc::group_full};
    ready_.push_back([d = std::move(done), r = std::move(r)]() mutable { d(std::move(r)); });
    return;
  }
  // A new instance: a member like any other, bound to its instance id. Kafka prefixes static
  // members' ids with the instance id, which makes them recognisable in DescribeGroups.
  add_member_and_rebalance(g, next_member_id(*params.group_instance_id), params, std::move(done));
}

group_coordinator::member& group_coordinator::rebind(group& g, const std::string& from, const std::string& to) {
  auto node = g.members.extract(from);
  CHRONIK_ASSERT(!node.empty(), "a static binding names a member of the group");
  // Whatever the old id still waits for is answered now: that process is a zombie.
  answer_join(node.mapped(), join_result{.error = group_errc::fenced_instance_id, .member_id = from});
  answer_sync(node.mapped(), sync_result{.error = group_errc::fenced_instance_id});
  node.key() = to;
  node.mapped().id = to;
  auto placed = g.members.insert(std::move(node));
  CHRONIK_ASSERT(placed.inserted, "a fresh member id is not in the group yet");
  member& m = placed.position->second;
  if (g.leader_id == from) g.leader_id = to;
  CHRONIK_ASSERT(m.instance_id.has_value(), "only static members are rebound");
  g.static_members.insert_or_assign(*m.instance_id, to);
  return m;
}

void group_coordinator::replace_static_member(group& g, const std::string& old_id, join_params& params,
                                              join_callback done) {
  // The leader as members know it: a restarted leader is told the old id leads, so it does not
  // compute an assignment a stable group would never distribute (Kafka before JoinGroup v9).
  static_replacement undo{.group_id = g.id, .old_id = old_id, .leader_before = g.leader_id,
                          .generation = g.generation_id};
  // Fencing needs an id the instance never had: another coordinator's generator (a different seed,
  // the same counters) may repeat one, so ids already in the group are skipped.
  undo.new_id = next_member_id(*params.group_instance_id);
  for (int tries = 0; g.members.contains(undo.new_id) && tries < 64; ++tries) {
    undo.new_id = next_member_id(*params.group_instance_id);
  }
  CHRONIK_ASSERT(!g.members.contains(undo.new_id), "64 member ids in a row are already taken");
  member& m = rebind(g, old_id, undo.new_id);
  undo.old_protocols = std::exchange(m.protocols, std::move(params.protocols));
  undo.old_session_ms = std::exchange(m.session_timeout_ms, params.session_timeout_ms);
  undo.old_rebalance_ms = std::exchange(m.rebalance_timeout_ms, params.rebalance_timeout_ms);
  m.session_deadline_ms = now_ms_ + m.session_timeout_ms;
  m.awaiting_join = std::move(done);
  switch (g.state) {
    case group_state::stable:
      if (select_protocol(g) != g.protocol_name) break;  // the next generation differs: rebalance
      {
        // No rebalance: the binding is stored first (a new coordinator must fence the old id too),
        // then the member gets the current generation and syncs for its old assignment.
        group_log_record r = metadata_record(g);
        undo.stored_before = std::exchange(g.stored, std::get<group_record_value>(*r.value));
        write(g.partition, {std::move(r)}, [this, undo = std::move(undo)](write_outcome outcome) mutable {
          finish_replacement(std::move(undo), outcome);
        });
      }
      return;
    case group_state::completing_rebalance:
      // The leader may be assigning for the old id already; the new id would get nothing.
      break;
    case group_state::preparing_rebalance:
      try_complete_join(g);
      return;
    case group_state::empty:
    case group_state::dead:
      CHRONIK_ASSERT(false, "an empty or dead group has no static members");
  }
  prepare_rebalance(g);
  try_complete_join(g);
}

void group_coordinator::finish_replacement(static_replacement undo, write_outcome outcome) {
  group* g = find(undo.group_id);
  if (g == nullptr) return;
  auto it = g->members.find(undo.new_id);
  // Removed, replaced again, or answered by a rebalance since: nothing left to answer.
  if (it == g->members.end() || !it->second.awaiting_join) return;
  // A rebalance started since: the member is in it, and its end answers the join.
  if (g->state != group_state::stable || g->generation_id != undo.generation) return;
  if (outcome == write_outcome::committed) {
    answer_join(it->second, join_result{.generation_id = g->generation_id,
                                        .protocol_type = g->protocol_type,
                                        .protocol_name = g->protocol_name,
                                        .leader_id = undo.leader_before,
                                        .member_id = undo.new_id});
    return;
  }
  // Kafka reverts the replacement: the old id is bound again, and the new process gets the error
  // without an id and joins afresh.
  answer_join(it->second, join_result{.error = write_error(outcome)});
  member& back = rebind(*g, undo.new_id, undo.old_id);
  back.protocols = std::move(undo.old_protocols);
  back.session_timeout_ms = undo.old_session_ms;
  back.rebalance_timeout_ms = undo.old_rebalance_ms;
  g->stored = std::move(undo.stored_before);
}

bool group_coordinator::elect_joined_leader(group& g) {
  if (g.members.empty()) {
    g.leader_id.clear();
    return true;
  }
  auto leader = g.members.find(g.leader_id);
  if (leader != g.members.end() && leader->second.awaiting_join) return true;
  auto joined = std::ranges::find_if(
      g.members, [](const auto& entry) { return static_cast<bool>(entry.second.awaiting_join); });
  if (joined == g.members.end()) return false;
  g.leader_id = joined->first;
  return true;
}

}  // namespace chronik::kafka
