// The read side of durable storage, as the Raft core sees it (etcd raft's Storage interface). The
// core keeps entries not yet persisted in memory and reads everything older through this; it never
// writes: the shell persists what ready() hands it, then tells the storage.
//
// A reader serves one group. Calls are made on the core's thread and must not block for long: the
// WAL implementation answers from its index and page cache.
#pragma once

#include <cstdint>
#include <expected>
#include <vector>

#include "consensus/core/types.h"

namespace chronik::consensus {

enum class log_errc : std::uint8_t {
  compacted,    // the index lies at or before the snapshot: entries are gone
  unavailable,  // the index is past the last stored entry
  io_error,     // storage failed to read (the shell logs details)
};

class log_reader {
 public:
  virtual ~log_reader() = default;

  // Entries in [lo, hi), at least one if any exist, stopping before exceeding max_bytes of data.
  virtual std::expected<std::vector<entry>, log_errc> entries(log_index lo, log_index hi,
                                                              std::uint64_t max_bytes) const = 0;
  // Term of the entry at i; also answers for the snapshot's own index.
  virtual std::expected<term_id, log_errc> term(log_index i) const = 0;
  // First index still stored (snapshot index + 1) and the last stored index (snapshot index when
  // the log is empty).
  virtual log_index first_index() const = 0;
  virtual log_index last_index() const = 0;
  // The latest snapshot's metadata and payload (empty when none).
  virtual snapshot latest_snapshot() const = 0;
  // Hard state and configuration as of the last restart, to initialise a core.
  virtual hard_state initial_hard_state() const = 0;
  virtual conf_state initial_conf_state() const = 0;
};

}  // namespace chronik::consensus
