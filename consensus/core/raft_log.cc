#include "consensus/core/raft_log.h"

#include <algorithm>

#include "base/assert.h"

namespace chronik::consensus {

raft_log::raft_log(const log_reader& storage) : storage_(storage) {
  offset_ = storage_.last_index().next();
  const hard_state hs = storage_.initial_hard_state();
  committed_ = hs.commit;
  // Everything up to the snapshot was applied when the snapshot was taken.
  applied_ = storage_.first_index().prev();
  committed_ = std::max(committed_, applied_);
  check_invariants();
}

void raft_log::check_invariants() const {
  CHRONIK_ASSERT(applied_ <= committed_, "applied never passes committed (§5.4)");
  CHRONIK_ASSERT(committed_ <= last_index(), "commit never points past the last index");
  CHRONIK_ASSERT(unstable_.empty() || (unstable_.front().index == offset_ &&
                                       unstable_.back().index.value == offset_.value + unstable_.size() - 1),
                 "the unstable entries are contiguous from offset_, the stable/unstable boundary");
  CHRONIK_ASSERT(!pending_snapshot_ || pending_snapshot_->meta.index < offset_,
                 "an unpersisted snapshot lies below the unstable entries");
}

log_index raft_log::first_index() const {
  if (pending_snapshot_) return pending_snapshot_->meta.index.next();
  return storage_.first_index();
}

log_index raft_log::last_index() const {
  if (!unstable_.empty()) return unstable_.back().index;
  if (pending_snapshot_) return pending_snapshot_->meta.index;
  return offset_.prev();
}

log_index raft_log::last_stable_index() const {
  if (pending_snapshot_) return log_index{0};
  return offset_.prev();
}

term_id raft_log::last_term() const {
  auto t = term(last_index());
  CHRONIK_ASSERT(t.has_value(), "the last log entry always has a term");
  return *t;
}

std::optional<term_id> raft_log::term(log_index i) const {
  // Ordered so that the hot cases (past the end while matching a follower's new entries, §5.3;
  // the unstable tail) are answered without asking storage, which is a virtual call.
  if (i > last_index()) return std::nullopt;
  if (i >= offset_ && !unstable_.empty()) return unstable_[i.value - offset_.value].term;
  if (pending_snapshot_) {
    if (i == pending_snapshot_->meta.index) return pending_snapshot_->meta.term;
    return std::nullopt;  // older than an incoming snapshot
  }
  // The snapshot point, one below the first entry, still knows its term.
  if (i < storage_.first_index().prev()) return std::nullopt;
  if (i.value == 0) return term_id{0};
  auto t = storage_.term(i);
  if (!t) return std::nullopt;
  return *t;
}

bool raft_log::is_up_to_date(log_index last, term_id t) const {
  const term_id mine = last_term();
  return t > mine || (t == mine && last >= last_index());
}

log_index raft_log::find_conflict(const std::vector<entry>& entries) const {
  for (const auto& e : entries)
    if (!match_term(e.index, e.term)) return e.index;
  return log_index{0};
}

std::optional<log_index> raft_log::maybe_append(log_index prev, term_id prev_term, log_index leader_commit,
                                                std::vector<entry> entries) {
  if (!match_term(prev, prev_term)) return std::nullopt;
  const log_index last_new{prev.value + entries.size()};
  const log_index conflict = find_conflict(entries);
  if (conflict.value != 0) {
    // A committed entry never conflicts (§5.4 leader completeness); if it does, safety is broken.
    CHRONIK_ASSERT(conflict > committed_, "conflict at a committed index");
    entries.erase(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(conflict.value - prev.value - 1));
    truncate_and_append(std::move(entries));
  }
  commit_to(std::min(leader_commit, last_new));
  check_invariants();
  return last_new;
}

log_index raft_log::append(std::vector<entry> entries) {
  if (entries.empty()) return last_index();
  CHRONIK_ASSERT(entries.front().index > committed_, "append below the commit index");
  CHRONIK_EXPECTS(entries.front().index == last_index().next(), "a leader appends at the end of its log");
  truncate_and_append(std::move(entries));
  check_invariants();
  return last_index();
}

void raft_log::truncate_and_append(std::vector<entry> entries) {
  const log_index from = entries.front().index;
  CHRONIK_EXPECTS(from.value <= offset_.value + unstable_.size(), "appended entries leave no gap in the log");
  // Terms never decrease along the log (§5.3): within the run, and from the entry it follows.
  const std::optional<term_id> before = term(from.prev());
  CHRONIK_EXPECTS(!before || *before <= entries.front().term, "an appended entry's term is not below its predecessor's");
  for (std::size_t k = 1; k < entries.size(); ++k) {
    CHRONIK_EXPECTS(entries[k].index == entries[k - 1].index.next(), "appended entries have consecutive indexes");
    CHRONIK_EXPECTS(entries[k - 1].term <= entries[k].term, "terms never decrease along the log");
  }
  if (from.value == offset_.value + unstable_.size()) {
    // Plain append after the unstable tail.
  } else if (from <= offset_) {
    // Replaces the unstable tail and part of the stable log: the shell truncates storage from
    // `from` when it persists these entries.
    unstable_.clear();
    offset_ = from;
  } else {
    unstable_.resize(from.value - offset_.value);
  }
  for (auto& e : entries) unstable_.push_back(std::move(e));
}

std::pair<log_index, term_id> raft_log::find_conflict_by_term(log_index i, term_id t) const {
  for (;; i = i.prev()) {
    auto ours = term(i);
    if (!ours) return {i, term_id{0}};  // compacted or past the end: give up here
    if (*ours <= t || i.value == 0) return {i, *ours};
  }
}

std::expected<std::vector<entry>, log_errc> raft_log::slice(log_index lo, log_index hi, std::uint64_t max_bytes) const {
  if (lo < first_index()) return std::unexpected(log_errc::compacted);
  if (hi > last_index().next()) return std::unexpected(log_errc::unavailable);
  std::vector<entry> out;
  std::uint64_t bytes = 0;
  if (lo < offset_) {
    auto stored = storage_.entries(lo, std::min(hi, offset_), max_bytes);
    if (!stored) return std::unexpected(stored.error());
    for (auto& e : *stored) bytes += e.data.size();
    out = std::move(*stored);
    if (out.empty() || out.back().index.next() < std::min(hi, offset_)) return out;  // byte limit hit
  }
  const log_index from = std::max(lo, offset_);
  if (from < hi) out.reserve(out.size() + (hi.value - from.value));  // one allocation, not log2(n)
  for (log_index i = from; i < hi; i = i.next()) {
    const entry& e = unstable_[i.value - offset_.value];
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

bool raft_log::maybe_commit(log_index i, term_id current) {
  if (i > committed_ && term(i) == current) {
    commit_to(i);
    return true;
  }
  return false;
}

void raft_log::commit_to(log_index i) {
  if (i <= committed_) return;
  CHRONIK_EXPECTS(i <= last_index(), "commit beyond the last index");
  committed_ = i;
  CHRONIK_ENSURES(applied_ <= committed_, "applied never passes committed");
}

void raft_log::applied_to(log_index i) {
  // A ready taken before a snapshot arrived may finish applying below it: nothing to do then.
  if (i <= applied_) return;
  CHRONIK_EXPECTS(i <= committed_, "applied beyond the commit index");
  applied_ = i;
}

std::vector<entry> raft_log::next_committed(log_index handed_out, std::uint64_t max_bytes) const {
  // Nothing at or before an incoming snapshot is applied entry by entry.
  const log_index lo = std::max({handed_out, applied_, first_index().prev()}).next();
  if (lo > committed_) return {};
  auto s = slice(lo, committed_.next(), max_bytes);
  CHRONIK_ASSERT(s.has_value(), "committed entries must be readable");
  return std::move(*s);
}

void raft_log::stable_to(log_index i, term_id t) {
  if (unstable_.empty() || i < offset_ || i > unstable_.back().index) return;
  // A later ready may have replaced this entry with one of another term; then it is not stable.
  if (unstable_[i.value - offset_.value].term != t) return;
  unstable_.erase(unstable_.begin(), unstable_.begin() + static_cast<std::ptrdiff_t>(i.value - offset_.value + 1));
  offset_ = i.next();
  check_invariants();
}

void raft_log::stable_snapshot_to(log_index i) {
  if (pending_snapshot_ && pending_snapshot_->meta.index == i) pending_snapshot_.reset();
  check_invariants();
}

void raft_log::restore(snapshot snap) {
  // applied_ moves when the shell has installed the snapshot (advance). A snapshot at or below what
  // was applied is never installed (§7: the follower keeps its log then), so commit moves forward.
  CHRONIK_EXPECTS(snap.meta.index >= applied_, "an installed snapshot does not reach behind what was applied");
  committed_ = snap.meta.index;
  unstable_.clear();
  offset_ = snap.meta.index.next();
  pending_snapshot_ = std::move(snap);
  check_invariants();
}

}  // namespace chronik::consensus
