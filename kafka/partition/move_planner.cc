#include "kafka/partition/move_planner.h"

#include <algorithm>

#include "base/assert.h"

namespace chronik::kafka {
namespace {

using consensus::conf_change;
using consensus::node_id;

bool has(const std::vector<node_id>& v, node_id id) { return std::find(v.begin(), v.end(), id) != v.end(); }

move_step change(conf_change::kind op, node_id id, const char* why) {
  move_step s;
  s.what = move_step::kind::change;
  s.change = conf_change{op, id};
  s.why = why;
  return s;
}

}  // namespace

move_step plan_move_step(const std::vector<node_id>& target, const consensus::raft_status& st) {
  CHRONIK_EXPECTS(!target.empty(), "a move has a target");
  if (st.state != consensus::role::leader) return {};
  const auto& conf = st.conf;
  // A learner the target no longer wants (a cancelled or replaced move) leaves first: it holds no
  // vote, so removing it never endangers a quorum.
  for (node_id l : conf.learners)
    if (!has(target, l)) return change(conf_change::kind::remove, l, "learner outside the target");
  // Every target replica the group lacks joins as a learner, all before any promotion, so that
  // they catch up in parallel.
  for (node_id t : target)
    if (!has(conf.voters, t) && !has(conf.learners, t)) return change(conf_change::kind::add_learner, t, "new replica");
  for (node_id t : target) {
    if (!has(conf.learners, t)) continue;
    auto m = st.match.find(t);
    if (m != st.match.end() && m->second >= st.commit) return change(conf_change::kind::add_voter, t, "caught-up learner");
  }
  if (!conf.learners.empty()) return {};  // still catching up: the leaving voters stay meanwhile
  // Nor does a voter leave while a target voter lags: removals shrink the quorum to the target's,
  // and a lagging voter there (a promoted replica that went down, or one still rejoining, which
  // votes only once caught up: docs/raft.md "Rejoining replicas") could leave the group unable to
  // elect (found by the host simulation's moves: two voters, one of them behind and rejoining).
  const bool leaving = std::any_of(conf.voters.begin(), conf.voters.end(), [&](node_id v) { return !has(target, v); });
  if (leaving) {
    for (node_id t : target) {
      if (t == st.id) continue;
      auto m = st.match.find(t);
      if (m == st.match.end() || m->second < st.commit) return {};
    }
  }
  for (node_id v : conf.voters) {
    if (has(target, v)) continue;
    if (v != st.id) return change(conf_change::kind::remove, v, "voter outside the target");
  }
  if (!has(target, st.id)) {
    // Only this leader is left to leave: a target voter takes over, the first in target order (the
    // preferred leader first) among those holding the whole log, else the one holding the most. A
    // transferee that is down stops matching once the transfer timed out and writes went on
    // without it, so the next try picks another.
    move_step s;
    s.what = move_step::kind::transfer;
    s.why = "the leader leaves";
    consensus::log_index best;
    for (node_id t : target) {
      auto m = st.match.find(t);
      const consensus::log_index held = m == st.match.end() ? consensus::log_index{} : m->second;
      if (s.to == consensus::no_node || held > best) {
        s.to = t;
        best = held;
      }
      if (held >= st.last_index) break;
    }
    return s;
  }
  CHRONIK_ASSERT(conf.voters.size() == target.size(), "every voter is in the target and every target replica votes");
  // `conf` is the committed configuration: a change still uncommitted in the log (an add_learner
  // of a target a cancel just dropped) would take effect after the report and leave a member
  // `__meta` no longer lists, which no move removes. Found by HostSim.MovesLoseNothing. Nothing
  // uncommitted at the leader means no change pending anywhere that can still commit.
  if (st.commit < st.last_index) return {};
  move_step s;
  s.what = move_step::kind::finish;
  s.why = "the group's voters are the target";
  return s;
}

}  // namespace chronik::kafka
