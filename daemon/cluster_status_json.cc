#include "daemon/cluster_status_json.h"

#include "daemon/admin_server.h"
#include "metadata/core/formation_codec.h"

namespace chronik::daemon {

nlohmann::json cluster_status_json(const cluster_view& v) {
  auto j = cluster_status_to_json(v.status);
  j["read"] = v.linearizable ? "linearizable" : "local";
  j["state_hash"] = v.state_hash;
  j["formation"] = metadata::encode_formation(v.formation);
  if (!v.joining.empty()) j["joining"] = v.joining;
  j["nodes"] = formation_of_members(v.members);
  j["load"] = v.load;
  return j;
}

}  // namespace chronik::daemon
