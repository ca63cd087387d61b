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
#include "consensus/transport/peer_identity.h"
#include "consensus/transport/peer_link.h"
#include "consensus/transport/raft_transport.h"
#include "consensus/transport/tls_stream.h"
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

  // Builds the TLS context if configured, then binds the listener (blocking on this thread's
  // event loop); returns the bound port.
  std::expected<std::uint16_t, transport_error> bind();

  // Serves until `stop` resolves. Returning leaves pending work in place; the destructor
  // cancels it.
  void run(kj::Promise<void> stop);

  // Checks one received batch, which arrived on a connection authenticated as `auth`
  // (`certified` names the certificate's node, and its uuid if bound), and hands it to the Asio side. Returns the
  // refusal reason sent back to the peer, or an empty string if the batch was accepted. Never
  // throws.
  std::string accept(schemas::Batch::Reader batch, peer_auth auth, const certified_identity& certified);

 private:
  kj::Promise<void> accept_loop();
  // One accepted connection: plaintext, TLS, or (while plaintext is still accepted) whichever
  // its first byte announces (docs/transport.md "TLS").
  kj::Promise<void> serve(kj::AuthenticatedStream stream);
  kj::Promise<void> serve_tls(kj::AuthenticatedStream stream, std::string from);
  void serve_rpc(kj::Own<kj::AsyncIoStream> stream, peer_auth auth, certified_identity certified);
  void tls_refused(const std::string& from, const char* why);
  kj::Promise<void> wake_loop();
  peer_link& link_for(node_id peer);
  // The reason sent back names the field that did not match, never its value: the values are
  // the cluster's identity (issue 18); `detail` gets them for the local log only.
  std::expected<void, transport_error> check_identity(const batch_header& header,
                                                      std::string& detail);
  std::string refuse(const transport_error& error, node_id sender, const std::string& detail = {});
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
  log_limiter tls_log_;             // failed handshakes and certificate refusals
  std::uint32_t accept_delay_ms_ = 0;  // the wait before the next accept; 0 after a success
  link_env env_;  // refers to tasks_ below; only used once everything is constructed
  kj::Own<tls_material> tls_;  // set by bind() when cfg_.tls is; outlives every connection
  kj::Own<kj::ConnectionReceiver> listener_;
  // Declared before tasks_ so they outlive every promise that refers to them: members are
  // destroyed in reverse order, so tasks_ (and with it every call, connection and timer) goes
  // first, then the capability, then the peer links.
  std::unordered_map<std::uint64_t, kj::Own<peer_link>> peers_;
  kj::TaskSet tasks_;
};

}  // namespace chronik::consensus
