// Value types of the Raft core: typed ids, log entries, hard state, configurations and snapshots.
// Pure: standard library and base/ only (docs/design.md "Layout").
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/log_sink.h"
#include "base/node_id.h"
#include "base/shared_payload.h"

namespace chronik::consensus {

// The cluster's one node id type (base/node_id.h, docs/design.md "Identity"); no_node (0) means
// "none": no leader, no vote. Raft's on-disk and wire forms keep 64-bit fields and convert with
// node_id_from_u64, refusing a value that does not fit.
using chronik::node_id;
using chronik::no_node;

struct term_id {
  std::uint64_t value = 0;
  auto operator<=>(const term_id&) const = default;
};

struct log_index {
  std::uint64_t value = 0;
  auto operator<=>(const log_index&) const = default;
  log_index next() const { return {value + 1}; }
  log_index prev() const { return {value - 1}; }
};

// Ceilings on the terms and log indexes a message may carry (docs/raft.md "Values that cannot
// wrap"). step() drops any message past them, so no arithmetic on a received value (term + 1 when
// campaigning, index + 1, index + entry count) can wrap, and no such value is ever persisted.
// Honest values never get near: a term is spent per election, and an election waits at least one
// election timeout (tens of milliseconds or more), so 2^62 terms take over 10^8 years even at one
// election per millisecond; a log index is spent per entry, and 2^62 entries at a million per
// second take over 10^5 years. The room left above each ceiling (2^64 - 2^62) is what our own
// increments use: a node may campaign from a term at the ceiling, and that term + 1 still fits.
inline constexpr std::uint64_t max_term = std::uint64_t{1} << 62;
inline constexpr std::uint64_t max_log_index = std::uint64_t{1} << 62;

// A Raft group: `__meta` or one partition.
struct group_id {
  std::uint64_t value = 0;
  auto operator<=>(const group_id&) const = default;
};

enum class entry_type : std::uint8_t { normal, conf_change };

struct entry {
  term_id term;
  log_index index;
  entry_type type = entry_type::normal;
  // Shared, not copied, between the unstable log, the ready, the messages and the committed
  // entries (base/shared_payload.h).
  shared_payload data;
  bool operator==(const entry&) const = default;
};

// What must be durable before any message of the same ready is sent (Raft paper §5.1 "Persisted
// state on all servers": currentTerm and votedFor; commit is kept so a restart need not wait for
// a leader to learn what it had already applied).
struct hard_state {
  term_id term;
  node_id vote;
  log_index commit;
  // This replica lost the log it once acknowledged (a wiped disk) and votes or campaigns again
  // only once it has caught up with a leader (docs/raft.md "Rejoining replicas").
  bool rejoining = false;
  bool operator==(const hard_state&) const = default;
};

// The voting configuration. Learners receive the log but neither vote nor count for commit.
struct conf_state {
  std::vector<node_id> voters;
  std::vector<node_id> learners;
  bool operator==(const conf_state&) const = default;
};

struct snapshot_meta {
  log_index index;
  term_id term;
  conf_state conf;
  bool operator==(const snapshot_meta&) const = default;
};

struct snapshot {
  snapshot_meta meta;
  std::string data;
  bool empty() const { return meta.index.value == 0; }
  bool operator==(const snapshot&) const = default;
};

}  // namespace chronik::consensus
