// The Raft log as one node's core sees it: entries already durable (read through log_reader) plus
// entries and at most one snapshot that the shell has not yet persisted ("unstable"), and the
// commit and apply positions. Raft paper §5.3 (log matching) and §5.4 (commit rules).
//
// Invariants, asserted after every change (check_invariants):
//   applied <= committed <= last index (§5.4: only what is committed is applied, and commit never
//   points past the log); the unstable entries are contiguous and start at offset_, the first index
//   not known durable, so [first, offset_) is stable and [offset_, last] is not; a pending snapshot
//   lies below offset_. Terms never decrease along the log (§5.3: a leader appends entries of its
//   own term after what it has), checked for every appended run against the entry before it.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "consensus/core/log_reader.h"
#include "consensus/core/types.h"

namespace chronik::consensus {

class raft_log {
 public:
  explicit raft_log(const log_reader& storage);

  log_index first_index() const;
  log_index last_index() const;
  term_id last_term() const;
  // The last index the shell has made durable (entries after it are still in memory only).
  log_index last_stable_index() const;
  // Term of entry i, or nullopt when i is compacted away or past the end.
  std::optional<term_id> term(log_index i) const;
  bool match_term(log_index i, term_id t) const { return term(i) == t; }
  // §5.4.1: a candidate's log is at least as up to date as ours.
  bool is_up_to_date(log_index last, term_id t) const;

  // Follower side of AppendEntries (§5.3): when our entry at prev matches prev_term, append the
  // entries (dropping a conflicting suffix, never a matching one), advance commit to
  // min(leader_commit, last new index), and return the last new index.
  std::optional<log_index> maybe_append(log_index prev, term_id prev_term, log_index leader_commit,
                                        std::vector<entry> entries);
  // Leader side: append at the end. Returns the new last index.
  log_index append(std::vector<entry> entries);

  // etcd's findConflictByTerm: the largest index <= i whose term is <= t, with that term. Used by
  // both sides of fast backtracking.
  std::pair<log_index, term_id> find_conflict_by_term(log_index i, term_id t) const;

  // Entries in [lo, hi), at most max_bytes of data (but at least one).
  std::expected<std::vector<entry>, log_errc> slice(log_index lo, log_index hi, std::uint64_t max_bytes) const;

  log_index committed() const { return committed_; }
  log_index applied() const { return applied_; }
  // §5.4.2: a leader only counts replicas to commit an entry of its current term.
  bool maybe_commit(log_index i, term_id current);
  void commit_to(log_index i);
  void applied_to(log_index i);
  // Committed entries not yet handed out for applying, starting after `handed_out`.
  std::vector<entry> next_committed(log_index handed_out, std::uint64_t max_bytes) const;

  // What the shell must persist, and the acknowledgement that it did.
  const std::vector<entry>& unstable_entries() const { return unstable_; }
  const std::optional<snapshot>& unstable_snapshot() const { return pending_snapshot_; }
  void stable_to(log_index i, term_id t);
  void stable_snapshot_to(log_index i);

  // Installs a snapshot received from the leader (§7): everything before and at it is replaced.
  void restore(snapshot snap);

 private:
  void truncate_and_append(std::vector<entry> entries);
  void check_invariants() const;
  log_index find_conflict(const std::vector<entry>& entries) const;

  const log_reader& storage_;
  std::optional<snapshot> pending_snapshot_;
  std::vector<entry> unstable_;  // indexes offset_, offset_ + 1, ...
  log_index offset_;
  log_index committed_;
  log_index applied_;
};

}  // namespace chronik::consensus
