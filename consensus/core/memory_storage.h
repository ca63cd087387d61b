// An in-memory log_reader that a shell can persist readies into: the Raft simulation's "disk"
// (what survives a crash is exactly what was persisted) and the store of in-process benchmarks.
// Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "consensus/core/log_reader.h"

namespace chronik::consensus {

class memory_storage final : public log_reader {
 public:
  // A group bootstrapped with configuration `conf`: its log starts with one committed change per
  // member at term 1 (as etcd bootstraps), so a node that joins later learns the configuration by
  // replication like any other entry. An empty `conf` is a node that will join an existing group.
  explicit memory_storage(const conf_state& conf = {});

  // Persists what a ready asks to persist: hard state, then a snapshot, then entries (an entry at
  // an index already stored replaces it and everything after it).
  void persist(const std::optional<hard_state>& hs, const std::optional<snapshot>& snap,
               const std::vector<entry>& ents);
  // Takes a snapshot at `index` (which must be applied) and drops the log up to it (§7).
  void compact(log_index index, std::string data, conf_state conf);

  std::expected<std::vector<entry>, log_errc> entries(log_index lo, log_index hi,
                                                      std::uint64_t max_bytes) const override;
  std::expected<term_id, log_errc> term(log_index i) const override;
  log_index first_index() const override { return snapshot_.meta.index.next(); }
  log_index last_index() const override { return log_index{snapshot_.meta.index.value + log_.size()}; }
  snapshot latest_snapshot() const override { return snapshot_; }
  hard_state initial_hard_state() const override { return hard_state_; }
  conf_state initial_conf_state() const override { return snapshot_.meta.conf; }

  const hard_state& persisted_hard_state() const { return hard_state_; }

 private:
  hard_state hard_state_;
  snapshot snapshot_;       // index 0 with the initial configuration until the first compaction
  std::vector<entry> log_;  // indexes snapshot_.meta.index + 1, ...
};

// A log_reader that forwards to a memory_storage someone else owns: for a core that takes its
// reader by unique_ptr (the multi-Raft host core) while the test or simulation keeps the store.
class memory_storage_view final : public log_reader {
 public:
  explicit memory_storage_view(const memory_storage& s) : s_(s) {}
  std::expected<std::vector<entry>, log_errc> entries(log_index lo, log_index hi,
                                                      std::uint64_t max_bytes) const override {
    return s_.entries(lo, hi, max_bytes);
  }
  std::expected<term_id, log_errc> term(log_index i) const override { return s_.term(i); }
  log_index first_index() const override { return s_.first_index(); }
  log_index last_index() const override { return s_.last_index(); }
  snapshot latest_snapshot() const override { return s_.latest_snapshot(); }
  hard_state initial_hard_state() const override { return s_.initial_hard_state(); }
  conf_state initial_conf_state() const override { return s_.initial_conf_state(); }

 private:
  const memory_storage& s_;
};

}  // namespace chronik::consensus
