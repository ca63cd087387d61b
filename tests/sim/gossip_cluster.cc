#include "tests/sim/gossip_cluster.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace chronik::sim {

using gossip::member_state;

gossip_cluster::gossip_cluster(std::uint64_t seed, gossip::config cfg, int size, std::string cluster)
    : seed_(seed), cfg_(cfg), cluster_(std::move(cluster)), net_(seed), nodes_(static_cast<std::size_t>(size)) {}

void gossip_cluster::start(int i, const std::vector<int>& seeds, bool new_uuid, std::optional<std::string> meta) {
  node& n = nodes_[i];
  if (n.uuid.empty() || new_uuid) n.uuid = "uuid-" + std::to_string(i) + "-" + std::to_string(++n.generation);
  start_as(i, static_cast<std::uint32_t>(i + 1), seeds, meta ? std::move(*meta) : "meta of " + n.uuid);
}

void gossip_cluster::start_impostor(int i, int as, const std::vector<int>& seeds, id_takeover takeover) {
  nodes_[i].uuid = "impostor-" + std::to_string(i) + "-" + std::to_string(++nodes_[i].generation);
  start_as(i, static_cast<std::uint32_t>(as + 1), seeds, "meta", takeover);
}

void gossip_cluster::start_as(int i, std::uint32_t id, const std::vector<int>& seeds, std::string meta,
                              id_takeover takeover) {
  node& n = nodes_[i];
  n.id = id;
  n.yielded = false;
  std::vector<std::string> seed_addrs;
  for (int s : seeds) seed_addrs.push_back(addr(s));
  gossip::self_identity self{gossip::node_id{id}, n.uuid, addr(i), std::move(meta), cluster_,
                             takeover == id_takeover::replace_dead_holder};
  log_sink sink;
  // CHRONIK_SIM_TRACE=1 prints every core's log lines with the tick, for replaying a failed seed.
  if (std::getenv("CHRONIK_SIM_TRACE")) {
    sink = [this, i](log_level, std::string_view text) {
      std::printf("[t=%llu n=%d] %.*s\n", static_cast<unsigned long long>(net_.now()), i,
                  static_cast<int>(text.size()), text.data());
    };
  }
  n.core = std::make_unique<gossip::membership>(cfg_, self, seed_addrs, net_.random().next(), sink);
  // "Incarnations never move back" holds within one core's life: a restarted process remembers
  // nothing, its own incarnation included, until the cluster tells it.
  std::erase_if(seen_inc_, [i](const auto& kv) { return std::get<0>(kv.first) == i; });
  n.running = true;
  net_.set_down(i, false);
  net_.resume(i);
}

void gossip_cluster::crash(int i, bool bounces) {
  nodes_[i].running = false;
  net_.set_down(i, true, bounces);
}

void gossip_cluster::leave(int i) { nodes_[i].core->leave(); }

int gossip_cluster::index_of(const std::string& a) const {
  for (int i = 0; i < size(); ++i)
    if (addr(i) == a) return i;
  return -1;
}

void gossip_cluster::drain(int i) {
  auto& core = *nodes_[i].core;
  // A node that yielded its id exits (daemon/main.cc, exit 2); its host stays up and bounces.
  if (core.conflict() && !nodes_[i].yielded) {
    nodes_[i].yielded = true;
    crash(i, true);
  }
  if (!core.has_ready()) return;
  for (const auto& p : core.ready().packets) {
    const int to = index_of(p.to_addr);
    if (to < 0) continue;
    // Streams are TCP: partitions and crashes stop them, random loss does not.
    net_.send(i, to, p, p.via == gossip::transport::datagram);
  }
  for (const auto& ev : core.ready().events) {
    if (ev.kind != gossip::member_event_kind::state_changed || ev.who.state != member_state::dead) continue;
    const int victim = static_cast<int>(ev.who.id.value()) - 1;
    if (victim >= 0 && victim < size() && nodes_[victim].running)
      false_deaths_.push_back({i, victim, net_.now()});
  }
  core.advance();
}

void gossip_cluster::run(std::uint64_t ticks) {
  for (std::uint64_t t = 0; t < ticks; ++t) {
    net_.tick(
        [&](int, int to, const gossip_packet& p) {
          if (!nodes_[to].running) return;
          nodes_[to].core->step(p.env);
          drain(to);
        },
        [&](int sender, int, const gossip_packet& p) {
          // Only datagrams bounce as port unreachable; a refused TCP connect is not reported.
          if (!nodes_[sender].running || p.via != gossip::transport::datagram) return;
          nodes_[sender].core->refused(p.to_addr);
          drain(sender);
        });
    for (int i = 0; i < size(); ++i) {
      if (!nodes_[i].running || net_.paused(i)) continue;
      nodes_[i].core->tick();
      drain(i);
    }
    check_invariants();
  }
}

std::optional<std::uint64_t> gossip_cluster::run_until(const std::function<bool()>& pred, std::uint64_t max_ticks) {
  for (std::uint64_t t = 1; t <= max_ticks; ++t) {
    run(1);
    if (pred()) return t;
  }
  return std::nullopt;
}

void gossip_cluster::check_invariants() {
  for (int i = 0; i < size(); ++i) {
    if (!nodes_[i].running) continue;
    const auto& core = *nodes_[i].core;
    const auto self_state = core.self().state;
    if (self_state != member_state::alive && self_state != member_state::left)
      violations_.push_back("node " + std::to_string(i) + " sees itself " + std::string(to_string(self_state)));
    for (const auto& m : core.members()) {
      auto& seen = seen_inc_[{i, m.id.value(), m.uuid}];
      if (m.inc.value < seen)
        violations_.push_back("tick " + std::to_string(net_.now()) + ": node " + std::to_string(i) +
                              " saw the incarnation of " + std::to_string(m.id.value()) + " go back from " +
                              std::to_string(seen) + " to " + std::to_string(m.inc.value));
      seen = std::max(seen, m.inc.value);
    }
  }
}

bool gossip_cluster::converged() const {
  for (int i = 0; i < size(); ++i) {
    if (!nodes_[i].running) continue;
    const auto& core = *nodes_[i].core;
    for (int j = 0; j < size(); ++j) {
      if (j == i) continue;
      auto m = core.find(gossip::node_id{static_cast<std::uint32_t>(j + 1)});
      const bool alive = m && m->state == member_state::alive && m->uuid == nodes_[j].uuid;
      if (alive != nodes_[j].running) return false;
      if (alive && m->meta != nodes_[j].core->self().meta) return false;
    }
  }
  return true;
}

std::string gossip_cluster::divergence() const {
  for (int i = 0; i < size(); ++i) {
    if (!nodes_[i].running) continue;
    for (int j = 0; j < size(); ++j) {
      if (j == i) continue;
      auto m = nodes_[i].core->find(gossip::node_id{static_cast<std::uint32_t>(j + 1)});
      const bool alive = m && m->state == member_state::alive && m->uuid == nodes_[j].uuid;
      if (alive && nodes_[j].running && m->meta != nodes_[j].core->self().meta)
        return "node " + std::to_string(i) + " holds node " + std::to_string(j) + "'s metadata '" + m->meta +
               "' at inc " + std::to_string(m->inc.value) + ", not '" + nodes_[j].core->self().meta + "'";
      if (alive == nodes_[j].running) continue;
      return "node " + std::to_string(i) + " sees node " + std::to_string(j) + " as " +
             (m ? std::string(to_string(m->state)) + " inc " + std::to_string(m->inc.value) + " uuid " + m->uuid
                : std::string("unknown")) +
             " (running=" + std::to_string(nodes_[j].running) + ")";
    }
  }
  return "converged";
}

bool gossip_cluster::all_see(int who, member_state state) const {
  for (int i = 0; i < size(); ++i) {
    if (i == who || !nodes_[i].running) continue;
    auto m = nodes_[i].core->find(gossip::node_id{static_cast<std::uint32_t>(who + 1)});
    if (!m || m->state != state) return false;
  }
  return true;
}

}  // namespace chronik::sim
