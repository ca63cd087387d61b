#include "metadata/meta_controller.h"

#include <algorithm>
#include <optional>

namespace chronik::metadata {
namespace {

using consensus::conf_change;

bool contains(const std::vector<node_id>& v, node_id id) { return std::ranges::find(v, id) != v.end(); }

bool in_conf(const consensus::conf_state& c, node_id id) { return contains(c.voters, id) || contains(c.learners, id); }

const node_view* find_node(const controller_input& in, node_id id) {
  for (const auto& n : in.nodes)
    if (n.id == id) return &n;
  return nullptr;
}

const broker_record* find_broker(const controller_input& in, node_id id) {
  auto it = in.state->brokers.find(id);
  return it == in.state->brokers.end() ? nullptr : &it->second;
}

// A voter SWIM has confirmed down for long enough to be replaced (property 6). A voter SWIM does
// not list at all is not replaceable: after a leader change the new leader's gossip may simply
// not have heard of it yet.
bool replaceable(const controller_input& in, node_id voter) {
  if (voter == in.self) return false;
  const node_view* n = find_node(in, voter);
  return n != nullptr && n->swim == swim_view::down && n->down_for >= in.voter_replace_after;
}

// A node being decommissioned, or done: the controller takes it out of the configuration and never
// brings it back (a wiped data directory under the same id registers a new uuid, and is a new node).
bool leaving_cluster(const controller_input& in, node_id id) {
  const broker_record* b = find_broker(in, id);
  return b != nullptr && b->decommission != decommission_state::none;
}

bool caught_up(const controller_input& in, node_id id) {
  auto m = in.match.find(id);
  return m != in.match.end() && m->second >= in.commit;
}

// A node whose decommission is recorded done, ready to leave the configuration: it holds everything
// committed, its done record included, so that it applies that record as a member (it then reports
// itself decommissioned, and its Metadata no longer lists it; the entries that remove it carry the
// commit index on), or SWIM shows it down (a stopped node would never catch up).
bool ready_to_leave(const controller_input& in, node_id id) {
  const broker_record* b = find_broker(in, id);
  if (b == nullptr || b->decommission != decommission_state::done) return false;
  const node_view* n = find_node(in, id);
  return (n != nullptr && n->swim == swim_view::down) || caught_up(in, id);
}

// One holder per node id (docs/bootstrap.md property 7): a registered id passes to a new uuid
// only once its registered holder is gone, that is marked dead here (SWIM confirmed it down), or
// replaced in place (the new uuid serves the registered RPC address, which the old process, were
// it running, would still hold). Gossip already keeps a live holder's id (gossip/core/identity.cc);
// this rule makes sure `__meta` never follows a gossip view that says otherwise.
bool holder_gone(const broker_record& b, const node_view& n) {
  return b.state == broker_state::dead || b.rpc_addr == n.rpc_addr;
}

// A node whose id is registered under another uuid and still in the configuration: it was wiped
// and came back, and its old replica must leave before the new one can join (property 3).
bool wiped_in_conf(const controller_input& in, const node_view& n) {
  const broker_record* b = find_broker(in, n.id);
  return b != nullptr && b->uuid != n.uuid && holder_gone(*b, n) && in_conf(in.conf, n.id);
}

void plan_registry(const controller_input& in, controller_plan& out) {
  for (const auto& n : in.nodes) {
    const broker_record* b = find_broker(in, n.id);
    if (n.swim == swim_view::down) {
      // Brokers marked dead from gossip: clients stop being sent to them (Metadata), and the
      // record of who is down survives a controller change.
      if (b != nullptr && b->uuid == n.uuid && b->state == broker_state::alive) {
        out.state_changes.push_back({n.id, n.uuid, broker_state::dead});
      }
      continue;
    }
    if (b != nullptr && b->uuid != n.uuid && !holder_gone(*b, n)) {
      // Gossip shows the id held by another uuid now, which it accepts only over a dead or
      // departed holder (gossip/core/identity.cc). The registered holder may have died and been
      // replaced within one pacing interval, so `__meta` never saw it dead: record it dead first
      // (the uuid fence keeps this from touching the new holder), and the next run registers the
      // new uuid through the same rule.
      if (b->state == broker_state::alive) out.state_changes.push_back({n.id, b->uuid, broker_state::dead});
      continue;
    }
    if (wiped_in_conf(in, n)) continue;  // registered again once its old replica is removed
    // A decommissioned node that still runs keeps its record as `__meta` left it.
    if (b != nullptr && b->uuid == n.uuid && b->decommission == decommission_state::done) continue;
    const bool needs = b == nullptr || b->uuid != n.uuid || b->kafka_addr != n.kafka_addr ||
                       b->rpc_addr != n.rpc_addr || b->listeners != n.listeners || b->state != broker_state::alive;
    if (needs) out.registrations.push_back({n.id, n.uuid, n.kafka_addr, n.rpc_addr, {}, n.listeners});
  }
}

void choose(controller_plan& out, conf_change::kind op, node_id id, std::string reason) {
  out.change = conf_change{op, id};
  out.reason = std::move(reason);
}


void plan_decommissions(const controller_input& in, controller_plan& out) {
  out.moves = plan_decommission_moves(*in.state, in.max_decommission_moves);
  for (node_id id : emptied_decommissions(*in.state)) out.decommissioned.push_back({id, find_broker(in, id)->uuid, broker_state::alive});
}

}  // namespace

std::size_t target_voters(std::uint32_t meta_voters, std::size_t registered_brokers) {
  if (meta_voters != 0) return meta_voters;
  return registered_brokers >= 5 ? 5 : 3;
}

controller_plan plan_controller(const controller_input& in) {
  controller_plan out;
  plan_registry(in, out);
  plan_decommissions(in, out);
  if (in.conf_change_in_flight) return out;

  // 1. The old replica of a wiped node goes first. Whether the node still asks to join or already
  // announces itself a member does not matter: Raft knows only ids, so a wiped node under its old
  // id receives the old replica's log, and the node may have taken that for its join (a
  // registration of its old uuid can also commit after it joined). Either way the replica that
  // lost its log must leave before the new uuid is registered and added back as a learner.
  for (const auto& n : in.nodes) {
    if (n.swim == swim_view::live && n.id != in.self && wiped_in_conf(in, n)) {
      choose(out, conf_change::kind::remove, n.id, "remove the old replica of wiped");
      return out;
    }
  }

  // 5, for learners: a decommissioned one leaves first of all (one being decommissioned is never
  // promoted meanwhile).
  for (node_id l : in.conf.learners) {
    if (l != in.self && ready_to_leave(in, l)) {
      choose(out, conf_change::kind::remove, l, "remove the decommissioned learner");
      return out;
    }
  }

  // Brokers being decommissioned do not count: they are leaving.
  const auto staying = static_cast<std::size_t>(std::ranges::count_if(
      in.state->brokers, [](const auto& kv) { return kv.second.decommission == decommission_state::none; }));
  const std::size_t target = target_voters(in.meta_voters, staying);
  // 2. A replaced dead voter leaves once the voters outnumber the target.
  if (in.conf.voters.size() > target) {
    for (node_id v : in.conf.voters) {
      if (replaceable(in, v)) {
        choose(out, conf_change::kind::remove, v, "remove the replaced dead voter");
        return out;
      }
    }
  }

  // 2b. Voters still outnumber the target with none to replace and none leaving: a dead voter came
  // back after its replacement was promoted (rule 3 ran, then the node returned before rule 2
  // removed it). Four voters tolerate no more failures than three and need a larger quorum, so
  // one goes: never this node; one SWIM does not see live first, else the highest id. A live one
  // comes back as a learner through rule 4.
  if (in.conf.voters.size() > target &&
      std::ranges::none_of(in.conf.voters, [&](node_id v) { return leaving_cluster(in, v); })) {
    std::optional<node_id> excess;
    bool excess_live = true;
    for (node_id v : in.conf.voters) {
      if (v == in.self) continue;
      const node_view* n = find_node(in, v);
      const bool live = n != nullptr && n->swim == swim_view::live;
      if (!excess || (excess_live && (!live || v > *excess))) {
        excess = v;
        excess_live = live;
      }
    }
    if (excess) {
      choose(out, conf_change::kind::remove, *excess, "remove a voter over the target");
      return out;
    }
  }

  // 3. Promote a caught-up live learner while live voters are short of the target.
  const auto live_voters = static_cast<std::size_t>(std::ranges::count_if(
      in.conf.voters, [&](node_id v) { return !replaceable(in, v) && !leaving_cluster(in, v); }));
  if (live_voters < target) {
    for (node_id l : in.conf.learners) {
      const node_view* n = find_node(in, l);
      if (n == nullptr || n->swim != swim_view::live || !caught_up(in, l) || leaving_cluster(in, l)) continue;
      choose(out, conf_change::kind::add_voter, l,
             live_voters < in.conf.voters.size() ? "promote to voter, replacing a dead one" : "promote to voter");
      return out;
    }
  }

  // 4. Live nodes of this cluster outside the configuration become learners.
  for (const auto& n : in.nodes) {
    if (n.swim != swim_view::live || n.id == in.self || in_conf(in.conf, n.id)) continue;
    const broker_record* b = find_broker(in, n.id);
    if (b != nullptr && b->uuid != n.uuid) continue;  // its registration first
    if (leaving_cluster(in, n.id)) continue;
    choose(out, conf_change::kind::add_learner, n.id,
           n.relation == cluster_relation::joining ? "add as learner" : "add back as learner");
    return out;
  }

  // 5, for voters: once no replacement is left to promote or add, the decommissioned voter leaves.
  // Never this node: it hands its leadership over first (leadership_drain.h), and the next leader
  // removes it.
  for (node_id v : in.conf.voters) {
    if (v != in.self && ready_to_leave(in, v) && in.conf.voters.size() > 1) {
      choose(out, conf_change::kind::remove, v, "remove the decommissioned voter");
      return out;
    }
  }
  return out;
}

}  // namespace chronik::metadata
