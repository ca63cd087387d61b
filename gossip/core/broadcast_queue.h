// Piggyback dissemination queue (SWIM §4.1, memberlist queue.go TransmitLimitedQueue). Each update
// is sent at most `limit` times; updates sent fewer times go first, newer before older among equals,
// and a new update about a member replaces any older one about the same member.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "gossip/core/messages.h"
#include "gossip/core/types.h"

namespace chronik::gossip {

// Whether a piggybacked copy counts toward an update's retransmit limit.
enum class transmission : std::uint8_t { counted, free };

class broadcast_queue {
 public:
  // Bound on queued updates: one per member is the steady state, so this only matters under a
  // flood of distinct members. The oldest, most-sent entries are dropped first.
  static constexpr std::size_t max_entries = 4096;

  void push(node_id about, message msg);

  // Picks updates whose encoded_size_bound fits in `budget` bytes, counts a transmission for each
  // and retires those that reached `limit`.
  std::vector<message> take(std::size_t budget, std::uint32_t limit, transmission mode = transmission::counted);

  // How many times the update about `about` has gone out, or nullopt when none is queued.
  std::optional<std::uint32_t> transmits(node_id about) const;

  std::size_t size() const { return entries_.size(); }

 private:
  struct entry {
    node_id about;
    message msg;
    std::uint32_t transmits = 0;
    std::uint64_t order = 0;  // higher = newer
  };
  std::vector<entry> entries_;
  std::uint64_t next_order_ = 0;
};

}  // namespace chronik::gossip
