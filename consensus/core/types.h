// Value types of the Raft core: typed ids, log entries, hard state, configurations and snapshots.
// Pure: standard library only (DESIGN.md §1).
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace chronik::consensus {

struct node_id {
  std::uint64_t value = 0;  // 0 means "none"
  auto operator<=>(const node_id&) const = default;
  explicit operator bool() const { return value != 0; }
};

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
  std::string data;
  bool operator==(const entry&) const = default;
};

// What must be durable before any message of the same ready is sent (Raft paper §5.1 "Persisted
// state on all servers": currentTerm and votedFor; commit is kept so a restart need not wait for
// a leader to learn what it had already applied).
struct hard_state {
  term_id term;
  node_id vote;
  log_index commit;
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

enum class log_level : std::uint8_t { debug, info, warn, error };
using log_sink = std::function<void(log_level, std::string_view)>;

}  // namespace chronik::consensus
