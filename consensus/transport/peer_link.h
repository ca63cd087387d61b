// One outbound peer on the KJ thread (internal to consensus/transport): its connection, the
// calls in flight on it (at most transport_config::max_calls_in_flight), its call timeout and its
// reconnect backoff (docs/design.md "Connections", docs/transport.md "Batching and coalescing").
//
// States: ready -> connecting -> ready (connected) ... and, after any failure, backing_off ->
// ready. While ready and connected, kick() sends calls until the bound is reached (in calls, or
// one batch's worth of bytes) or nothing is queued; every answered call kicks again, so messages
// queued while the bound is reached go out together in the next call: that is the batching.
//
// A failed call drops the connection. The other calls in flight on it end later (answered,
// failed or timed out); each carries the generation of the connection it was sent on, and one
// from an older generation only updates the counters, never the new connection's state.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/compat/tls.h>
#include <kj/timer.h>
#include <spdlog/logger.h>

#include "consensus/core/types.h"
#include "consensus/transport/outbox.h"
#include "consensus/transport/transport_config.h"

namespace chronik::consensus {

// At most one line per interval; counts what it suppressed so the next line can say so.
class log_limiter {
 public:
  explicit log_limiter(std::uint32_t interval_ms) : interval_(interval_ms) {}
  // True if a line may be logged now; `suppressed` then holds the lines skipped since the last.
  bool allow(std::uint64_t& suppressed);

 private:
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point last_{};
  std::uint64_t suppressed_ = 0;
};

// What every peer_link shares; all of it lives on (or is owned by) the KJ thread.
struct link_env {
  const transport_config& cfg;
  transport_bridge& bridge;
  spdlog::logger& log;
  kj::Network& network;
  kj::Timer& timer;
  kj::TaskSet& tasks;
  log_limiter& failure_log;
  log_limiter& refusal_log;
  // Set when outbound connections use TLS (transport_tls::verify_outgoing); owned by kj_side.
  kj::TlsContext* tls = nullptr;
};

class peer_link {
 public:
  peer_link(link_env& env, node_id peer);
  ~peer_link();
  peer_link(const peer_link&) = delete;
  peer_link& operator=(const peer_link&) = delete;

  // Something changed (messages queued, address set, a call ended): connect, or send while
  // below the bound of calls in flight.
  void kick();
  // Gossip sees the peer alive again: a reconnect backoff in progress ends now, so that Raft
  // traffic resumes with the node's return instead of up to reconnect_backoff_max_ms after it
  // (docs/transport.md "Reconnecting"). The backoff length itself is kept: should the connect
  // fail again, the next wait doubles as before.
  void end_backoff();

 private:
  enum class link_state : std::uint8_t { ready, connecting, backing_off };
  struct connection;
  // What one call's continuation needs once it ends.
  struct call_info {
    std::uint64_t generation = 0;  // of the connection it was sent on
    std::size_t count = 0;         // messages in it
    std::size_t coalesced = 0;     // of which travelled as coalesced heartbeats
    std::size_t bytes = 0;         // their estimate_bytes()
  };

  void connect();
  void on_connected(kj::Own<kj::AsyncIoStream> stream);
  // Sends one call with what is queued; false if nothing was.
  bool call();
  void on_reply(const call_info& call, bool accepted, std::string_view reason);
  void on_call_failed(const call_info& call, const kj::Exception& e);
  void on_failure(std::string_view what, const kj::Exception& e, std::size_t lost);
  void drop_connection();

  link_env& env_;
  node_id peer_;
  link_state state_ = link_state::ready;
  std::string address_;  // the address conn_ (or the connect in progress) uses
  kj::Own<connection> conn_;
  std::uint64_t generation_ = 0;   // bumped each time conn_ is dropped
  std::uint32_t in_flight_ = 0;    // calls on conn_ (this generation) not yet ended
  std::size_t in_flight_bytes_ = 0;  // their estimated bytes; at most one batch (see call())
  std::uint32_t backoff_ms_;
  std::uint32_t failures_ = 0;  // consecutive failures; reset by an answered call
  std::uint64_t backoff_epoch_ = 0;  // bumped per backoff and per early end: a stale timer does nothing
};

}  // namespace chronik::consensus
