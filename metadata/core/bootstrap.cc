// The bootstrap rules, in the order evaluate() applies them. docs/bootstrap.md states each rule
// and why it keeps "never two clusters" and "the others end up in one cluster".
#include "metadata/core/bootstrap.h"

#include <algorithm>

namespace chronik::metadata {

using kind = formation::kind;

bootstrap::bootstrap(bootstrap_config cfg, node_ref self, formation restored,
                     std::function<std::string()> random_cluster_id)
    : cfg_(cfg), self_(std::move(self)), state_(std::move(restored)), random_cluster_id_(std::move(random_cluster_id)) {
  // A founder's own proposal is never persisted: after a restart it starts over as fresh, and the
  // nodes that promised see that and release (rule R5).
  if (state_.state == kind::promised && state_.founder == self_) state_ = formation{};
  ready_.announce = state_;
  // A member restarts into its cluster and never bootstraps again (property 3).
  if (state_.state == kind::member) ready_.start_group = true;
}

void bootstrap::tick() {
  ++now_;
  evaluate();
}

void bootstrap::observe(std::vector<peer_view> view) {
  view_ = std::move(view);
  evaluate();
}

void bootstrap::joined(std::string cluster_id, std::vector<node_ref> voters) {
  if (state_.state == kind::member) return;
  set_state(formation{kind::member, {}, std::move(cluster_id), std::move(voters), 0}, true);
}

const peer_view* bootstrap::find(chronik::node_id id) const {
  for (const auto& p : view_)
    if (p.node.id == id) return &p;
  return nullptr;
}

bool bootstrap::in_voters(const std::vector<node_ref>& voters) const {
  return std::find(voters.begin(), voters.end(), self_) != voters.end();
}

void bootstrap::set_state(formation f, bool persist) {
  state_ = std::move(f);
  if (persist) ready_.persist = state_;
  ready_.announce = state_;
}

std::vector<node_ref> bootstrap::fresh_set() const {
  std::vector<node_ref> fresh;
  if (state_.state == kind::fresh) fresh.push_back(self_);
  for (const auto& p : view_)
    if (p.alive && p.state.state == kind::fresh && p.bootstrap_expect == cfg_.bootstrap_expect) fresh.push_back(p.node);
  std::sort(fresh.begin(), fresh.end());
  return fresh;
}

void bootstrap::evaluate() {
  switch (state_.state) {
    case kind::member: try_abandon(); return;
    case kind::promised:
      if (state_.founder == self_) {
        try_commit();
      } else if (!try_adopt()) {
        try_release();
      }
      return;
    case kind::fresh:
      if (try_adopt()) return;
      try_promise();
      if (state_.state == kind::fresh) try_found();
      return;
  }
}

// R6 adopt: a member of the cluster we promised means it committed with us in it; we become a
// voter from the identical initial state. Only a promise-holder adopts: a node that released its
// promise may already belong to another proposal (docs/bootstrap.md, "Why fresh nodes never adopt").
bool bootstrap::try_adopt() {
  if (state_.state == kind::promised) {
    for (const auto& p : view_) {
      if (!p.alive || p.state.state != kind::member || p.state.cluster_id != state_.cluster_id) continue;
      formation f{kind::member, {}, p.state.cluster_id, p.state.voters, 0};
      set_state(std::move(f), true);
      ready_.start_group = true;
      return true;
    }
    return false;
  }
  // R7 join first: a fresh node that sees a member of a cluster asks its controller to add it, and
  // does not found or promise while any member of that cluster is in sight. A cluster that turns
  // out never to have formed (its members abandoned it, R8) releases the would-be joiner.
  auto member_of = [&](const std::string& cluster) {
    return std::any_of(view_.begin(), view_.end(), [&](const peer_view& p) {
      return p.alive && p.state.state == kind::member && (cluster.empty() || p.state.cluster_id == cluster);
    });
  };
  if (!join_requested_.empty() && member_of(join_requested_)) return true;
  join_requested_.clear();
  for (const auto& p : view_) {
    if (!p.alive || p.state.state != kind::member) continue;
    join_requested_ = p.state.cluster_id;
    ready_.join = p.state.cluster_id;
    return true;
  }
  return false;
}

// R1 found: the lowest of at least bootstrap_expect fresh nodes, stable for a window, with nobody
// else forming, proposes cluster C with the bootstrap_expect lowest as voters.
void bootstrap::try_found() {
  const auto fresh = fresh_set();
  if (fresh != last_fresh_) {
    last_fresh_ = fresh;
    fresh_since_ = now_;
    return;
  }
  if (fresh.size() < cfg_.bootstrap_expect || fresh.front() != self_ || now_ - fresh_since_ < cfg_.stable_ticks) return;
  for (const auto& p : view_)
    if (p.alive && p.state.state != kind::fresh) return;  // someone is forming or formed: wait or join
  formation f{kind::promised, self_, random_cluster_id_(), {fresh.begin(), fresh.begin() + cfg_.bootstrap_expect}, ++round_};
  proposed_at_ = now_;
  set_state(std::move(f), false);
}

// R2 promise: a fresh node in a founder's voter set promises, if that founder is the lowest fresh
// node it sees itself (so an asymmetric view cannot make two founders succeed).
void bootstrap::try_promise() {
  const peer_view* founder = nullptr;
  for (const auto& p : view_) {
    const formation& s = p.state;
    if (!p.alive || s.state != kind::promised || !(s.founder == p.node) || !in_voters(s.voters)) continue;
    if (p.bootstrap_expect != cfg_.bootstrap_expect) continue;
    if (!founder || p.node.id < founder->node.id) founder = &p;
  }
  if (!founder) return;
  for (const auto& f : fresh_set())
    if (f.id < founder->node.id) return;  // we see a lower fresh node than the founder
  for (const auto& p : view_)  // or a lower founder, even one whose proposal leaves us out
    if (p.alive && p.state.state == kind::promised && p.state.founder == p.node && p.node.id < founder->node.id) return;
  formation promise = founder->state;
  set_state(std::move(promise), true);
}

// R3 commit: with every promise in, the founder persists membership and announces it.
void bootstrap::try_commit() {
  // R4 early: a lower fresh node or founder in sight means our voters will refuse us (R2); withdraw
  // now rather than at the promise timeout.
  const auto fresh = fresh_set();
  const bool lower_fresh = !fresh.empty() && fresh.front().id < self_.id;
  const bool lower_founder = std::any_of(view_.begin(), view_.end(), [&](const peer_view& p) {
    return p.alive && p.state.state == kind::promised && p.state.founder == p.node && p.node.id < self_.id;
  });
  if (lower_fresh || lower_founder) {
    set_state(formation{}, false);
    last_fresh_.clear();
    return;
  }
  for (const auto& v : state_.voters) {
    if (v == self_) continue;
    const peer_view* p = find(v.id);
    const bool promised = p && p->alive && p->node == v && p->state.state == kind::promised &&
                          p->state.founder == self_ && p->state.cluster_id == state_.cluster_id &&
                          p->state.round == state_.round;
    if (!promised) {
      if (now_ - proposed_at_ >= cfg_.promise_timeout_ticks) {
        // R4 withdraw: announcing fresh again releases every promise (R5).
        set_state(formation{}, false);
        last_fresh_.clear();
      }
      return;
    }
  }
  formation member{kind::member, {}, state_.cluster_id, state_.voters, 0};
  set_state(std::move(member), true);
  ready_.start_group = true;
}

// R5 release: a promise is held until its outcome is known: the founder announces something else
// (fresh again, another proposal, another cluster), or SWIM confirms the founder dead.
void bootstrap::try_release() {
  const peer_view* p = find(state_.founder.id);
  if (!p) return;  // not seen yet (or forgotten): keep holding
  const formation& s = p->state;
  const bool same_proposal = s.state == kind::promised && s.cluster_id == state_.cluster_id;
  const bool committed_ours = s.state == kind::member && s.cluster_id == state_.cluster_id;
  if (p->dead || !(p->node == state_.founder) || (p->alive && !same_proposal && !committed_ours))
    set_state(formation{}, true);
}

// R8 abandon: a member whose cluster can no longer reach a quorum of its initial voters, because
// too many of them visibly hold neither a promise to it nor membership in it, holds a cluster that
// never had a quorum (nodes adopt only from a promise, and belong to one cluster for life). It
// starts over as fresh. Voters we cannot see are assumed to still hold it.
void bootstrap::try_abandon() {
  if (!in_voters(state_.voters)) return;  // a node that joined later was added by a working cluster
  std::size_t can_hold = 0;
  for (const auto& v : state_.voters) {
    if (v == self_) {
      ++can_hold;
      continue;
    }
    const peer_view* p = find(v.id);
    const bool unknown = !p || !p->alive || !(p->node == v);
    const bool holds = p && (p->state.state == kind::promised || p->state.state == kind::member) &&
                       p->state.cluster_id == state_.cluster_id;
    if (unknown || holds) ++can_hold;
  }
  if (can_hold >= state_.voters.size() / 2 + 1) return;
  set_state(formation{}, true);
  ready_.abandon_group = true;
  last_fresh_.clear();
  join_requested_.clear();
}

}  // namespace chronik::metadata
