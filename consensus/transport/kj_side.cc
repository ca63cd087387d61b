#include "consensus/transport/kj_side.h"

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
class inbound_service final : public schemas::RaftTransport::Server {
 public:
  explicit inbound_service(kj_side& owner) : owner_(owner) {}

  kj::Promise<void> deliver(DeliverContext context) override {
    std::string reason = owner_.accept(context.getParams().getBatch());
    // The decoded copy is on its way to Asio; free the received message now, not at return.
    context.releaseParams();
    auto results = context.getResults(capnp::MessageSize{8 + reason.size() / 8, 0});
    results.setAccepted(reason.empty());
    if (!reason.empty()) results.setReason(reason);
    return kj::READY_NOW;
  }

 private:
  kj_side& owner_;
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
      env_{cfg_, *bridge_, *log_, io.provider->getNetwork(), io.provider->getTimer(), tasks_,
           failure_log_, refusal_log_},
      bootstrap_(kj::heap<inbound_service>(*this)),
      tasks_(*this) {}

kj_side::~kj_side() = default;

std::expected<std::uint16_t, transport_error> kj_side::bind() {
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
  return kj::evalNow([this] { return listener_->accept(); }).then(
      [this](kj::Own<kj::AsyncIoStream>&& stream) {
        accept_delay_ms_ = 0;
        auto conn = kj::heap<inbound_connection>(kj::mv(stream), bootstrap_);
        auto closed = conn->network.onDisconnect();
        // The connection lives until its peer hangs up or the protocol fails (malformed bytes);
        // either way the error is logged by taskFailed and the listener carries on.
        tasks_.add(closed.attach(kj::mv(conn)));
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

kj::Promise<void> kj_side::wake_loop() {
  auto wake = kj::newPromiseAndCrossThreadFulfiller<void>();
  for (node_id peer : bridge_->arm_wake(kj::mv(wake.fulfiller))) link_for(peer).kick();
  return wake.promise.then([this] { return wake_loop(); });
}

peer_link& kj_side::link_for(node_id peer) {
  auto& slot = peers_[peer.value()];
  if (slot.get() == nullptr) slot = kj::heap<peer_link>(env_, peer);
  return *slot;
}

std::expected<void, transport_error> kj_side::check_identity(const batch_header& header) {
  auto mismatch = [](std::string text) {
    return std::unexpected(transport_error{transport_errc::identity_mismatch, std::move(text)});
  };
  if (header.protocol_version != transport_protocol_version)
    return mismatch("protocol version " + std::to_string(header.protocol_version) +
                    ", this node speaks " + std::to_string(transport_protocol_version));
  const std::string local = bridge_->cluster_id();
  if (!local.empty() && header.cluster_id != local)
    return mismatch("cluster_id " + printable(header.cluster_id) + " is not this node's " +
                    printable(local));
  const std::string expected = bridge_->expected_uuid(header.sender);
  if (!expected.empty() && header.node_uuid != expected)
    return mismatch("node " + std::to_string(header.sender.value()) + " has node_uuid " +
                    printable(expected) + ", not " + printable(header.node_uuid));
  return {};
}

std::string kj_side::refuse(const transport_error& error, node_id sender) {
  bump(bridge_->counters.refusals_sent);
  std::uint64_t suppressed = 0;
  if (inbound_refusal_log_.allow(suppressed))
    log_->warn("refused a batch from node {}: {}: {} ({} similar suppressed)", sender.value(),
               to_string(error.code), error.text, suppressed);
  return std::string(to_string(error.code)) + ": " + error.text;
}

std::string kj_side::accept(schemas::Batch::Reader batch) {
  auto decoded = decode_batch(batch, cfg_.self, cfg_.max_message_bytes);
  // A primitive field of an already-opened struct is read without following pointers, so this
  // cannot throw even for a batch that failed to decode; it only names the claimed sender.
  if (!decoded) return refuse(decoded.error(), node_id_from_u64(batch.getSenderNode()).value_or(no_node));
  const node_id sender = decoded->header.sender;
  if (auto ok = check_identity(decoded->header); !ok) return refuse(ok.error(), sender);
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
