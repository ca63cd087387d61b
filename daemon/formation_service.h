// The shell around the bootstrap coordinator (metadata/core/bootstrap.h): on the Asio thread it
// feeds the coordinator the gossip view every tick, and carries out its decisions in the order the
// contract demands: persist the formation state (fsync), then announce it in gossip metadata, then
// start, abandon or join the `__meta` group.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <spdlog/logger.h>

#include "daemon/config.h"
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
  formation_service(asio::io_context& io, gossip::gossip_node& gossip, const node_config& cfg, const node_uuid& uuid,
                    metadata::formation restored, formation_actions actions, std::shared_ptr<spdlog::logger> log);

  void start();
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
  void on_tick();
  void drain();
  void announce();
  std::vector<metadata::peer_view> view() const;

  asio::steady_timer timer_;
  gossip::gossip_node& gossip_;
  const node_config& cfg_;
  node_uuid uuid_;
  metadata::bootstrap core_;
  formation_actions actions_;
  std::shared_ptr<spdlog::logger> log_;
  std::string joining_;
  std::string announced_;
  bool storage_failed_ = false;
  bool stopped_ = false;
};

}  // namespace chronik::daemon
