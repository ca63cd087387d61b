#include "daemon/producer_ids.h"

#include <utility>
#include <vector>

#include "base/assert.h"
#include "metadata/meta_commands.h"

namespace chronik::daemon {

producer_ids::producer_ids(chronik::node_id self, propose_fn propose, std::size_t max_waiters)
    : self_(self), propose_(std::move(propose)), max_waiters_(max_waiters), random_(std::random_device{}()) {
  CHRONIK_ASSERT(max_waiters_ > 0, "at least one producer id request may wait");
}

kafka::producer_id_outcome producer_ids::outcome_of(metadata::meta_errc e) {
  // An unregistered node (not yet, or unregistered meanwhile) cannot get a block now; clients retry.
  return e == metadata::meta_errc::producer_ids_exhausted ? kafka::producer_id_outcome::exhausted
                                                          : kafka::producer_id_outcome::not_available;
}

void producer_ids::allocate(std::chrono::milliseconds timeout, kafka::broker_context::producer_id_done done,
                            clock::time_point now) {
  // Waiters are served as soon as ids arrive, so while any waits the block is empty: a new caller
  // never takes an id ahead of an older one.
  if (waiters_.empty()) {
    if (auto id = block_.take()) {
      maybe_fetch();
      done(*id);
      return;
    }
  }
  if (waiters_.size() >= max_waiters_) {
    done(std::unexpected(kafka::producer_id_outcome::busy));
    return;
  }
  waiters_.push_back({std::move(done), now + timeout});
  maybe_fetch();
}

void producer_ids::maybe_fetch() {
  if (!block_.want_block()) return;
  block_.fetch_started();
  // The nonce makes these bytes unique, so the answer is this proposal's own block.
  propose_(metadata::commands::allocate_producer_ids(self_, random_()), block_timeout,
           [this](auto r) { on_block(std::move(r)); });
}

void producer_ids::on_block(std::expected<metadata::apply_result, kafka::producer_id_outcome> r) {
  if (!r) {
    block_.fetch_failed();
    // A request lost in a `__meta` leader change times out: ask again at once for the callers that
    // still wait (each has its own deadline). This cannot spin: every round takes block_timeout.
    if (r.error() == kafka::producer_id_outcome::timed_out && !waiters_.empty()) {
      maybe_fetch();
      return;
    }
    // Other failures come at once (no leader, refused) and would loop: the waiters are answered and
    // the next allocate() asks again.
    std::deque<waiter> failed;
    failed.swap(waiters_);
    for (auto& w : failed) w.done(std::unexpected(r.error()));
    return;
  }
  CHRONIK_ASSERT(r->kind == metadata::command_kind::allocate_producer_ids && r->producer_ids_count > 0,
                 "the applied record is this node's producer id block");
  block_.add({r->producer_ids_first, r->producer_ids_count});
  serve();
}

void producer_ids::serve() {
  std::vector<std::pair<kafka::broker_context::producer_id_done, std::int64_t>> ready;
  while (!waiters_.empty()) {
    auto id = block_.take();
    if (!id) break;
    ready.emplace_back(std::move(waiters_.front().done), *id);
    waiters_.pop_front();
  }
  maybe_fetch();
  // Callbacks last: one may call allocate() again, which must find the queue settled.
  for (auto& [done, id] : ready) done(id);
}

void producer_ids::expire(clock::time_point now) {
  std::vector<kafka::broker_context::producer_id_done> late;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (now < it->deadline) {
      ++it;
      continue;
    }
    late.push_back(std::move(it->done));
    it = waiters_.erase(it);
  }
  for (auto& done : late) done(std::unexpected(kafka::producer_id_outcome::timed_out));
}

}  // namespace chronik::daemon
