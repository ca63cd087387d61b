// Configuration of the Raft transport (docs/design.md "Config": one struct per module, every field
// with meaning, unit, default and formula).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>

#include "consensus/core/types.h"
#include "consensus/transport/transport_error.h"

namespace chronik::consensus {

// Mutual TLS between nodes (docs/security.md "Between nodes: mutual TLS", docs/transport.md
// "TLS"). PEM text, not paths: the daemon reads and checks the files (daemon/rpc_tls_files.h),
// the transport only builds its kj::TlsContext from them on the KJ thread.
struct transport_tls {
  std::string ca_pem;    // the cluster CA: the only issuer trusted, for both directions
  std::string cert_pem;  // this node's certificate (CN "chronik-node-<self>", peer_identity.h)
  std::string key_pem;   // its private key (unencrypted PEM)
  // Consul's rolling switch-on, as for gossip (docs/security.md): true refuses every inbound
  // connection that does not start a TLS handshake; false also serves plaintext connections
  // (unauthenticated, as before TLS) on the same port. A TLS connection always needs a client
  // certificate from the CA. Default true.
  bool verify_incoming = true;
  // true dials peers with TLS and checks that the peer's certificate names the node dialled;
  // false dials plaintext (only meaningful while the peers still accept plaintext). Default true.
  bool verify_outgoing = true;
};

struct transport_config {
  // This node's configured id; every batch carries it and every message in it must be from it.
  // Required (non-zero).
  node_id self;
  // This node's node_uuid (docs/design.md "Identity"). Required (non-empty).
  std::string node_uuid;
  // The cluster this node is a member of; empty while it is not yet a member. Can be changed
  // later with raft_transport::set_cluster_id. Default: empty.
  std::string cluster_id;
  // "ip:port" the RPC listener binds; port 0 picks a free port (see raft_transport::bound_port).
  // Default: "127.0.0.1:0".
  std::string listen_address = "127.0.0.1:0";

  // A batch is closed when adding the next message would take its estimated size past this.
  // docs/design.md "Batching" keeps batches at a few MiB so one slow peer never holds a huge buffer
  // and one call never monopolises the KJ thread. Bytes, default 4 MiB.
  std::size_t max_batch_bytes = 4u << 20;
  // The largest single message the sender accepts (it then travels alone) and the largest batch
  // the receiver accepts. Must be >= max_batch_bytes and <= 48 MiB so a batch always stays under
  // Cap'n Proto's 64 MiB traversal limit. Bytes, default 16 MiB.
  std::size_t max_message_bytes = 16u << 20;
  // Deliver calls one peer link keeps in flight on its connection at once (docs/transport.md
  // "Batching and coalescing"). With one, a follower's replies reach the leader at most once per
  // round trip; over a 400 ms round trip that is close to the leader's check-quorum window (one
  // election timeout, Ongaro's dissertation §6.2), and a slower call made it step down. With
  // several, a call leaves every heartbeat while earlier ones are still unanswered. Messages
  // queued while the bound is reached still go out together (the batching), and the calls in
  // flight carry at most max_batch_bytes between them, so a deep queue still travels in full
  // batches and no call waits behind more than one. Cap'n Proto delivers the calls of one
  // connection in the order they were sent (E-order), so ordering between the calls of one peer
  // is kept (Raft would tolerate reordering; keeping it spares rejected appends). Calls, 1..64,
  // default 2 in every preset; 1 restores the old one-call-at-a-time behaviour. Why not 4: in
  // transport_bench's deep-queue run on the loaded 2-vCPU VM, 4 made a call time out in about
  // one run in five (docs/performance.md "Transport"), 2 and 1 never did.
  std::uint32_t max_calls_in_flight = 2;
  // Per-peer outbox bound; send() drops (and counts) messages beyond it instead of blocking.
  // Messages, default 100000 (about 1 s of traffic at the benchmark's rate).
  std::size_t outbox_max_messages = 100'000;
  // Per-peer outbox bound in estimated bytes. Bytes, default 64 MiB.
  std::size_t outbox_max_bytes = 64u << 20;
  // Inbound batches handed to the io_context but not yet handled. Beyond it new batches are
  // refused ("receiver busy") so a stalled Asio thread cannot make the KJ thread queue without
  // bound; the senders count refusals and Raft retries. Batches, default 1024.
  std::size_t inbound_max_pending_batches = 1024;

  // Every call (and every connect) fails after this long; a peer that is paused or silent then
  // costs one timer, never a blocked thread. Milliseconds, default 2000.
  std::uint32_t call_timeout_ms = 2000;
  // A call's deadline also grows with the bytes on the connection ahead of its reply (its own
  // and those of the calls sent before it): call_timeout_ms plus the time they take at this rate.
  // Over a long round trip a fresh TCP connection sends slowly while its congestion window opens
  // (slow start, RFC 5681 §3.1): a 4 MiB catch-up batch over a 400 ms round trip needs about nine
  // round trips, past a flat 2 s. The timeout then dropped the connection, the next one started
  // cold again, and the link never delivered that batch while heartbeats queued behind it were
  // lost with it (partition suite, delay-200ms: `__meta` leaders stepped down for want of their
  // followers' replies). A silent peer still fails a small call within call_timeout_ms.
  // Bytes per second, default 256 KiB/s (1 MiB/s still let ~1 MiB calls over a cold 400 ms link
  // time out: slow start needs 6-7 round trips for them); 0 turns the allowance off.
  std::uint64_t call_timeout_floor_bytes_per_s = 256u << 10;
  // Reconnect backoff after a failed connect or call: starts here and doubles per failure up to
  // reconnect_backoff_max_ms; a successful call resets it. Milliseconds, defaults 50 and 2000.
  std::uint32_t reconnect_backoff_min_ms = 50;
  std::uint32_t reconnect_backoff_max_ms = 2000;
  // At most one log line per this interval for refused inbound batches and for refusals reported
  // by peers, so a misconfigured neighbour cannot flood the log. Milliseconds, default 1000.
  std::uint32_t refusal_log_interval_ms = 1000;

  // Mutual TLS; nullopt is plaintext RPC as before (every peer trusted). Default nullopt.
  std::optional<transport_tls> tls;
  // A TLS handshake (accepted or dialled) that has not finished after this long is abandoned, so
  // a peer that connects and stays silent holds one socket for a bounded time. Milliseconds,
  // default 2000.
  std::uint32_t tls_handshake_timeout_ms = 2000;

  // Presets (same fields, different timings): lan is the default; wan tolerates slower links;
  // local is for processes on one machine (tests, `make run`).
  static transport_config lan();
  static transport_config wan();
  static transport_config local();

  // Fails with transport_errc::invalid_config naming the first bad key.
  std::expected<void, transport_error> validate() const;
};

// The deadline of a call whose reply waits behind `bytes_ahead` bytes on its connection (its own
// batch included): call_timeout_ms plus their time at call_timeout_floor_bytes_per_s.
// Milliseconds.
std::uint64_t call_deadline_ms(const transport_config& cfg, std::size_t bytes_ahead);

}  // namespace chronik::consensus
