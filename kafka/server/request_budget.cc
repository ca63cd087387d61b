#include "kafka/server/request_budget.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace chronik::kafka {
namespace {

// Bookkeeping that goes negative is a bug in the server, not a client's doing.
void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "request_budget invariant broken: %s\n", what);
  std::abort();
}

}  // namespace

bool request_budget::reserve(std::uint64_t connection, std::size_t bytes) {
  const bool fits = queued_ + bytes <= limit_;
  // Only complete requests get answered and so free bytes: with none queued, a waiter that
  // never gets a turn would wait forever, so one connection may overdraw to finish its frame.
  const bool overdraw = !fits && requests_ == 0 && (overdraft_ == 0 || overdraft_ == connection);
  if (fits || overdraw) {
    if (overdraw) overdraft_ = connection;
    queued_ += bytes;
    return true;
  }
  if (std::find(waiting_.begin(), waiting_.end(), connection) == waiting_.end()) waiting_.push_back(connection);
  return false;
}

void request_budget::settle(std::size_t reserved, std::size_t arrived) {
  check(arrived <= reserved && reserved - arrived <= queued_, "settle");
  queued_ -= reserved - arrived;
  wake();
}

void request_budget::complete(std::uint64_t connection, std::size_t bytes) {
  check(requests_ + bytes <= queued_, "complete");
  requests_ += bytes;
  if (overdraft_ == connection) overdraft_ = 0;
}

void request_budget::release_request(std::size_t bytes) {
  check(bytes <= requests_ && bytes <= queued_, "release_request");
  requests_ -= bytes;
  queued_ -= bytes;
  wake();
}

void request_budget::forget(std::uint64_t connection, std::size_t partial_bytes, std::size_t request_bytes) {
  check(request_bytes <= requests_ && partial_bytes + request_bytes <= queued_, "forget");
  requests_ -= request_bytes;
  queued_ -= partial_bytes + request_bytes;
  if (overdraft_ == connection) overdraft_ = 0;
  std::erase(waiting_, connection);
  wake();
}

void request_budget::wake() {
  // Each waiter is taken off the queue before it is resumed; one that still does not fit
  // queues itself again at the back, and the loop stops at the first that did.
  for (std::size_t n = waiting_.size(); n > 0 && !waiting_.empty(); --n) {
    const bool room = queued_ < limit_ || (requests_ == 0 && overdraft_ == 0);
    if (!room) return;
    const std::uint64_t next = waiting_.front();
    waiting_.pop_front();
    const std::size_t before = waiting_.size();
    if (resume_) resume_(next);
    if (waiting_.size() > before) return;  // it queued again: nobody behind it fits either
  }
}

}  // namespace chronik::kafka
