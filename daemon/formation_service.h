// The shell around the bootstrap coordinator (metadata/core/bootstrap.h): on the Asio thread it
// feeds the coordinator the gossip view every gossip tick, and carries out its decisions in the
// order the contract demands: persist the formation state (fsync), then announce it in gossip
// metadata, then start, abandon or join the `__meta` group. It has no timer: the node's one tick
// loop (daemon/node.h) calls tick(now), and the coordinator ticks once per gossip tick_ms.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <chrono>
#include <spdlog/logger.h>

#include "daemon/config.h"
#include "daemon/node_clock.h"
#include "daemon/node_identity.h"
#include "gossip/net/gossip_node.h"
#include "metadata/core/bootstrap.h"

namespace chronik::daemon {

// What the owner does when the coordinator decides: start `__meta` with the initial voters,
// abandon a group that never formed, or ask a cluster to add this node.
struct formation_actions {
  std::function<void(const metadata::formation&)> start_group;
  std::function<void(const metadata::formation&)> abandon_group;
  std::function<void(const std::string& cluster_id)> join;
};

class formation_service {
 public:
  formation_service(gossip::gossip_node& gossip, const node_config& cfg, const node_uuid& uuid,
                    metadata::formation restored, formation_actions actions, std::shared_ptr<spdlog::logger> log);
  ~formation_service();  // stop()s
  formation_service(const formation_service&) = delete;
  formation_service& operator=(const formation_service&) = delete;

  // Acts on the restored state: re-announces it, and restarts a member's group (docs/bootstrap.md
  // property 3). The actions' targets must be started.
  void start();
  // Runs every coordinator tick due by `now` (steady clock, read once by the node's loop).
  void tick(std::chrono::steady_clock::time_point now);
  // No tick or action runs after it; idempotent.
  void stop();
  const metadata::formation& state() const { return core_.state(); }
  const std::string& joining() const { return joining_; }
  // The joining node is now listed in `__meta`'s configuration (meta_service saw it): it becomes
  // a member of `cluster_id` (persisted, then announced).
  void joined(const std::string& cluster_id, std::vector<metadata::node_ref> voters);
  // The node's WAL failed (true) or was reopened (false): announced in gossip metadata, so that
  // every node leaves it out of ISRs (docs/storage.md "Disk faults").
  void set_storage_failed(bool failed);

  // Bootstrap timings derived from the gossip preset (docs/config.md): the fresh set must be stable
  // for one gossip interval, and a founder waits ten probe intervals for every promise.
  static metadata::bootstrap_config bootstrap_timing(const node_config& cfg);

 private:
  void drain();
  void announce();
  std::vector<metadata::peer_view> view() const;

  gossip::gossip_node& gossip_;
  const node_config& cfg_;
  node_uuid uuid_;
  metadata::bootstrap core_;
  formation_actions actions_;
  std::shared_ptr<spdlog::logger> log_;
  std::string joining_;
  std::string announced_;
  bool storage_failed_ = false;
  bool started_ = false;
  bool stopped_ = false;
  periodic tick_;  // one coordinator tick per gossip tick_ms
};

}  // namespace chronik::daemon
