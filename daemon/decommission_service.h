// Decommission in chronik-server (docs/operations.md "Decommissioning a node"): the admin routes
// around metadata/decommission.h's rules. The work itself is the `__meta` leader's controller's
// (metadata/meta_controller.h: replica moves, removal from the configuration, the done record) and
// each partition leader's (the moves' membership changes); this shell only proposes the operator's
// record and reports progress. Any node answers for any node id:
//   POST /v1/nodes/<id>/decommission
//        -> 202 {node_id, state}: MetaSetBrokerDecommission(moving) proposed (a follower forwards
//           it); 409 {error} when the rule refuses it as this node's `__meta` replica sees the
//           state (too few brokers left for a topic's replicas, or already decommissioned); 404
//           for a node id `__meta` does not list; 503 when `__meta` cannot take proposals
//   POST /v1/nodes/<id>/decommission/cancel
//        -> the same, for MetaSetBrokerDecommission(none) while it is moving
//   GET  /v1/nodes/<id>/decommission
//        -> 200 {node_id, state, partitions_left, moving, stuck, leaderships, meta_member}: the
//           progress as this node's replica shows it (metadata::decommission_progress), and
//           meta_member "voter", "learner" or "none" from its view of the `__meta` configuration.
// `chronik-server node decommission` (daemon/decommission_command.h) is the client.
//
// Threading: the route handlers run on admin HTTP threads and reach `__meta` only through
// admin_server::call_on_io.
#pragma once

#include <memory>

#include <spdlog/logger.h>

#include "daemon/admin_server.h"

namespace chronik::daemon {

class meta_service;

class decommission_service {
 public:
  // `meta` must outlive the admin server's threads (the node declares it first).
  decommission_service(meta_service& meta, admin_server& admin, std::shared_ptr<spdlog::logger> log);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;  // shared with the route handlers
};

}  // namespace chronik::daemon
