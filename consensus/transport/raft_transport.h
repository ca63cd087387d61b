// The Raft transport: carries {group, message} items between nodes over Cap'n Proto RPC
// (schemas/raft.capnp), batched per node pair with heartbeats coalesced (docs/design.md "Batching",
// docs/transport.md).
//
// Threads. Every public call is made from the Asio thread (or any thread: they are thread-safe).
// One KJ event-loop thread, owned by this object, owns every Cap'n Proto object: the listener,
// the inbound connections, one outbound connection per peer and their capabilities. send() only
// appends to a bounded per-peer outbox and wakes the KJ thread through a
// kj::CrossThreadPromiseFulfiller; received batches come back as plain structs posted to the
// io_context with asio::post. No KJ object or exception ever leaves the KJ thread.
//
// Ordering. Messages of one group sent to one peer arrive in send order or not at all: one
// connection per peer, batches built in outbox order, and the calls in flight on a connection
// (up to transport_config::max_calls_in_flight) delivered in the order sent (E-order).
//
// Loss. Raft tolerates message loss, so the transport drops (and counts) rather than blocks: a
// full outbox drops new messages, a failed call drops its batch, the calls in flight with it and
// everything queued behind it.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>
#include <spdlog/logger.h>

#include "consensus/core/messages.h"
#include "consensus/core/types.h"
#include "consensus/transport/group_message.h"
#include "consensus/transport/transport_config.h"
#include "consensus/transport/transport_error.h"

namespace chronik::consensus {

// A received batch, as the Asio side sees it.
struct inbound_batch {
  node_id from;
  std::string node_uuid;   // the sender's node_uuid
  std::string cluster_id;  // the sender's cluster_id (empty if it is not yet a member)
  std::vector<group_message> messages;
};

using inbound_handler = std::function<void(inbound_batch&&)>;

struct transport_counters {
  std::uint64_t batches_sent = 0;       // calls the peer answered (accepted or refused)
  std::uint64_t messages_sent = 0;      // messages in accepted batches
  std::uint64_t heartbeats_coalesced_sent = 0;
  std::uint64_t batches_received = 0;   // accepted inbound batches
  std::uint64_t messages_received = 0;
  std::uint64_t refusals_sent = 0;      // inbound batches this node refused
  std::uint64_t refusals_received = 0;  // outbound batches a peer refused
  std::uint64_t connects = 0;           // outbound connections established
  std::uint64_t reconnects = 0;         // connect attempts after a failure
  std::uint64_t connect_failures = 0;
  std::uint64_t call_failures = 0;      // calls that failed or timed out
  std::uint64_t drops_outbox_full = 0;  // messages dropped by send() because the outbox was full
  std::uint64_t drops_no_route = 0;     // messages for a peer without an address
  std::uint64_t drops_oversized = 0;    // single messages larger than max_message_bytes
  std::uint64_t drops_failed = 0;       // messages lost with a failed, timed-out or refused call
  std::uint64_t accept_errors = 0;      // failed accepts (EMFILE, ...), each followed by a backoff
  // Mutual TLS (docs/transport.md "TLS"): inbound connections whose handshake failed or timed
  // out (no certificate, another CA, not TLS while TLS is required) or whose certificate names
  // no node; and inbound batches refused because they claim another node than the certificate.
  std::uint64_t tls_handshake_failures = 0;
  std::uint64_t tls_identity_refusals = 0;
  std::uint64_t tls_connections = 0;      // inbound connections authenticated by a certificate
  std::uint64_t plaintext_connections = 0;  // inbound connections served without TLS
};

class transport_bridge;

class raft_transport {
 public:
  raft_transport(asio::io_context& io, transport_config cfg, std::shared_ptr<spdlog::logger> log);
  ~raft_transport();  // stop()s if still running
  raft_transport(const raft_transport&) = delete;
  raft_transport& operator=(const raft_transport&) = delete;

  // Where received batches go (posted to the io_context). Set before start().
  void on_receive(inbound_handler handler);

  // Validates the config, starts the KJ thread and binds the listener. Returns once the
  // listener is bound or failed.
  std::expected<void, transport_error> start();

  // Shutdown order (docs/design.md "Shutdown order"): the KJ thread destroys every KJ object on
  // itself (cancelling calls in flight), then this joins it. Idempotent. Batches already posted to
  // the io_context may still be delivered afterwards.
  void stop();

  // The listener's port (useful with port 0); 0 before start().
  std::uint16_t bound_port() const;

  // Where `peer` listens ("ip:port"). A changed address closes the old connection. A non-empty
  // `expected_uuid` makes inbound batches claiming to be `peer` with another node_uuid refused
  // (a wiped node comes back with a new uuid and must rejoin first, docs/design.md "Formation").
  void set_peer(node_id peer, std::string address, std::string expected_uuid = {});

  // The cluster this node belongs to. Empty means "not yet a member": inbound batches are then
  // accepted whatever their cluster_id (the handler sees it). Once set, only batches carrying
  // exactly this cluster_id are accepted. Outbound batches carry it from the next call on.
  void set_cluster_id(std::string cluster_id);

  // Gossip sees `peer` alive again (after it was suspect, dead or unknown): a reconnect backoff
  // in progress for it ends at once (docs/transport.md "Reconnecting").
  void peer_alive(node_id peer);

  // Queues `items` for `to` and returns at once; never blocks on the network. Items are dropped
  // (and counted) when the peer has no address, the outbox is full, or an item is larger than
  // max_message_bytes.
  void send(node_id to, std::vector<group_message> items);

  transport_counters counters() const;

 private:
  struct bind_result;
  void kj_thread_main(const std::shared_ptr<bind_result>& bound);

  asio::io_context& io_;
  transport_config cfg_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<inbound_handler> handler_;
  std::shared_ptr<transport_bridge> bridge_;  // shared with handlers posted to io_
  std::thread kj_thread_;
  std::atomic<std::uint16_t> port_{0};
};

}  // namespace chronik::consensus
