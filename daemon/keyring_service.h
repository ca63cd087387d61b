// Online gossip key rotation over the admin endpoint (docs/security.md "Key rotation"):
//   GET  /v1/keyring                         every live node's keys (fingerprints only)
//   POST /v1/keyring/(install|use|remove)    {"key": "<base64>"}, applied on every live node
// Both answer one result per node (daemon/keyring_admin.h keyring_report): 200 when every node
// succeeded, 500 otherwise. With `?scope=node` a request touches this node only; that is what the
// receiving node sends to the other members' admin endpoints, with its own admin token (so every
// node needs the same one: a cluster-wide admin_token_file).
//
// This node's part runs on the io thread: the new keyring is written to the data dir first, then
// handed to the gossip node. A crash between the two leaves the file ahead of memory, and the
// restart loads the file: the state the request asked for. The other order could acknowledge a
// ring that a restart forgets.
//
// Threading: handlers run on the admin server's HTTP threads; they reach gossip only through
// admin_server::call_on_io, and ask the other nodes in parallel (at most fanout_parallelism at a
// time, each bounded by connect and read timeouts).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "daemon/admin_server.h"
#include "gossip/net/gossip_node.h"

namespace chronik::daemon {

struct keyring_service_options {
  std::uint32_t node_id = 0;
  std::string uuid_hex;
  std::filesystem::path data_dir;  // where gossip_keyring lives
  std::string admin_token;         // sent to the other members
};

class keyring_service {
 public:
  // Registers the routes on `admin` (before admin.start()). `gossip` is touched on the io thread
  // only, and must outlive the admin server's stop().
  keyring_service(admin_server& admin, gossip::gossip_node& gossip, keyring_service_options opts,
                  std::shared_ptr<spdlog::logger> log);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace chronik::daemon
