// The status page's server side (docs/operations.md "Status page"):
//   GET /ui               the page itself (daemon/status_page.h): open, it holds no data
//   GET /v1/partitions    every partition with its leader, replicas and ISR (daemon/status_json.h)
//   GET /v1/node-stats    per-node rates, led partitions' high watermarks and group lag; with
//                         ?scope=node this node's, otherwise every live member's
// and the rate history behind it: every sample_interval the io thread reads two byte counters
// (Produce received, Fetch sent) into a ring (daemon/rate_history.h).
//
// How the serving node learns the other nodes' figures: it asks their admin endpoints
// (/v1/node-stats?scope=node, its own admin token, addresses from gossip metadata), as keyring
// forwarding does, and only while someone looks at the page. Gossiping the figures would cost
// every node a metadata update per interval, page open or not; and the browser asking each node
// itself would need CORS and each node's admin address reachable from the browser.
//
// Threading: the handlers run on the admin server's HTTP threads and reach the Kafka service and
// gossip only through admin_server::call_on_io; members are asked in parallel, each bounded by
// connect and read timeouts shorter than the page's refresh.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "daemon/admin_server.h"
#include "daemon/kafka_service.h"
#include "gossip/net/gossip_node.h"

namespace chronik::daemon {

struct status_service_options {
  std::uint32_t node_id = 0;
  std::string uuid_hex;
  std::string admin_token;  // sent to the other members
  std::chrono::milliseconds sample_interval{5000};
  std::size_t samples = 121;  // 10 minutes of rates at the default interval
};

class status_service {
 public:
  // Registers the routes and the page on `admin` (before admin.start()). `gossip` and `kafka` are
  // touched on the io thread only, and must outlive the admin server's stop().
  status_service(admin_server& admin, gossip::gossip_node& gossip, kafka_service& kafka, status_service_options opts,
                 std::shared_ptr<spdlog::logger> log);
  // On the io thread, every loop tick: takes a sample when one is due.
  void tick(std::chrono::steady_clock::time_point now, std::chrono::system_clock::time_point wall_now);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace chronik::daemon
