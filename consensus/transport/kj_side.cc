#include "consensus/transport/kj_side.h"

#include <optional>
#include <utility>

#include <asio/post.hpp>
#include <capnp/rpc-twoparty.h>

namespace chronik::consensus {
namespace {

static_assert(capnp::ReaderOptions().traversalLimitInWords * sizeof(capnp::word) ==
                  traversal_limit_bytes,
              "docs/design.md \"Batching\" relies on Cap'n Proto's 64 MiB default traversal limit");

// Identity fields are opaque bytes; log them readably without letting a peer inject control
// characters into our log.
std::string printable(const std::string& bytes) {
  if (bytes.empty()) return "(none)";
  std::string out;
  static constexpr char hex[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xf]);
    }
  }
  return out;
}

// The RaftTransport capability every inbound connection bootstraps to.
// One per connection, so it knows which node (if any) the connection's certificate names.
class inbound_service final : public schemas::RaftTransport::Server {
 public:
  inbound_service(kj_side& owner, peer_auth auth, certified_identity certified)
      : owner_(owner), auth_(auth), certified_(std::move(certified)) {}

  kj::Promise<void> deliver(DeliverContext context) override {
    std::string reason = owner_.accept(context.getParams().getBatch(), auth_, certified_);
    // The decoded copy is on its way to Asio; free the received message now, not at return.
    context.releaseParams();
    auto results = context.getResults(capnp::MessageSize{8 + reason.size() / 8, 0});
    results.setAccepted(reason.empty());
    if (!reason.empty()) results.setReason(reason);
    return kj::READY_NOW;
  }

 private:
  kj_side& owner_;
  peer_auth auth_;
  certified_identity certified_;
};

// One accepted connection: the RPC system serving the bootstrap capability over the socket.
struct inbound_connection {
  kj::Own<kj::AsyncIoStream> stream;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;

  inbound_connection(kj::Own<kj::AsyncIoStream> s, capnp::Capability::Client bootstrap)
      : stream(kj::mv(s)),
        // Explicit options rather than TwoPartyServer's implicit ones: the traversal limit is
        // part of our wire contract (codec.h).
        network(*stream, capnp::rpc::twoparty::Side::SERVER,
                capnp::ReaderOptions{traversal_limit_bytes / sizeof(capnp::word), 64}),
        rpc(capnp::makeRpcServer(network, kj::mv(bootstrap))) {}
};

}  // namespace

kj_side::kj_side(kj::AsyncIoContext& io, const transport_config& cfg,
                 std::shared_ptr<transport_bridge> bridge, std::shared_ptr<spdlog::logger> log,
                 asio::io_context& asio, std::shared_ptr<inbound_handler> handler)
    : io_(io),
      cfg_(cfg),
      bridge_(std::move(bridge)),
      log_(std::move(log)),
      asio_(asio),
      handler_(std::move(handler)),
      failure_log_(cfg.refusal_log_interval_ms),
      refusal_log_(cfg.refusal_log_interval_ms),
      inbound_refusal_log_(cfg.refusal_log_interval_ms),
      tls_log_(cfg.refusal_log_interval_ms),
      env_{cfg_, *bridge_, *log_, io.provider->getNetwork(), io.provider->getTimer(), tasks_,
           failure_log_, refusal_log_},
      tasks_(*this) {}

kj_side::~kj_side() = default;

std::expected<std::uint16_t, transport_error> kj_side::bind() {
  if (cfg_.tls) {
    auto material = make_tls_material(*cfg_.tls);
    if (!material) return std::unexpected(material.error());
    tls_ = kj::mv(*material);
    if (cfg_.tls->verify_outgoing) env_.tls = tls_->context.get();
  }
  try {
    auto address = io_.provider->getNetwork().parseAddress(cfg_.listen_address).wait(io_.waitScope);
    listener_ = address->listen();
    return static_cast<std::uint16_t>(listener_->getPort());
  } catch (const kj::Exception& e) {
    return std::unexpected(transport_error{
        transport_errc::bind_failed,
        "listen_address " + cfg_.listen_address + ": " + e.getDescription().cStr()});
  }
}

void kj_side::run(kj::Promise<void> stop) {
  tasks_.add(accept_loop());
  tasks_.add(wake_loop());
  stop.wait(io_.waitScope);
}

kj::Promise<void> kj_side::accept_loop() {
  // accept() throws synchronously when the syscall fails; evalNow turns that into a rejected
  // promise, so that the error branch below sees it.
  return kj::evalNow([this] { return listener_->acceptAuthenticated(); }).then(
      [this](kj::AuthenticatedStream&& stream) {
        accept_delay_ms_ = 0;
        // The handshake (if any) runs on its own, so a slow or silent client never holds the
        // accept loop.
        tasks_.add(serve(kj::mv(stream)));
        return accept_loop();
      },
      [this](kj::Exception&& e) -> kj::Promise<void> {
        // kj retries only the errors of an already-broken connection inside accept(); anything
        // else (EMFILE, ENFILE, ENOBUFS) throws, which used to end this loop: the node stopped
        // accepting Raft connections for good. Wait 10 ms doubling to 1 s instead, and log at
        // most one line per second (docs/transport.md "Listener").
        accept_delay_ms_ = accept_delay_ms_ == 0 ? 10 : std::min<std::uint32_t>(accept_delay_ms_ * 2, 1000);
        bump(bridge_->counters.accept_errors);
        std::uint64_t suppressed = 0;
        if (accept_log_.allow(suppressed))
          log_->warn("raft transport: accept failed: {}; retrying in {} ms ({} similar suppressed)",
                     e.getDescription().cStr(), accept_delay_ms_, suppressed);
        return io_.provider->getTimer().afterDelay(accept_delay_ms_ * kj::MILLISECONDS).then([this] {
          return accept_loop();
        });
      });
}

kj::Promise<void> kj_side::serve(kj::AuthenticatedStream stream) {
  if (!tls_) {
    serve_rpc(kj::mv(stream.stream), peer_auth::plaintext, {});
    return kj::READY_NOW;
  }
  std::string from = stream.peerIdentity->toString().cStr();
  if (cfg_.tls->verify_incoming) return serve_tls(kj::mv(stream), kj::mv(from));
  // Rolling switch-on: plaintext is still served, so look at the first byte (tls_stream.h).
  auto first = kj::heapArray<kj::byte>(1);
  auto read = stream.stream->tryRead(first.begin(), 1, 1);
  const auto timeout = cfg_.tls_handshake_timeout_ms * kj::MILLISECONDS;
  return io_.provider->getTimer()
      .timeoutAfter(timeout, kj::mv(read))
      .then([this, stream = kj::mv(stream), first = kj::mv(first),
             from = kj::mv(from)](size_t n) mutable -> kj::Promise<void> {
        if (n == 0) return kj::READY_NOW;  // hung up before a byte
        stream.stream = kj::heap<prefixed_stream>(kj::mv(stream.stream), first[0]);
        if (first[0] == tls_handshake_record_type) return serve_tls(kj::mv(stream), kj::mv(from));
        bump(bridge_->counters.plaintext_connections);
        serve_rpc(kj::mv(stream.stream), peer_auth::plaintext, {});
        return kj::READY_NOW;
      });
}

kj::Promise<void> kj_side::serve_tls(kj::AuthenticatedStream stream, std::string from) {
  const auto timeout = cfg_.tls_handshake_timeout_ms * kj::MILLISECONDS;
  // kj::TlsContext checks the chain to the cluster CA and requires a client certificate
  // (verifyClients); a connection without one, with one from another CA, or that does not
  // speak TLS fails here and never reaches the RPC system.
  auto handshake = kj::evalNow([&] { return tls_->context->wrapServer(kj::mv(stream)); });
  return io_.provider->getTimer()
      .timeoutAfter(timeout, kj::mv(handshake))
      .then(
          [this, from](kj::AuthenticatedStream&& secured) {
            auto* identity = dynamic_cast<kj::TlsPeerIdentity*>(secured.peerIdentity.get());
            if (identity == nullptr || !identity->hasCertificate())
              return tls_refused(from, "no client certificate");
            std::optional<certified_identity> certified;
            try {
              certified = identity_from_certificate_name(identity->getCommonName().cStr());
            } catch (const kj::Exception&) {
              certified = std::nullopt;  // a certificate without a common name
            }
            if (!certified) return tls_refused(from, "the certificate's common name names no node");
            bump(bridge_->counters.tls_connections);
            serve_rpc(kj::heap<coalescing_stream>(kj::mv(secured.stream)), peer_auth::authenticated,
                      std::move(*certified));
          },
          [this, from](kj::Exception&& e) {
            tls_refused(from, e.getDescription().cStr());
          });
}

void kj_side::tls_refused(const std::string& from, const char* why) {
  bump(bridge_->counters.tls_handshake_failures);
  std::uint64_t suppressed = 0;
  if (tls_log_.allow(suppressed))
    log_->warn("raft transport: refused a connection from {}: TLS: {} ({} similar suppressed)",
               from, why, suppressed);
}

void kj_side::serve_rpc(kj::Own<kj::AsyncIoStream> stream, peer_auth auth, certified_identity certified) {
  auto conn = kj::heap<inbound_connection>(kj::mv(stream),
                                           kj::heap<inbound_service>(*this, auth, std::move(certified)));
  auto closed = conn->network.onDisconnect();
  // The connection lives until its peer hangs up or the protocol fails (malformed bytes);
  // either way the error is logged by taskFailed and the listener carries on.
  tasks_.add(closed.attach(kj::mv(conn)));
}

kj::Promise<void> kj_side::wake_loop() {
  auto wake = kj::newPromiseAndCrossThreadFulfiller<void>();
  for (node_id peer : bridge_->arm_wake(kj::mv(wake.fulfiller))) {
    peer_link& link = link_for(peer);
    if (bridge_->take_alive(peer)) link.end_backoff();
    link.kick();
  }
  return wake.promise.then([this] { return wake_loop(); });
}

peer_link& kj_side::link_for(node_id peer) {
  auto& slot = peers_[peer.value()];
  if (slot.get() == nullptr) slot = kj::heap<peer_link>(env_, peer);
  return *slot;
}

std::expected<void, transport_error> kj_side::check_identity(const batch_header& header,
                                                             std::string& detail) {
  auto mismatch = [&detail](std::string sent, std::string local) {
    detail = std::move(local);
    return std::unexpected(transport_error{transport_errc::identity_mismatch, std::move(sent)});
  };
  if (header.protocol_version != transport_protocol_version)
    return mismatch("protocol version " + std::to_string(header.protocol_version) +
                        ", this node speaks " + std::to_string(transport_protocol_version),
                    {});
  const std::string local = bridge_->cluster_id();
  if (!local.empty() && header.cluster_id != local)
    return mismatch("cluster_id does not match this node's",
                    "cluster_id " + printable(header.cluster_id) + " is not this node's " +
                        printable(local));
  const std::string expected = bridge_->expected_uuid(header.sender);
  if (!expected.empty() && header.node_uuid != expected)
    return mismatch("node_uuid is not the one this cluster knows for the sender",
                    "node " + std::to_string(header.sender.value()) + " has node_uuid " +
                        printable(expected) + ", not " + printable(header.node_uuid));
  return {};
}

std::string kj_side::refuse(const transport_error& error, node_id sender, const std::string& detail) {
  bump(bridge_->counters.refusals_sent);
  std::uint64_t suppressed = 0;
  if (inbound_refusal_log_.allow(suppressed))
    log_->warn("refused a batch from node {}: {}: {} ({} similar suppressed)", sender.value(),
               to_string(error.code), detail.empty() ? error.text : detail, suppressed);
  return std::string(to_string(error.code)) + ": " + error.text;
}

std::string kj_side::accept(schemas::Batch::Reader batch, peer_auth auth, const certified_identity& certified) {
  auto decoded = decode_batch(batch, cfg_.self, cfg_.max_message_bytes);
  // A primitive field of an already-opened struct is read without following pointers, so this
  // cannot throw even for a batch that failed to decode; it only names the claimed sender.
  if (!decoded) return refuse(decoded.error(), node_id_from_u64(batch.getSenderNode()).value_or(no_node));
  const node_id sender = decoded->header.sender;
  // Before anything else about the batch: a certificate speaks for one node (and, if it binds
  // one, one node_uuid) only. The codec has already tied every message's `from` to the sender.
  switch (check_sender(auth, certified, sender, decoded->header.node_uuid)) {
    case sender_verdict::accept:
      break;
    case sender_verdict::claim_mismatch:
      bump(bridge_->counters.tls_identity_refusals);
      return refuse({transport_errc::identity_mismatch, "the sender is not the node its certificate names"},
                    sender,
                    "the batch claims node " + std::to_string(sender.value()) +
                        " but the connection's certificate names node " +
                        std::to_string(certified.node.value()));
    case sender_verdict::uuid_mismatch:
      bump(bridge_->counters.tls_identity_refusals);
      return refuse({transport_errc::identity_mismatch, "the sender's node_uuid is not the one its certificate binds"},
                    sender,
                    "the batch claims node_uuid " + printable(decoded->header.node_uuid) +
                        " but the connection's certificate binds " + printable(certified.node_uuid));
  }
  std::string detail;
  if (auto ok = check_identity(decoded->header, detail); !ok) return refuse(ok.error(), sender, detail);
  if (bridge_->inbound_pending.load() >= cfg_.inbound_max_pending_batches)
    return refuse({transport_errc::oversized, "receiver busy: inbound queue full"}, sender);
  bump(bridge_->counters.batches_received);
  bump(bridge_->counters.messages_received, decoded->messages.size());
  bridge_->inbound_pending.fetch_add(1);
  inbound_batch out{sender, std::move(decoded->header.node_uuid),
                    std::move(decoded->header.cluster_id), std::move(decoded->messages)};
  // Plain structs only cross to Asio (docs/design.md "Threads"); the shared_ptrs keep the handler
  // and the pending counter alive even if the transport is destroyed before the io_context runs
  // this.
  asio::post(asio_, [handler = handler_, bridge = bridge_, batch = std::move(out)]() mutable {
    bridge->inbound_pending.fetch_sub(1);
    if (*handler) (*handler)(std::move(batch));
  });
  return {};
}

void kj_side::taskFailed(kj::Exception&& exception) {
  // Reached by inbound connections that end badly (peer reset, malformed bytes) and by bugs;
  // outbound failures are handled in peer_link. Never rethrown: one bad peer must not stop the
  // loop.
  std::uint64_t suppressed = 0;
  if (failure_log_.allow(suppressed))
    log_->info("rpc connection ended: {} ({} similar suppressed)",
               exception.getDescription().cStr(), suppressed);
}

}  // namespace chronik::consensus
