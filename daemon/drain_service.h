// Maintenance mode in chronik-server (docs/operations.md "Maintenance: drain"): the shell around
// metadata/leadership_drain.h's decisions. On the io thread, every 100 ms it
//  - sets the Raft host's campaign mode from `__meta` (reluctant while this node is drained), so
//    a new term's leader is another voter whenever one can win;
//  - while this node is drained, hands every group it leads (`__meta` and each partition) to the
//    voter drain_target picks, by Raft leadership transfer (dissertation §3.10), asking again for
//    a group after a second (a transfer that found no taker gives up after an election timeout).
// And it serves the admin endpoint's drain routes (any node answers for any node id):
//   POST /v1/nodes/<id>/drain, POST /v1/nodes/<id>/undrain
//        -> 202 {node_id, drained}: MetaSetBrokerDrained proposed (a follower forwards it); 404 for
//           a node id `__meta` does not list as a broker; 503 when `__meta` cannot take proposals
//   GET  /v1/nodes/<id>/drain
//        -> 200 {node_id, drained, partitions_led, meta_leader, leaderships, partitions}: what this
//           node's `__meta` replica shows: the drain flag, the partitions whose recorded leader is
//           <id> (up to 20 named as "topic-partition"), whether <id> leads `__meta`, their sum.
// `chronik-server node drain|undrain` (daemon/drain_command.h) is the client.
//
// Threading: tick() on the io thread; the route handlers run on admin HTTP threads and reach
// `__meta` only through admin_server::call_on_io.
#pragma once

#include <chrono>
#include <map>
#include <memory>

#include <spdlog/logger.h>

#include "base/node_id.h"
#include "daemon/admin_server.h"

namespace chronik::daemon {

class meta_service;
class node_raft;

class drain_service {
 public:
  // `meta` and `raft` must outlive the admin server's threads (the node declares them first).
  drain_service(meta_service& meta, node_raft& raft, admin_server& admin, chronik::node_id self,
                std::shared_ptr<spdlog::logger> log);
  void tick(std::chrono::steady_clock::time_point now);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;  // shared with the route handlers
};

}  // namespace chronik::daemon
