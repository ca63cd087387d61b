#include "metadata/meta_controller.h"

#include <algorithm>

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

bool caught_up(const controller_input& in, node_id id) {
  auto m = in.match.find(id);
  return m != in.match.end() && m->second >= in.commit;
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
    const bool needs = b == nullptr || b->uuid != n.uuid || b->kafka_addr != n.kafka_addr ||
                       b->rpc_addr != n.rpc_addr || b->listeners != n.listeners || b->state != broker_state::alive;
    if (needs) out.registrations.push_back({n.id, n.uuid, n.kafka_addr, n.rpc_addr, {}, n.listeners});
  }
}

void choose(controller_plan& out, conf_change::kind op, node_id id, std::string reason) {
  out.change = conf_change{op, id};
  out.reason = std::move(reason);
}

}  // namespace

std::size_t target_voters(std::uint32_t meta_voters, std::size_t registered_brokers) {
  if (meta_voters != 0) return meta_voters;
  return registered_brokers >= 5 ? 5 : 3;
}

controller_plan plan_controller(const controller_input& in) {
  controller_plan out;
  plan_registry(in, out);
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

  const std::size_t target = target_voters(in.meta_voters, in.state->brokers.size());
  // 2. A replaced dead voter leaves once the voters outnumber the target.
  if (in.conf.voters.size() > target) {
    for (node_id v : in.conf.voters) {
      if (replaceable(in, v)) {
        choose(out, conf_change::kind::remove, v, "remove the replaced dead voter");
        return out;
      }
    }
  }

  // 3. Promote a caught-up live learner while live voters are short of the target.
  const auto live_voters = static_cast<std::size_t>(
      std::ranges::count_if(in.conf.voters, [&](node_id v) { return !replaceable(in, v); }));
  if (live_voters < target) {
    for (node_id l : in.conf.learners) {
      const node_view* n = find_node(in, l);
      if (n == nullptr || n->swim != swim_view::live || !caught_up(in, l)) continue;
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
    choose(out, conf_change::kind::add_learner, n.id,
           n.relation == cluster_relation::joining ? "add as learner" : "add back as learner");
    return out;
  }
  return out;
}

}  // namespace chronik::metadata
