// One outbound peer on the KJ thread (internal to consensus/transport): its connection, its
// single call in flight, its call timeout and its reconnect backoff (docs/design.md
// "Connections").
//
// States: idle -> connecting -> idle (connected) -> calling -> idle ... and, after any failure,
// backing_off -> idle. kick() acts only when idle, and every state change back to idle kicks
// again, so messages queued while a call is in flight go out together in the next call: that is
// the batching.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
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
};

class peer_link {
 public:
  peer_link(link_env& env, node_id peer);
  ~peer_link();
  peer_link(const peer_link&) = delete;
  peer_link& operator=(const peer_link&) = delete;

  // Something changed (messages queued, address set): connect or send if idle.
  void kick();

 private:
  enum class link_state : std::uint8_t { idle, connecting, calling, backing_off };
  struct connection;

  void connect();
  void on_connected(kj::Own<kj::AsyncIoStream> stream);
  void call();
  void on_reply(bool accepted, std::string_view reason, std::size_t count);
  void on_failure(std::string_view what, const kj::Exception& e, std::size_t lost);
  void drop_connection();

  link_env& env_;
  node_id peer_;
  link_state state_ = link_state::idle;
  std::string address_;  // the address conn_ (or the connect in progress) uses
  kj::Own<connection> conn_;
  std::uint32_t backoff_ms_;
  std::uint32_t failures_ = 0;  // consecutive failures; reset by an answered call
};

}  // namespace chronik::consensus
