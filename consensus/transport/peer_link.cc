#include "consensus/transport/peer_link.h"

#include <algorithm>
#include <vector>

#include "base/assert.h"
#include "consensus/transport/codec.h"
#include "consensus/transport/peer_identity.h"
#include "consensus/transport/tls_stream.h"

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
  if (state_ != link_state::ready) return;
  const std::string address = env_.bridge.peer_address(peer_);
  if (conn_.get() != nullptr && address != address_) drop_connection();
  if (address.empty() || !env_.bridge.has_pending(peer_)) return;
  if (conn_.get() == nullptr) {
    address_ = address;
    connect();
    return;
  }
  // Bounded by max_calls_in_flight: each call() that sends raises in_flight_.
  while (in_flight_ < env_.cfg.max_calls_in_flight && call()) {
  }
}

void peer_link::connect() {
  state_ = link_state::connecting;
  if (failures_ > 0) bump(env_.bridge.counters.reconnects);
  kj::Promise<kj::Own<kj::AsyncIoStream>> connecting = env_.network.parseAddress(address_).then(
      [](kj::Own<kj::NetworkAddress> addr) { return addr->connect().attach(kj::mv(addr)); });
  if (env_.tls != nullptr) {
    // The handshake checks the peer's chain to the cluster CA and that its certificate names the
    // node dialled (peer_identity.h): an address that now answers for another node, or for no
    // node of ours, never gets a batch.
    connecting = connecting.then([tls = env_.tls, name = node_host_name(peer_)](
                                     kj::Own<kj::AsyncIoStream> stream) {
      auto host = kj::heapString(name.c_str());
      auto secured = tls->wrapClient(kj::mv(stream), host).then([](kj::Own<kj::AsyncIoStream> s) {
        return kj::Own<kj::AsyncIoStream>(kj::heap<coalescing_stream>(kj::mv(s)));
      });
      return secured.attach(kj::mv(host));
    });
  }
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
  state_ = link_state::ready;
  kick();
}

bool peer_link::call() {
  // The bytes in flight stay within one batch (a single message above the room still travels,
  // as it would alone): a call queued behind others on the connection then never waits for
  // more than one batch ahead of it, as with one call in flight, so call_timeout_ms keeps its
  // meaning on a slow link and a deep queue goes out in full-size batches.
  if (in_flight_bytes_ >= env_.cfg.max_batch_bytes) return false;
  std::vector<group_message> items;
  const std::size_t count =
      env_.bridge.take_batch(peer_, env_.cfg.max_batch_bytes - in_flight_bytes_, items);
  if (count == 0) return false;
  std::size_t bytes = 0;
  for (const auto& item : items) bytes += estimate_bytes(item.msg);
  auto request = conn_->cap.deliverRequest();
  auto batch = request.initBatch();
  const batch_header header{transport_protocol_version, env_.bridge.cluster_id(),
                            env_.cfg.node_uuid, env_.cfg.self};
  encode_batch(batch, header, items, peer_);
  const call_info info{generation_, count, batch.getHeartbeats().size(), bytes};
  items = {};  // the request holds its own copy; free ours before the call is on the wire
  ++in_flight_;
  in_flight_bytes_ += bytes;
  CHRONIK_ASSERT(in_flight_ <= env_.cfg.max_calls_in_flight,
                 "peer_link: calls in flight above the bound");
  // Calls on one connection are delivered in the order sent (Cap'n Proto's E-order), so the
  // peer sees batch k before batch k+1 even with both in flight (docs/transport.md "Ordering
  // guarantee"). Raft would tolerate reordering; keeping order spares it rejected appends.
  const auto timeout = call_deadline_ms(env_.cfg, in_flight_bytes_) * kj::MILLISECONDS;
  env_.tasks.add(
      env_.timer.timeoutAfter(timeout, request.send())
          .then(
              [this, info](capnp::Response<schemas::RaftTransport::DeliverResults>&& reply) {
                on_reply(info, reply.getAccepted(), reply.getReason().cStr());
              },
              [this, info](kj::Exception&& e) { on_call_failed(info, e); }));
  return true;
}

void peer_link::on_reply(const call_info& call, bool accepted, std::string_view reason) {
  // Counted whatever the generation: the peer did answer this batch.
  bump(env_.bridge.counters.batches_sent);
  if (accepted) {
    bump(env_.bridge.counters.messages_sent, call.count);
    bump(env_.bridge.counters.heartbeats_coalesced_sent, call.coalesced);
  } else {
    // The peer is reachable but will not take our traffic (other cluster, other uuid, version
    // skew, or busy); Raft retries, so the batch is simply lost, loudly.
    bump(env_.bridge.counters.refusals_received);
    bump(env_.bridge.counters.drops_failed, call.count);
    std::uint64_t suppressed = 0;
    if (env_.refusal_log.allow(suppressed))
      env_.log.warn("node {} at {} refused a batch of {} messages: {} ({} similar suppressed)",
                    peer_.value(), address_, call.count, reason, suppressed);
  }
  // A reply from a connection already dropped says nothing about the current one.
  if (call.generation != generation_) return;
  CHRONIK_ASSERT(in_flight_ > 0 && in_flight_bytes_ >= call.bytes,
                 "peer_link: a reply for more than is in flight");
  --in_flight_;
  in_flight_bytes_ -= call.bytes;
  failures_ = 0;
  backoff_ms_ = env_.cfg.reconnect_backoff_min_ms;
  kick();
}

void peer_link::on_call_failed(const call_info& call, const kj::Exception& e) {
  bump(env_.bridge.counters.call_failures);
  if (call.generation != generation_) {
    // A sibling's failure already dropped this call's connection (and logged, and backed off):
    // its messages are lost, nothing else.
    bump(env_.bridge.counters.drops_failed, call.count);
    return;
  }
  on_failure("call", e, call.count);
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
  env_.tasks.add(env_.timer.afterDelay(delay).then([this, epoch = ++backoff_epoch_] {
    if (epoch != backoff_epoch_ || state_ != link_state::backing_off) return;  // ended early
    state_ = link_state::ready;
    kick();
  }));
}

void peer_link::end_backoff() {
  if (state_ != link_state::backing_off) return;
  ++backoff_epoch_;
  state_ = link_state::ready;
}

void peer_link::drop_connection() {
  if (conn_.get() == nullptr) return;
  // The calls still in flight on it end later, as stale (peer_link.h).
  ++generation_;
  in_flight_ = 0;
  in_flight_bytes_ = 0;
  // We may be inside a continuation the RPC system is still running for this connection;
  // destroying it on the next turn of the event loop keeps its stack frames valid.
  env_.tasks.add(kj::evalLater([dead = kj::mv(conn_)]() mutable { dead = nullptr; }));
}

}  // namespace chronik::consensus
