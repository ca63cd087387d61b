#include "consensus/transport/raft_transport.h"

#include <future>
#include <utility>

#include <kj/async-io.h>
#include <kj/common.h>

#include "consensus/transport/codec.h"
#include "consensus/transport/kj_side.h"
#include "consensus/transport/outbox.h"

namespace chronik::consensus {

// Handed from the KJ thread to start() once the listener is bound (or failed). Shared so the
// KJ thread never touches a promise object that start() has already destroyed.
struct raft_transport::bind_result {
  std::promise<std::expected<std::uint16_t, transport_error>> promise;
};

raft_transport::raft_transport(asio::io_context& io, transport_config cfg,
                               std::shared_ptr<spdlog::logger> log)
    : io_(io),
      cfg_(std::move(cfg)),
      log_(std::move(log)),
      handler_(std::make_shared<inbound_handler>()),
      bridge_(std::make_shared<transport_bridge>(cfg_)) {}

raft_transport::~raft_transport() { stop(); }

void raft_transport::on_receive(inbound_handler handler) { *handler_ = std::move(handler); }

std::expected<void, transport_error> raft_transport::start() {
  if (kj_thread_.joinable()) return {};
  if (auto ok = cfg_.validate(); !ok) return ok;
  bridge_->clear_stop();
  auto bound = std::make_shared<bind_result>();
  auto result = bound->promise.get_future();
  kj_thread_ = std::thread([this, bound] { kj_thread_main(bound); });
  // Binding a local socket does not wait on the network, so this returns promptly.
  auto port = result.get();
  if (!port) {
    kj_thread_.join();
    return std::unexpected(port.error());
  }
  port_.store(*port);
  log_->info("raft transport of node {} listening on port {}", cfg_.self.value(), *port);
  return {};
}

void raft_transport::stop() {
  if (!kj_thread_.joinable()) return;
  bridge_->request_stop();
  kj_thread_.join();
  port_.store(0);
}

std::uint16_t raft_transport::bound_port() const { return port_.load(); }

void raft_transport::set_peer(node_id peer, std::string address, std::string expected_uuid) {
  bridge_->set_peer(peer, std::move(address), std::move(expected_uuid));
}

void raft_transport::set_cluster_id(std::string cluster_id) {
  bridge_->set_cluster_id(std::move(cluster_id));
}

void raft_transport::peer_alive(node_id peer) { bridge_->peer_alive(peer); }

void raft_transport::send(node_id to, std::vector<group_message> items) {
  bridge_->push(to, std::move(items));
}

transport_counters raft_transport::counters() const { return bridge_->counters.snapshot(); }

void raft_transport::kj_thread_main(const std::shared_ptr<bind_result>& bound) {
  bool reported = false;
  try {
    auto io = kj::setupAsyncIo();
    // Cross-thread fulfillers must die before the event loop they point into.
    KJ_DEFER(bridge_->disarm());
    auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
    // Every KJ object is created, used and destroyed inside this scope, on this thread; leaving
    // it cancels calls in flight and closes every connection (docs/design.md "Shutdown order").
    kj_side side(io, cfg_, bridge_, log_, io_, handler_);
    auto port = side.bind();
    reported = true;
    if (!port) {
      bound->promise.set_value(std::unexpected(port.error()));
      return;
    }
    bridge_->arm_stop(kj::mv(stop.fulfiller));
    bound->promise.set_value(*port);
    side.run(kj::mv(stop.promise));
  } catch (const kj::Exception& e) {
    log_->error("raft transport KJ thread failed: {}", e.getDescription().cStr());
    if (!reported)
      bound->promise.set_value(std::unexpected(
          transport_error{transport_errc::bind_failed, e.getDescription().cStr()}));
  }
}

}  // namespace chronik::consensus
