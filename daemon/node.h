// One chronik node (docs/architecture.md "The node"): the single owner of everything a running
// chronik-server holds, so that there is one start order, one tick loop and one shutdown path.
//
// Members are declared in dependency order, and that order is the whole life cycle:
//   - the constructor builds them in that order and wires their callbacks; nothing starts yet;
//   - start() starts them in that order, and stops at the first error;
//   - the destructor stops them in the reverse order, the only shutdown path there is: after a
//     signal's leave, an id conflict, lost storage, or a start() that failed half way (members that
//     never started stop as a no-op).
//
// The tick loop: one steady timer. Each tick reads the clocks once (steady, and wall time for
// gossip's member ages) and hands `now` to every service's tick(now); each service keeps its own
// period on the loop's grid (daemon/node_clock.h).
//
// The Raft host is the node's (node_raft), lent by reference to `__meta` and the Kafka service;
// replace_host() is the one place it is replaced.
// The loop's period is the greatest common divisor of the gossip tick_ms and the Raft tick
// (meta_timing), so every service's period is a whole number of loop periods.
//
// Threading: everything but the threads the members own (KJ, disk, validator, admin HTTP) runs
// on the one io thread that run() drives.
#pragma once

#include <chrono>
#include <expected>
#include <memory>
#include <optional>
#include <string>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <spdlog/logger.h>

#include "daemon/admin_server.h"
#include "daemon/config.h"
#include "daemon/config_reload.h"
#include "daemon/decommission_service.h"
#include "daemon/drain_service.h"
#include "daemon/formation_service.h"
#include "daemon/kafka_service.h"
#include "daemon/keyring_service.h"
#include "daemon/meta_service.h"
#include "daemon/node_clock.h"
#include "daemon/node_identity.h"
#include "daemon/node_raft.h"
#include "daemon/status_service.h"
#include "daemon/systemd_notify.h"
#include "gossip/net/gossip_node.h"
#include "metadata/core/bootstrap.h"

namespace chronik::daemon {

// chronik-server's exit codes (daemon/main.cc, docs/operations.md).
enum class exit_code : int {
  ok = 0,
  failure = 1,        // cannot bind, corrupt data dir, admin unreachable
  usage_or_id = 2,    // bad command line or configuration; or the node id is held by a live node
  storage_lost = 3,   // the WAL could not be reopened after a disk fault
};

class node {
 public:
  // `cfg` must outlive the node. `restored`: the formation state read from the data directory.
  // `gossip_keys`: the data dir's gossip keyring (daemon/gossip_keyring_store.h); none: plaintext.
  // `admin_token`: the bearer token of the admin endpoint (daemon/admin_token.h).
  // `reloader`: how a SIGHUP loads the configuration again (daemon/config_reload.h).
  node(const node_config& cfg, const node_uuid& uuid, metadata::formation restored,
       std::optional<gossip::keyring> gossip_keys, std::string admin_token, config_reloader reloader);
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // Starts the members in declaration order; the error is one log-ready line. After an error the
  // node is only destroyed.
  std::expected<void, std::string> start();
  // Runs the io thread until the node is done: a signal's leave was gossiped (or a second signal
  // came), another live node holds our id, or storage was lost. Returns the exit code.
  exit_code run();

 private:
  void arm_tick();
  void on_tick();
  void on_signal(const asio::error_code& ec, int sig);
  void reload_config();
  void serve_cluster(admin_server::cluster_reply reply);
  // /metrics and /ready, on the io thread (daemon/node_metrics_source.cc).
  std::string metrics_text() const;
  void check_ready(admin_server::ready_reply reply);
  std::expected<void, std::string> replace_host(bool discard_state);
  void finish(exit_code code);

  const node_config& cfg_;
  node_uuid uuid_;
  std::shared_ptr<spdlog::logger> log_;
  exit_code exit_ = exit_code::ok;
  bool leaving_ = false;
  config_reloader reloader_;
  log_level level_;  // in effect: cfg_.level until a SIGHUP reloads another
  std::map<std::string, log_level, std::less<>> module_levels_;  // likewise for [log_levels]
  // READY=1, RELOADING=1, STOPPING=1 to systemd when it runs the node (daemon/systemd_notify.h).
  systemd_notifier notify_;

  // Dependency order = start order; the reverse is the shutdown order. The io_context goes last,
  // after every member that posts to it or holds its timers and sockets (docs/design.md
  // "Shutdown order"). The Raft transport and host come next: they stop after every group on them
  // (the host joins its disk thread, then the transport its KJ thread). The formation service
  // comes after `__meta`, which its decisions start, abandon or join; the Kafka service answers
  // from `__meta`; the admin endpoint reads them all and goes first, so pending requests end with
  // 503 while the rest is still whole.
  asio::io_context io_{1};
  node_raft raft_;
  gossip::gossip_node gossip_;
  meta_service meta_;
  formation_service formation_;
  kafka_service kafka_;
  admin_server admin_;
  // Routes on admin_ that reach gossip_ on the io thread (online key rotation).
  keyring_service keyring_;
  drain_service drain_;  // maintenance mode: routes on admin_, transfers on the host
  status_service status_;  // the status page and its rates: routes on admin_, samples on the tick
  decommission_service decommission_;  // routes on admin_; the work is the `__meta` controller's
  // The one tick loop, and the signals (SIGINT and SIGTERM leave, SIGHUP reloads); both stop
  // before any service does.
  periodic loop_;
  asio::steady_timer tick_timer_;
  asio::signal_set signals_;
};

// `chronik-server start` after its configuration loaded: takes the data directory's lock, reads
// or creates the node uuid and the formation state, then builds, starts and runs the node.
exit_code run_node(const node_config& cfg, config_reloader reloader);

}  // namespace chronik::daemon
