// One broker's supply of Kafka producer ids between `__meta` records (KIP-730): the block it is
// handing out, the next block once fetched, and whether it is time to ask `__meta` for another.
//
// Pure and single-threaded: no clock, no I/O. The shell (daemon/producer_ids.h) proposes
// MetaAllocateProducerIds when want_block() says so, and feeds the applied block to add().
// Blocks live only in memory: after a restart a broker starts with none and asks for a fresh
// one, and the ids of a half-used block are simply never handed out (the counter in `__meta`
// has moved past them, so no id is ever handed out twice).
#pragma once

#include <cstdint>
#include <optional>

namespace chronik::metadata {

struct producer_id_range {
  std::int64_t first = 0;
  std::int64_t count = 0;
};

class producer_id_block {
 public:
  // The next id, or nullopt when both blocks are used up (the caller waits for add()).
  std::optional<std::int64_t> take();
  // Whether the shell should ask for a block now: none is being fetched, no spare block is held,
  // and the current one is 90% used (or used up). Asking ahead keeps callers from waiting on a
  // `__meta` round trip, as Kafka's brokers prefetch at 90% of their block.
  bool want_block() const;
  // A request for a block went out / failed (failed: may ask again at once).
  void fetch_started();
  void fetch_failed();
  // The block `__meta` handed out: it becomes the current block if that is used up, else the
  // spare. Ends the fetch in flight. `r.count` must be > 0 and the ids non-negative.
  void add(producer_id_range r);
  // Ids left in hand (current and spare), for tests and logs.
  std::int64_t available() const;
  bool fetching() const { return fetching_; }

 private:
  std::int64_t next_ = 0;  // current block: [next_, end_)
  std::int64_t end_ = 0;
  std::int64_t size_ = 0;  // the current block's count, for the 90% rule
  std::optional<producer_id_range> spare_;
  bool fetching_ = false;
};

}  // namespace chronik::metadata
