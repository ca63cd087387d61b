// The Asio shell around the SWIM + Lifeguard core (docs/design.md "Cores and shells", "Threads").
//
// It owns one UDP socket (probes, acks, piggybacked gossip) and one TCP acceptor (push-pull state
// exchange), both on bind_ip:port, plus the tick timer. It follows the core's contract from
// gossip/core/membership.h: tick()/step()/commands, then drain ready() (send packets, deliver
// events), then advance(). Gossip persists nothing, so there is nothing to fsync before sending.
//
// Threading: every method runs on the io_context thread; only stats() may be called from any
// thread. Cancelled operations may still be pending in the io_context after stop() or
// destruction; they keep the internal state alive and finish without touching the node.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <spdlog/logger.h>

#include "gossip/core/config.h"
#include "gossip/core/membership.h"
#include "gossip/keyring/keyring.h"

namespace chronik::gossip {

struct node_options {
  // Numeric IPv4 address to bind and advertise, e.g. "127.0.0.1". Default: empty (invalid).
  std::string bind_ip;
  // UDP and TCP port. Default 7946 (memberlist's). Port 0 is rejected: the core must know the
  // advertised address before the socket exists.
  std::uint16_t port = 7946;
  // "ip:port" gossip addresses to join through; the core retries them with backoff.
  std::vector<std::string> seeds;
  config cfg;
  // If self.addr is empty it becomes "bind_ip:port".
  self_identity self;
  std::uint64_t rng_seed = 0;
  // false (default): the node arms a timer of its own and ticks every cfg.tick_ms. true: it arms
  // none, and its owner calls tick(now) at least every cfg.tick_ms from the owner's one tick loop
  // (chronik-server's daemon/node.h), so that one timer drives every service of a process.
  bool external_tick = false;
  // Gossip encryption (docs/security.md "Gossip encryption"). With a keyring every datagram and
  // push-pull frame is sealed with its primary key and self.cluster as the label; without one,
  // everything is sent and accepted in plaintext.
  std::optional<keyring> keys;
  // Consul's rolling switch-on, meaningful only with a keyring: false sends plaintext.
  bool verify_outgoing = true;
  // false also accepts plaintext (sealed traffic must still authenticate).
  bool verify_incoming = true;
};

struct member_snapshot {
  member m;
  // Wall time of the last event about this member seen by this node (or start() time).
  std::chrono::system_clock::time_point last_change;
};

struct net_stats {
  std::uint64_t bytes_sent = 0, bytes_received = 0, datagrams_sent = 0, datagrams_received = 0,
                streams_sent = 0, streams_received = 0, malformed_dropped = 0, oversized_dropped = 0,
                send_errors = 0,
                bounces_received = 0,  // ICMP port unreachable for our datagrams
                tick_late_max_ms = 0,  // the latest the tick loop ran after its due time, since start
                auth_failed_dropped = 0,  // sealed, but no key of the ring opens it (or garbage)
                plaintext_dropped = 0;    // plaintext while verify_incoming requires sealing
};

class gossip_node {
 public:
  gossip_node(asio::io_context& io, node_options opts, std::shared_ptr<spdlog::logger> log);
  ~gossip_node();  // calls stop()
  gossip_node(const gossip_node&) = delete;
  gossip_node& operator=(const gossip_node&) = delete;

  // Validates the config, binds UDP and TCP on bind_ip:port and starts the tick timer (unless
  // external_tick).
  std::expected<void, std::string> start();
  // With external_tick: runs every core tick due by `now` (a steady clock reading taken by the
  // owner once for its whole tick), measures how late the first of them runs (stats()
  // tick_late_max_ms), and checks a pending leave's deadline. Ignored before start(), after
  // stop(), and without external_tick.
  void tick(std::chrono::steady_clock::time_point now);
  void set_meta(std::string meta);
  // Gossips the leave and calls done (posted on the io thread, exactly once) when the core has
  // sent it to enough members and the datagrams left the socket, or when max_wait has passed,
  // or when stop() runs first.
  void leave(std::chrono::milliseconds max_wait, std::function<void()> done);
  // Cancels timers and closes every socket; idempotent. The node cannot be restarted.
  void stop();

  std::vector<member_snapshot> members() const;  // io thread only
  // The keyring in use, none when gossip runs in plaintext (io thread only).
  const std::optional<keyring>& keys() const;
  // Replaces the keyring of a running node (online rotation, docs/security.md "Key rotation"):
  // the next datagram is sealed with the new primary, and only its keys open. Refused when the
  // node started without a keyring: switching encryption on is the rolling procedure (io thread).
  std::expected<void, std::string> replace_keys(keyring ring);
  net_stats stats() const;                        // any thread
  const membership& core() const;
  void on_member_event(std::function<void(const member_event&)> cb);
  // Called once, on the io thread, when another live node holds our node id (membership::
  // conflict): the node must stop without leave(), since a leave would speak for that id.
  void on_id_conflict(std::function<void(const id_conflict&)> cb);

  struct impl;  // public so that the connection helpers in gossip_node.cc can name it

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace chronik::gossip
