// The /v1/cluster body (docs/operations.md "Reading the status"), built from plain copies that the
// node gathers on the io thread once its linearizable read of `__meta` has finished or failed.
// Pure: no I/O, no clock, so a unit test checks every field.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/meta_service.h"
#include "gossip/net/gossip_node.h"
#include "metadata/core/bootstrap.h"

namespace chronik::daemon {

struct cluster_view {
  cluster_status status;          // meta_service::status()
  bool linearizable = false;      // the ReadIndex round finished; otherwise a local read
  std::string state_hash;         // meta_service::state_hash()
  metadata::formation formation;  // this node's formation state
  std::string joining;            // the cluster this node asks to join, or empty
  std::vector<gossip::member_snapshot> members;  // gossip's member list, for "nodes"
  nlohmann::json load;            // meta_service::load_status()
};

// cluster_status_to_json's fields, then "read" ("linearizable" or "local"), "state_hash",
// "formation" (its text form), "joining" (only while joining), "nodes" (every member's formation
// state as gossip shows it) and "load".
nlohmann::json cluster_status_json(const cluster_view& v);

}  // namespace chronik::daemon
