#include "daemon/cluster_status_json.h"

#include <algorithm>

#include "daemon/admin_server.h"
#include "daemon/formation_progress.h"
#include "daemon/node_meta.h"
#include "metadata/core/formation_codec.h"

namespace chronik::daemon {

nlohmann::json cluster_status_to_json(const cluster_status& s) {
  nlohmann::json brokers = nlohmann::json::array();
  for (const auto& b : s.brokers) {
    brokers.push_back({{"node_id", b.node_id},
                       {"uuid", b.uuid},
                       {"kafka_addr", b.kafka_addr},
                       {"rpc_addr", b.rpc_addr},
                       {"state", b.state},
                       {"drained", b.drained},
                       {"decommission", b.decommission}});
  }
  return nlohmann::json{{"cluster_id", s.cluster_id.empty() ? nlohmann::json() : nlohmann::json(s.cluster_id)},
                        {"meta_leader", s.meta_leader},
                        {"term", s.term},
                        {"commit", s.commit},
                        {"applied", s.applied},
                        {"role", s.role},
                        {"voters", s.voters},
                        {"learners", s.learners},
                        {"brokers", std::move(brokers)}};
}

namespace {

// `__meta` records a broker only alive or dead (metadata/meta_state.h): the controller marks a
// node that SWIM shows dead or left as dead alike, since both stop clients being sent to it. The
// graceful leave is gossip's to know, so a dead broker that gossip shows `left` under the same
// uuid (not a node that since took its id over) is shown `left`, as `cluster members` shows it.
// Gossip keeps a left member until reap_after_ms (a day by default); after that it reads dead.
void show_graceful_leaves(nlohmann::json& brokers, const std::vector<gossip::member_snapshot>& members) {
  for (const auto& snap : members) {
    if (snap.m.state != gossip::member_state::left) continue;
    const auto meta = decode_node_meta(snap.m.meta);
    if (!meta) continue;
    for (auto& b : brokers) {
      if (b["node_id"] == snap.m.id.value() && b["uuid"] == meta->node_uuid_hex && b["state"] == "dead") {
        b["state"] = "left";
      }
    }
  }
}

std::vector<std::uint64_t> ids_of(const std::vector<chronik::node_id>& ids) {
  std::vector<std::uint64_t> out;
  for (auto id : ids) out.push_back(id.value());
  return out;
}

nlohmann::json problem_json(const partition_problem& p) {
  return {{"topic", p.topic},       {"partition", p.partition},   {"leader", p.leader},
          {"replicas", p.replicas}, {"isr", p.isr},               {"leaderless", p.leaderless},
          {"under_replicated", p.under_replicated}};
}

// What formation waits for, from gossip's view of the other nodes (formation_progress.h).
std::string waiting_of(const cluster_view& v) {
  formation_progress_input in{v.self_id, v.formation, v.joining, v.bootstrap_expect, v.seeds, {}};
  for (const auto& snap : v.members) {
    if (snap.m.id.value() == v.self_id) continue;
    formation_peer p;
    p.node_id = snap.m.id.value();
    p.address = snap.m.addr;
    p.alive = snap.m.state == gossip::member_state::alive || snap.m.state == gossip::member_state::suspect;
    if (const auto meta = decode_node_meta(snap.m.meta)) {
      p.announced = true;
      p.bootstrap_expect = meta->bootstrap_expect;
      p.formation = meta->formation_state.state;
      p.cluster_id = meta->formation_state.cluster_id;
    }
    in.peers.push_back(std::move(p));
  }
  return formation_waiting(in);
}

}  // namespace

std::optional<partition_problem> partition_problem_of(const std::string& topic, const kafka::partition_info& p) {
  const bool leader_down = p.leader == chronik::node_id{} || std::ranges::find(p.offline, p.leader) != p.offline.end();
  const bool under = p.isr.size() < p.replicas.size();
  if (!leader_down && !under) return std::nullopt;
  return partition_problem{topic, p.partition, leader_down ? 0 : p.leader.value(), ids_of(p.replicas), ids_of(p.isr),
                           leader_down, under};
}

nlohmann::json cluster_status_json(const cluster_view& v) {
  auto j = cluster_status_to_json(v.status);
  show_graceful_leaves(j["brokers"], v.members);
  j["read"] = v.linearizable ? "linearizable" : "local";
  j["state_hash"] = v.state_hash;
  j["formation"] = metadata::encode_formation(v.formation);
  if (!v.joining.empty()) j["joining"] = v.joining;
  j["nodes"] = formation_of_members(v.members);
  j["load"] = v.load;
  j["partitions"] = v.partitions;
  j["under_replicated_partitions"] = v.under_replicated_partitions;
  j["leaderless_partitions"] = v.leaderless_partitions;
  auto problems = nlohmann::json::array();
  for (const auto& p : v.partition_problems) {
    if (problems.size() >= max_listed_partition_problems) break;
    problems.push_back(problem_json(p));
  }
  j["partition_problems"] = std::move(problems);
  j["fenced"] = v.fenced;
  if (auto waiting = waiting_of(v); !waiting.empty()) j["waiting"] = std::move(waiting);
  return j;
}

}  // namespace chronik::daemon
