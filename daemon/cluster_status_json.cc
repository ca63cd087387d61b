#include "daemon/cluster_status_json.h"

#include "daemon/admin_server.h"
#include "metadata/core/formation_codec.h"

namespace chronik::daemon {

nlohmann::json cluster_status_to_json(const cluster_status& s) {
  nlohmann::json brokers = nlohmann::json::array();
  for (const auto& b : s.brokers) {
    brokers.push_back({{"node_id", b.node_id},
                       {"uuid", b.uuid},
                       {"kafka_address", b.kafka_address},
                       {"rpc_address", b.rpc_address},
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

nlohmann::json cluster_status_json(const cluster_view& v) {
  auto j = cluster_status_to_json(v.status);
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
