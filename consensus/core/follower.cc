// The receiving side of replication: AppendEntries (Raft paper §5.3), heartbeats, and
// InstallSnapshot in chunks (§7).
#include <algorithm>

#include "consensus/core/raft.h"

namespace chronik::consensus {

void raft::handle_append(const message& m) {
  message r{message_type::append_response, self_, m.from, term_};
  if (m.index < log_.committed()) {
    // Everything up to our commit index already matches the leader (§5.4 leader completeness).
    r.index = log_.committed();
    send(std::move(r));
    return;
  }
  const log_index prev = m.index;
  if (auto last = log_.maybe_append(m.index, m.log_term, m.commit, m.entries)) {
    track_conf_entries(m.entries);
    apply_conf_changes_up_to(log_.committed());
    r.index = *last;
    send(std::move(r));
    return;
  }
  // §5.3: reject, with a hint that lets the leader skip a whole term of mismatches at once. The
  // hint is the last index at or below prev whose term is at most the leader's prev term.
  const log_index probe = std::min(prev, log_.last_index());
  auto [hint, hint_term] = log_.find_conflict_by_term(probe, m.log_term);
  r.reject = true;
  if (rejoining_ && prev > log_.last_index()) {
    // We may be missing entries the leader counts as ours (docs/raft.md "Rejoining replicas").
    r.context = rejoin_context;
    hint_term = term_id{};
    hint = log_.last_index();
  }
  r.index = prev;
  r.reject_hint = hint;
  r.hint_term = hint_term;
  send(std::move(r));
}

void raft::handle_heartbeat(const message& m) {
  if (is_quiesce_heartbeat(m)) {
    handle_quiesce_heartbeat(m);
    return;
  }
  // The leader sends min(match, commit), so this never exceeds what we hold, unless we lost the
  // log it counted as matched: a rejoining replica says so, and the leader starts over with us.
  if (m.commit <= log_.last_index()) {
    log_.commit_to(m.commit);
    apply_conf_changes_up_to(log_.committed());
  } else if (rejoining_) {
    message lost{message_type::append_response, self_, m.from, term_};
    lost.reject = true;
    lost.index = m.commit;
    lost.reject_hint = log_.last_index();
    lost.context = rejoin_context;
    send(std::move(lost));
  }
  message r{message_type::heartbeat_response, self_, m.from, term_};
  r.context = m.context;
  send(std::move(r));
}

// The leader quiesced (docs/raft.md "Quiescence"). We follow only when our log provably equals
// the leader's: it ends with the same index and term, so by Log Matching (§5.3) every entry
// before agrees too, and the leader's commit index (its last index) is safe to adopt here. Any
// doubt, and we stay awake and say so, which wakes the leader.
void raft::handle_quiesce_heartbeat(const message& m) {
  message r{message_type::heartbeat_response, self_, m.from, term_};
  if (m.commit == m.index && log_.last_index() == m.index && log_.term(m.index) == m.log_term) {
    log_.commit_to(m.commit);
    apply_conf_changes_up_to(log_.committed());
    quiesced_ = true;
  } else {
    wake();  // a stale quiesce heartbeat can reach a core already quiet
    r.reject = true;
  }
  send(std::move(r));
}

void raft::handle_snapshot_chunk(const message& m) {
  const log_index index = m.snap_meta.index;
  // §7 InstallSnapshot step 6: a log that already holds the snapshot's last entry (same index and
  // term) keeps it and everything after it; only the commit index moves. Replacing the log would
  // drop entries past the snapshot that this replica may already have acknowledged (a snapshot
  // sent after a rejected probe can overtake the appends that caught us up), and a leader may
  // have counted them for commit.
  if (index > log_.committed() && log_.match_term(index, m.snap_meta.term)) {
    log_.commit_to(index);
    apply_conf_changes_up_to(log_.committed());  // as every other commit does
    incoming_snapshot_.reset();
  }
  if (index <= log_.committed()) {
    // We already have everything the snapshot covers; let the leader move on.
    message r{message_type::append_response, self_, m.from, term_};
    r.index = log_.committed();
    send(std::move(r));
    return;
  }
  if (m.snap_offset == 0) incoming_snapshot_ = snapshot{m.snap_meta, {}};
  message ack{message_type::snapshot_response, self_, m.from, term_};
  ack.index = index;
  if (!incoming_snapshot_ || incoming_snapshot_->meta != m.snap_meta ||
      m.snap_offset != incoming_snapshot_->data.size()) {
    // Out of order (a lost or duplicated chunk): ask for what we actually need next.
    ack.reject = true;
    ack.snap_offset = incoming_snapshot_ && incoming_snapshot_->meta == m.snap_meta ? incoming_snapshot_->data.size() : 0;
    send(std::move(ack));
    return;
  }
  incoming_snapshot_->data += m.snap_data;
  if (!m.snap_done) {
    ack.snap_offset = incoming_snapshot_->data.size();
    send(std::move(ack));
    return;
  }
  // The last chunk: the snapshot replaces our log up to its index (§7 steps 6-8).
  snapshot snap = std::move(*incoming_snapshot_);
  incoming_snapshot_.reset();
  log_line(log_level::info, "installing snapshot at index " + std::to_string(index.value));
  // The configuration becomes the snapshot's now, not when the snapshot is durable (advance):
  // entries after it may arrive and commit meanwhile, and their changes apply on top of it. Taken
  // at advance, it dropped such a change (found by the host simulation's moves: a replica promoted
  // right after its snapshot stayed a learner in its own eyes while its leader counted it a voter).
  conf_ = snap.meta.conf;
  conf_applied_ = snap.meta.index;
  log_.restore(std::move(snap));
  conf_entries_.clear();
  rebuild_progress(false);
  message r{message_type::append_response, self_, m.from, term_};
  r.index = index;
  send(std::move(r));
}

}  // namespace chronik::consensus
