// The meeting point of the Asio thread and the KJ thread (docs/design.md "Threads": a non-blocking
// inbox woken through a kj::CrossThreadPromiseFulfiller). Internal to consensus/transport.
//
// The Asio side appends to bounded per-peer outboxes under one mutex and, only if no wake-up is
// already pending, fulfills the KJ thread's cross-thread fulfiller; so a burst of send() calls
// costs the KJ thread one wake-up. The KJ side re-arms a fresh fulfiller, collects the peers that
// changed, and takes batches out of the outboxes. The lock is never held while encoding,
// decoding or doing I/O.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <kj/async.h>

#include "consensus/transport/codec.h"
#include "consensus/transport/raft_transport.h"
#include "consensus/transport/transport_config.h"

namespace chronik::consensus {

// Counters shared by both threads; relaxed atomics because they are statistics, not state.
struct counter_cells {
  std::atomic<std::uint64_t> batches_sent{0}, messages_sent{0}, heartbeats_coalesced_sent{0},
      batches_received{0}, messages_received{0}, refusals_sent{0}, refusals_received{0},
      connects{0}, reconnects{0}, connect_failures{0}, call_failures{0}, drops_outbox_full{0},
      drops_no_route{0}, drops_oversized{0}, drops_failed{0}, accept_errors{0},
      tls_handshake_failures{0}, tls_identity_refusals{0}, tls_connections{0},
      plaintext_connections{0};
  transport_counters snapshot() const;
};

inline void bump(std::atomic<std::uint64_t>& cell, std::uint64_t by = 1) {
  cell.fetch_add(by, std::memory_order_relaxed);
}

class transport_bridge {
 public:
  explicit transport_bridge(const transport_config& cfg);

  // --- Asio side (any thread) ---
  void push(node_id to, std::vector<group_message>&& items);
  void set_peer(node_id peer, std::string address, std::string expected_uuid);
  void set_cluster_id(std::string cluster_id);
  // Gossip sees `peer` alive again: the KJ side ends a reconnect backoff for it at once.
  void peer_alive(node_id peer);
  // Asks the KJ thread to exit; safe before the KJ side armed its stop fulfiller.
  void request_stop();
  // Forgets an earlier stop request so the transport can be started again.
  void clear_stop();

  // --- KJ side ---
  // Installs the next wake-up fulfiller and returns the peers whose outbox or address changed
  // since the previous call.
  std::vector<node_id> arm_wake(kj::Own<kj::CrossThreadPromiseFulfiller<void>> fulfiller);
  void arm_stop(kj::Own<kj::CrossThreadPromiseFulfiller<void>> fulfiller);
  // Destroys the fulfillers; called on the KJ thread before its event loop goes away.
  void disarm();
  // Moves queued items for `peer` into `out`, oldest first, until their estimated size reaches
  // max_bytes (at least one item). Returns the number taken.
  std::size_t take_batch(node_id peer, std::size_t max_bytes, std::vector<group_message>& out);
  bool has_pending(node_id peer);
  // True once per peer_alive(peer) call since the last take (then the link ends its backoff).
  bool take_alive(node_id peer);
  // Drops everything queued for `peer` (after a failure the queue is stale); returns the count.
  std::size_t drop_queued(node_id peer);
  std::string peer_address(node_id peer);
  std::string expected_uuid(node_id peer);
  std::string cluster_id();

  counter_cells counters;
  // Inbound batches posted to the io_context and not yet handled; bounds that queue.
  std::atomic<std::size_t> inbound_pending{0};

 private:
  struct queued {
    group_message item;
    std::size_t bytes = 0;
  };
  struct peer_entry {
    std::string address;
    std::string expected_uuid;
    std::deque<queued> outbox;
    std::size_t outbox_bytes = 0;
    bool dirty = false;
    bool alive = false;  // peer_alive() since the KJ side last looked
  };

  // Requires mu_ held: records `peer` as changed and wakes the KJ thread if no wake is pending.
  void mark_dirty(node_id peer, peer_entry& entry);

  const std::size_t max_message_bytes_;
  const std::size_t outbox_max_messages_;
  const std::size_t outbox_max_bytes_;

  std::mutex mu_;
  std::unordered_map<std::uint64_t, peer_entry> peers_;
  std::vector<node_id> dirty_;
  std::string cluster_id_;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake_;
  bool wake_pending_ = false;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop_;
  bool stop_requested_ = false;
};

}  // namespace chronik::consensus
