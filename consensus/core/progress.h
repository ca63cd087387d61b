// The leader's view of one follower's log (Raft paper §5.3 nextIndex/matchIndex), with etcd's
// flow-control states: probe (one append at a time until we find where logs agree), replicate
// (pipelined appends within an in-flight window) and snapshot (InstallSnapshot in chunks, §7).
#pragma once

#include <cstdint>
#include <algorithm>
#include <deque>

#include "consensus/core/types.h"

namespace chronik::consensus {

enum class progress_state : std::uint8_t { probe, replicate, snapshot };

// Appends in flight to one follower, bounded by count and payload bytes.
class inflight_window {
 public:
  inflight_window(std::uint32_t max_msgs, std::uint64_t max_bytes) : max_msgs_(max_msgs), max_bytes_(max_bytes) {}
  void add(log_index last, std::uint64_t bytes) {
    window_.push_back({last, bytes});
    bytes_ += bytes;
  }
  // An ack up to `acked` frees every message ending at or before it.
  void free_to(log_index acked) {
    while (!window_.empty() && window_.front().last <= acked) {
      bytes_ -= window_.front().bytes;
      window_.pop_front();
    }
  }
  void free_first() {
    if (window_.empty()) return;
    bytes_ -= window_.front().bytes;
    window_.pop_front();
  }
  void reset() {
    window_.clear();
    bytes_ = 0;
  }
  bool full() const { return window_.size() >= max_msgs_ || bytes_ >= max_bytes_; }
  std::size_t count() const { return window_.size(); }

 private:
  struct sent {
    log_index last;
    std::uint64_t bytes;
  };
  std::uint32_t max_msgs_;
  std::uint64_t max_bytes_;
  std::deque<sent> window_;
  std::uint64_t bytes_ = 0;
};

struct progress {
  progress(log_index next_index, std::uint32_t max_msgs, std::uint64_t max_bytes)
      : next(next_index), inflight(max_msgs, max_bytes) {}

  log_index match;
  log_index next;
  progress_state state = progress_state::probe;
  // In probe state only one append is outstanding; it is resent after a heartbeat response.
  bool probe_sent = false;
  // The `next` of the last probe that carried entries (0: none since this probe state began). A
  // probe resent at the same `next` goes out empty: its entries are already on their way (or
  // lost, and then the empty probe's answer moves us to replicate, which sends them again under
  // the in-flight window). Resending them on every heartbeat response was the stall of docs/
  // performance.md "Rolling restart with drain": a returning follower answers heartbeats at once
  // (they skip the disk and travel in their own call) while its answer to the first probe waits
  // behind its disk, so the leader read and sent the whole backlog again every heartbeat, in
  // every group, until its own event loop fell seconds behind and its groups held elections.
  log_index probe_entries_next;
  // Set on any message from the follower; check-quorum reads and clears it every election timeout.
  bool recent_active = false;
  bool learner = false;
  inflight_window inflight;

  // Snapshot transfer: which snapshot, how far we got, and ticks since the last chunk ack.
  log_index snapshot_index;
  std::uint64_t snapshot_offset = 0;
  std::uint32_t snapshot_idle_ticks = 0;

  void become_probe() {
    // After a snapshot the follower holds everything up to it.
    next = state == progress_state::snapshot ? log_index{std::max(match.value, snapshot_index.value) + 1}
                                             : match.next();
    state = progress_state::probe;
    probe_sent = false;
    probe_entries_next = log_index{};
    inflight.reset();
  }
  void become_replicate() {
    state = progress_state::replicate;
    next = match.next();
    inflight.reset();
  }
  void become_snapshot(log_index index) {
    state = progress_state::snapshot;
    snapshot_index = index;
    snapshot_offset = 0;
    snapshot_idle_ticks = 0;
    inflight.reset();
  }
  // A successful append response up to n; returns true when it moved match forward.
  bool maybe_update(log_index n) {
    const bool updated = n > match;
    if (updated) {
      match = n;
      probe_sent = false;
    }
    if (n.next() > next) next = n.next();
    return updated;
  }
  // A rejection of an append at `rejected`: step next back to just after the hint. Ignores stale
  // rejections (of an index we already moved past).
  bool maybe_decrease(log_index rejected, log_index hint) {
    if (state == progress_state::replicate) {
      if (rejected <= match) return false;
      next = match.next();
      return true;
    }
    if (next.prev() != rejected) return false;
    next = log_index{std::max<std::uint64_t>(std::min(rejected.value, hint.value + 1), match.value + 1)};
    probe_sent = false;
    return true;
  }
  bool paused() const {
    switch (state) {
      case progress_state::probe: return probe_sent;
      case progress_state::replicate: return inflight.full();
      case progress_state::snapshot: return true;
    }
    return true;
  }
};

}  // namespace chronik::consensus
