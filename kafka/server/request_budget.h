// The node-wide bound on queued request bytes (server_config::max_queued_request_bytes;
// docs/kafka.md "Server"): bytes of requests read but not yet answered, summed over every
// connection, counting the part of a frame read so far. Pure bookkeeping on the io thread; the
// server and its connections do the reading.
//
// A connection reserves each chunk before it reads it. At the bound the reservation fails, the
// connection stops reading and waits in FIFO order; releases (answers leaving, connections
// closing) resume waiters while their chunks fit.
//
// Deadlock: if partly read frames alone filled the budget, no request would ever complete and
// nothing would be released. So when no complete request is queued, one waiter at a time (the
// overdraft holder) may read past the bound until its frame completes. The budget can thus be
// exceeded by at most one frame (max_request_bytes) plus its last chunk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>

namespace chronik::kafka {

class request_budget {
 public:
  using resume_fn = std::function<void(std::uint64_t connection)>;

  explicit request_budget(std::size_t limit_bytes) : limit_(limit_bytes) {}
  // Called (synchronously, inside release/forget) for each waiter that may now try again.
  void set_resume(resume_fn fn) { resume_ = std::move(fn); }

  // `connection` wants to read `bytes` more of the frame it has started. True: reserved. False:
  // it is queued and resume() is called for it once it may try again.
  bool reserve(std::uint64_t connection, std::size_t bytes);
  // A read reserved `reserved` bytes and `arrived` came; the rest goes back.
  void settle(std::size_t reserved, std::size_t arrived);
  // `connection`'s frame of `bytes` is complete and handed to the handler: those bytes are now a
  // queued request until release_request.
  void complete(std::uint64_t connection, std::size_t bytes);
  // A request's answer left (or it had none): its bytes are free.
  void release_request(std::size_t bytes);
  // A closing connection gives back its partial frame, its reserved chunk and its unanswered
  // requests, and leaves the waiting queue.
  void forget(std::uint64_t connection, std::size_t partial_bytes, std::size_t request_bytes);

  std::size_t queued_bytes() const { return queued_; }
  std::size_t request_bytes() const { return requests_; }
  std::size_t waiting() const { return waiting_.size(); }
  std::size_t limit() const { return limit_; }

 private:
  void wake();

  std::size_t limit_;
  std::size_t queued_ = 0;    // partial frames, reserved chunks and complete requests
  std::size_t requests_ = 0;  // of which complete requests
  std::uint64_t overdraft_ = 0;  // connection reading past the bound; 0: none (ids start at 1)
  std::deque<std::uint64_t> waiting_;  // at most one entry per connection
  resume_fn resume_;
};

}  // namespace chronik::kafka
