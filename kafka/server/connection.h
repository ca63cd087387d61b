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

#include <asio/ip/tcp.hpp>
#include <spdlog/logger.h>

#include "kafka/server/request_budget.h"
#include "kafka/server/request_handler.h"
#include "kafka/server/server_config.h"

namespace chronik::kafka {

class connection : public std::enable_shared_from_this<connection> {
 public:
  using closed_fn = std::function<void(std::uint64_t id)>;

  using clock = std::chrono::steady_clock;

  connection(asio::ip::tcp::socket socket, std::uint64_t id, const server_config& cfg, request_handler& handler,
             request_budget& budget, std::shared_ptr<spdlog::logger> log, closed_fn on_closed);
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

  void read_size();
  void read_body();
  void on_body(std::size_t reserved, std::size_t arrived, asio::error_code ec);
  void frame_complete();
  void on_reply(std::uint64_t seq, handler_reply reply);
  void flush();
  void fail(const std::string& why);

  asio::ip::tcp::socket socket_;
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
};

}  // namespace chronik::kafka
