// One Kafka client connection: reads size-prefixed request frames, hands each to the request
// handler, and writes the answers back in request order (the protocol requires it: clients match
// responses to requests by order as well as by correlation id).
//
// Answers may complete out of order (a Produce with acks=all waits for a commit while a Metadata
// request behind it answers at once), so each request takes a slot in a queue; a slot's answer is
// written only when every slot before it has been written or has no answer (acks=0).
//
// Memory: a frame's buffer grows as its bytes arrive, read_chunk_bytes per read, each chunk
// reserved in the node-wide request_budget first; a 100 MiB size prefix allocates nothing.
//
// TLS (a listener whose protocol uses_tls): the connection first runs the server side of the
// handshake, bounded by tls_config::handshake_timeout_ms; a failed one (a plaintext client, garbage,
// an unverified client certificate) closes the connection with one log line (rate-limited by the
// server). Then the same framing runs over the TLS stream; the bounds above hold unchanged.
//
// SASL (a listener whose protocol uses_sasl): until the client authenticates, every frame goes to
// the connection's authenticator (authenticator.h) instead of the request handler, and frames are
// bounded by max_unauthenticated_frame_bytes. The authenticator's decision is carried out here:
// forward the request, answer it, or answer it and close once the answer is written; the next
// frame may be a raw SASL token (after SaslHandshake v0). Its principal then becomes client_info's.
//
// Threading: everything runs on the io thread. The server owns each connection until it closes
// (the closed callback); replies that arrive after that are dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>
#include <spdlog/logger.h>

#include "kafka/server/authenticator.h"
#include "kafka/server/accept_backoff.h"
#include "kafka/server/auth_worker.h"
#include "kafka/server/client_stream.h"
#include "kafka/server/request_budget.h"
#include "kafka/server/request_handler.h"
#include "kafka/server/server_config.h"

namespace chronik::kafka {

class connection : public std::enable_shared_from_this<connection> {
 public:
  using closed_fn = std::function<void(std::uint64_t id)>;

  using clock = std::chrono::steady_clock;

  // What a connection shares with its listener and server. `tls` is set exactly when the
  // listener's protocol uses_tls; `tls_failures` rate-limits the handshake failure lines.
  struct shared {
    const server_config& cfg;
    request_handler& handler;
    request_budget& budget;
    std::shared_ptr<spdlog::logger> log;
    log_rate_limit& tls_failures;
    auth_worker& slow_auth;  // runs deferred SASL work (a PLAIN login's PBKDF2)
  };

  connection(asio::ip::tcp::socket socket, std::uint64_t id, const listener_spec& listener,
             asio::ssl::context* tls, shared env, closed_fn on_closed);
  void start();
  // The request budget has room again for the chunk this connection waits to read.
  void resume();
  // Closes the socket; pending replies are dropped. Idempotent.
  void close();
  std::uint64_t id() const { return client_.connection_id; }
  // Not reading because max_in_flight requests are unanswered.
  bool read_paused() const { return !closed_ && !reading_ && slots_.size() >= cfg_.max_in_flight; }
  // Not reading because the node-wide request budget is full.
  bool budget_paused() const { return !closed_ && budget_paused_; }
  // Idle since before `cutoff`: nothing in flight or being written, not paused by the node, and
  // no byte received or sent since (a frame whose bytes stopped arriving is idle too).
  bool idle_since(clock::time_point cutoff) const {
    return !closed_ && slots_.empty() && !writing_ && !budget_paused_ && last_activity_ < cutoff;
  }
  // Bytes held for the frame being read (its buffer's capacity).
  std::size_t buffered_bytes() const { return frame_.capacity(); }

 private:
  struct slot {
    std::optional<handler_reply> reply;  // empty until the handler answers
    std::size_t request_bytes = 0;       // held in the request budget until the slot is popped
  };

  void handshake();
  void on_handshake(asio::error_code ec);
  void read_size();
  void read_body();
  void on_body(std::size_t reserved, std::size_t arrived, asio::error_code ec);
  void frame_complete();
  void authenticate(std::uint64_t seq, std::string frame);
  void apply_auth(std::uint64_t seq, auth_decision d, std::string frame);
  void defer_auth(std::uint64_t seq, deferred_auth deferred);
  void on_auth_done(std::uint64_t seq, const std::function<auth_decision()>& finish);
  void on_reply(std::uint64_t seq, handler_reply reply);
  void flush();
  void write_tls_chunk();
  void on_written(asio::error_code ec);
  void fail(const std::string& why);

  client_stream stream_;
  asio::steady_timer handshake_timer_;
  log_rate_limit& tls_failures_;
  bool handshaking_ = false;
  const server_config& cfg_;
  request_handler& handler_;
  request_budget& budget_;
  std::shared_ptr<spdlog::logger> log_;
  closed_fn on_closed_;
  client_info client_;

  std::uint8_t size_buf_[4] = {};
  std::string frame_;             // the frame read so far
  std::size_t frame_size_ = 0;    // its size, from the prefix
  std::size_t reserved_ = 0;      // budget reserved for the outstanding body read
  bool budget_paused_ = false;    // waiting in the budget's queue
  clock::time_point last_activity_ = clock::now();
  bool reading_ = false;  // a read is outstanding
  bool writing_ = false;  // a write is outstanding
  bool closed_ = false;
  std::deque<slot> slots_;         // unanswered or unwritten requests, oldest first
  std::uint64_t first_seq_ = 0;    // sequence number of slots_.front()
  std::uint64_t next_seq_ = 0;
  std::uint8_t out_size_[4] = {};  // the size prefix of the answer being written
  std::string out_prefix_;         // its response header
  byte_chain out_;                 // the answer being written (kept alive until written)
  std::vector<asio::const_buffer> out_buffers_;  // its size, prefix and pieces
  // TLS writes: an ssl::stream encrypts only the first buffer of a sequence per write, so the
  // answer's small pieces would each become a TLS record of their own. They are copied into
  // tls_chunk_bytes chunks instead (a piece that large alone goes out as it is).
  static constexpr std::size_t tls_chunk_bytes = 64u << 10;
  std::size_t out_index_ = 0;   // next buffer of out_buffers_ to send
  std::size_t out_offset_ = 0;  // bytes of it already sent
  std::string tls_chunk_;
  // SASL: the exchange before authentication (null on other listeners and once authenticated),
  // how the next frame is framed, and the slot whose answer is the last before closing.
  std::unique_ptr<authenticator> auth_;
  auth_worker& slow_auth_;
  bool sasl_pending_ = false;
  bool auth_busy_ = false;  // a deferred SASL step runs on slow_auth_: no frame is read meanwhile
  frame_kind next_frame_ = frame_kind::request;
  std::optional<std::uint64_t> close_after_seq_;
};

}  // namespace chronik::kafka
