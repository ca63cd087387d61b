#include "daemon/cluster_status_json.h"

#include "daemon/admin_server.h"
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
                       {"state", b.state}});
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

}  // namespace

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
  return j;
}

}  // namespace chronik::daemon
