// Everything that lives on the KJ thread (internal to consensus/transport): the event loop's
// listener, the inbound RPC connections, the outbound peer links, and the task set that owns
// every pending promise. Constructed, run and destroyed on the KJ thread only.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <unordered_map>

#include <asio/io_context.hpp>
#include <capnp/capability.h>
#include <kj/async-io.h>
#include <spdlog/logger.h>

#include "consensus/transport/codec.h"
#include "consensus/transport/outbox.h"
#include "consensus/transport/peer_link.h"
#include "consensus/transport/raft_transport.h"
#include "consensus/transport/transport_config.h"

namespace chronik::consensus {

class kj_side final : private kj::TaskSet::ErrorHandler {
 public:
  kj_side(kj::AsyncIoContext& io, const transport_config& cfg,
          std::shared_ptr<transport_bridge> bridge, std::shared_ptr<spdlog::logger> log,
          asio::io_context& asio, std::shared_ptr<inbound_handler> handler);
  ~kj_side();
  kj_side(const kj_side&) = delete;
  kj_side& operator=(const kj_side&) = delete;

  // Binds the listener (blocking on this thread's event loop); returns the bound port.
  std::expected<std::uint16_t, transport_error> bind();

  // Serves until `stop` resolves. Returning leaves pending work in place; the destructor
  // cancels it.
  void run(kj::Promise<void> stop);

  // Checks one received batch and hands it to the Asio side. Returns the refusal reason, or an
  // empty string if the batch was accepted. Never throws.
  std::string accept(schemas::Batch::Reader batch);

 private:
  kj::Promise<void> accept_loop();
  kj::Promise<void> wake_loop();
  peer_link& link_for(node_id peer);
  std::expected<void, transport_error> check_identity(const batch_header& header);
  std::string refuse(const transport_error& error, node_id sender);
  void taskFailed(kj::Exception&& exception) override;

  kj::AsyncIoContext& io_;
  const transport_config& cfg_;
  std::shared_ptr<transport_bridge> bridge_;
  std::shared_ptr<spdlog::logger> log_;
  asio::io_context& asio_;
  std::shared_ptr<inbound_handler> handler_;
  log_limiter failure_log_;
  log_limiter refusal_log_;
  log_limiter inbound_refusal_log_;
  log_limiter accept_log_{1000};    // failed accepts: one line per second
  std::uint32_t accept_delay_ms_ = 0;  // the wait before the next accept; 0 after a success
  link_env env_;  // refers to tasks_ below; only used once everything is constructed
  kj::Own<kj::ConnectionReceiver> listener_;
  // Declared before tasks_ so they outlive every promise that refers to them: members are
  // destroyed in reverse order, so tasks_ (and with it every call, connection and timer) goes
  // first, then the capability, then the peer links.
  std::unordered_map<std::uint64_t, kj::Own<peer_link>> peers_;
  capnp::Capability::Client bootstrap_;
  kj::TaskSet tasks_;
};

}  // namespace chronik::consensus
