// This node's producer ids for InitProducerId (docs/kafka.md "Producer ids"): ids come from the
// block metadata::producer_id_block holds, and blocks from `__meta`'s MetaAllocateProducerIds
// record (KIP-730), so an id is unique across the cluster and never handed out again, even after
// every node restarts. The next block is asked for once 90% of the current one is used, so a
// caller rarely waits; one that does waits in a bounded queue until the block applies here or its
// timeout passes.
//
// The proposal goes through kafka_service's propose-and-wait path (`propose_fn`): the record's
// bytes carry a random nonce, so this node finds its own block in the apply result of exactly the
// bytes it proposed. Blocks are memory only: a restart takes a fresh block.
//
// Threading: everything, callbacks included, runs on the io thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <random>
#include <string>

#include "base/node_id.h"
#include "kafka/handlers/broker_context.h"
#include "metadata/meta_state.h"
#include "metadata/producer_id_block.h"

namespace chronik::daemon {

class producer_ids {
 public:
  using clock = std::chrono::steady_clock;
  using block_done = std::function<void(std::expected<metadata::apply_result, kafka::producer_id_outcome>)>;
  // Proposes `command` to `__meta` and calls `done` once, on the io thread: with the apply result
  // when the record applied here, else with why not (refused, not proposed, timed out). Refusals
  // by the appliers arrive as outcome_of(meta_errc).
  using propose_fn = std::function<void(std::string command, std::chrono::milliseconds timeout, block_done done)>;

  // Requests waiting for a block beyond this many are refused with `busy`, which clients retry.
  static constexpr std::size_t default_max_waiters = 10'000;
  // How long one block request may take before it counts as lost and is asked again for the callers
  // still waiting. Until then no other request goes out, so a proposal lost in a `__meta` leader
  // change holds allocation up this long: about two `lan` election timeouts, where a commit
  // normally takes milliseconds. A late block still serves (ids are skipped, never reused).
  static constexpr std::chrono::milliseconds block_timeout{1'000};

  producer_ids(chronik::node_id self, propose_fn propose, std::size_t max_waiters = default_max_waiters);
  producer_ids(const producer_ids&) = delete;
  producer_ids& operator=(const producer_ids&) = delete;

  // Hands out the next id: at once when the block has one, else once the next block applies here,
  // or timed_out when `timeout` passes first (checked by expire()).
  void allocate(std::chrono::milliseconds timeout, kafka::broker_context::producer_id_done done, clock::time_point now);
  // Answers the waiters whose deadline is at or before `now` with timed_out.
  void expire(clock::time_point now);
  // The service stops: waiters are dropped unanswered, as its other pending requests are.
  void clear() { waiters_.clear(); }

  static kafka::producer_id_outcome outcome_of(metadata::meta_errc e);
  std::size_t waiting() const { return waiters_.size(); }
  const metadata::producer_id_block& block() const { return block_; }

 private:
  struct waiter {
    kafka::broker_context::producer_id_done done;
    clock::time_point deadline;
  };
  void maybe_fetch();
  void on_block(std::expected<metadata::apply_result, kafka::producer_id_outcome> r);
  // Gives the block's ids to the waiters, oldest first, then calls their callbacks.
  void serve();

  chronik::node_id self_;
  propose_fn propose_;
  std::size_t max_waiters_;
  metadata::producer_id_block block_;
  std::deque<waiter> waiters_;  // oldest first, at most max_waiters_
  std::mt19937_64 random_;      // nonces: seeded from std::random_device
};

}  // namespace chronik::daemon
