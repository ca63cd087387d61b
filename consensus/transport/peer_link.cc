#include "consensus/transport/peer_link.h"

#include <algorithm>
#include <vector>

#include "consensus/transport/codec.h"

namespace chronik::consensus {

bool log_limiter::allow(std::uint64_t& suppressed) {
  const auto now = std::chrono::steady_clock::now();
  if (last_ != std::chrono::steady_clock::time_point{} && now - last_ < interval_) {
    ++suppressed_;
    return false;
  }
  last_ = now;
  suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

// Member order is destruction order reversed: the capability goes first, then the RPC system
// that served it, then the socket under both.
struct peer_link::connection {
  kj::Own<kj::AsyncIoStream> stream;
  capnp::TwoPartyClient client;
  schemas::RaftTransport::Client cap;

  explicit connection(kj::Own<kj::AsyncIoStream> s)
      : stream(kj::mv(s)),
        client(*stream),
        cap(client.bootstrap().castAs<schemas::RaftTransport>()) {}
};

peer_link::peer_link(link_env& env, node_id peer)
    : env_(env), peer_(peer), backoff_ms_(env.cfg.reconnect_backoff_min_ms) {}

peer_link::~peer_link() = default;

void peer_link::kick() {
  if (state_ != link_state::idle) return;
  const std::string address = env_.bridge.peer_address(peer_);
  if (conn_.get() != nullptr && address != address_) drop_connection();
  if (address.empty() || !env_.bridge.has_pending(peer_)) return;
  if (conn_.get() == nullptr) {
    address_ = address;
    connect();
    return;
  }
  call();
}

void peer_link::connect() {
  state_ = link_state::connecting;
  if (failures_ > 0) bump(env_.bridge.counters.reconnects);
  auto connecting = env_.network.parseAddress(address_).then(
      [](kj::Own<kj::NetworkAddress> addr) { return addr->connect().attach(kj::mv(addr)); });
  // A silent host (SYN dropped, paused process) must not hold the link for long.
  const auto timeout = env_.cfg.call_timeout_ms * kj::MILLISECONDS;
  env_.tasks.add(env_.timer.timeoutAfter(timeout, kj::mv(connecting))
                     .then([this](kj::Own<kj::AsyncIoStream> stream) {
                       on_connected(kj::mv(stream));
                     },
                           [this](kj::Exception&& e) {
                             bump(env_.bridge.counters.connect_failures);
                             on_failure("connect", e, 0);
                           }));
}

void peer_link::on_connected(kj::Own<kj::AsyncIoStream> stream) {
  conn_ = kj::heap<connection>(kj::mv(stream));
  bump(env_.bridge.counters.connects);
  state_ = link_state::idle;
  kick();
}

void peer_link::call() {
  std::vector<group_message> items;
  const std::size_t count = env_.bridge.take_batch(peer_, env_.cfg.max_batch_bytes, items);
  if (count == 0) return;
  state_ = link_state::calling;
  auto request = conn_->cap.deliverRequest();
  auto batch = request.initBatch();
  const batch_header header{transport_protocol_version, env_.bridge.cluster_id(),
                            env_.cfg.node_uuid, env_.cfg.self};
  encode_batch(batch, header, items, peer_);
  const std::size_t coalesced = batch.getHeartbeats().size();
  items = {};  // the request holds its own copy; free ours before the call is on the wire
  const auto timeout = env_.cfg.call_timeout_ms * kj::MILLISECONDS;
  env_.tasks.add(
      env_.timer.timeoutAfter(timeout, request.send())
          .then(
              [this, count, coalesced](
                  capnp::Response<schemas::RaftTransport::DeliverResults>&& reply) {
                if (reply.getAccepted())
                  bump(env_.bridge.counters.heartbeats_coalesced_sent, coalesced);
                on_reply(reply.getAccepted(), reply.getReason().cStr(), count);
              },
              [this, count](kj::Exception&& e) {
                bump(env_.bridge.counters.call_failures);
                on_failure("call", e, count);
              }));
}

void peer_link::on_reply(bool accepted, std::string_view reason, std::size_t count) {
  state_ = link_state::idle;
  failures_ = 0;
  backoff_ms_ = env_.cfg.reconnect_backoff_min_ms;
  bump(env_.bridge.counters.batches_sent);
  if (accepted) {
    bump(env_.bridge.counters.messages_sent, count);
  } else {
    // The peer is reachable but will not take our traffic (other cluster, other uuid, version
    // skew, or busy); Raft retries, so the batch is simply lost, loudly.
    bump(env_.bridge.counters.refusals_received);
    bump(env_.bridge.counters.drops_failed, count);
    std::uint64_t suppressed = 0;
    if (env_.refusal_log.allow(suppressed))
      env_.log.warn("node {} at {} refused a batch of {} messages: {} ({} similar suppressed)",
                    peer_.value(), address_, count, reason, suppressed);
  }
  kick();
}

void peer_link::on_failure(std::string_view what, const kj::Exception& e, std::size_t lost) {
  // Everything queued behind a failed call is stale by the time the peer is back; Raft resends
  // what still matters (heartbeats, probes), so dropping keeps a dead peer from costing memory.
  lost += env_.bridge.drop_queued(peer_);
  if (lost > 0) bump(env_.bridge.counters.drops_failed, lost);
  std::uint64_t suppressed = 0;
  if (env_.failure_log.allow(suppressed))
    env_.log.info("{} to node {} at {} failed, retry in {} ms, {} messages dropped: {} ({} "
                  "similar suppressed)",
                  what, peer_.value(), address_, backoff_ms_, lost,
                  e.getDescription().cStr(), suppressed);
  drop_connection();
  ++failures_;
  state_ = link_state::backing_off;
  const auto delay = backoff_ms_ * kj::MILLISECONDS;
  backoff_ms_ = std::min(backoff_ms_ * 2, env_.cfg.reconnect_backoff_max_ms);
  env_.tasks.add(env_.timer.afterDelay(delay).then([this] {
    state_ = link_state::idle;
    kick();
  }));
}

void peer_link::drop_connection() {
  if (conn_.get() == nullptr) return;
  // We may be inside a continuation the RPC system is still running for this connection;
  // destroying it on the next turn of the event loop keeps its stack frames valid.
  env_.tasks.add(kj::evalLater([dead = kj::mv(conn_)]() mutable { dead = nullptr; }));
}

}  // namespace chronik::consensus
