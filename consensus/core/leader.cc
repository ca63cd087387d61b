// The leader: proposals, pipelined replication with flow control, fast backtracking, commit
// (Raft paper §5.3, §5.4.2), snapshots to slow followers (§7) and leadership transfer.
#include <algorithm>

#include "base/assert.h"
#include "consensus/core/raft.h"

namespace chronik::consensus {

std::expected<log_index, raft_errc> raft::propose(shared_payload data) {
  if (role_ != role::leader) return std::unexpected(raft_errc::not_leader);
  wake();
  if (lead_transferee_ != no_node) return std::unexpected(raft_errc::transfer_in_progress);
  if (uncommitted_bytes_ > 0 && uncommitted_bytes_ + data.size() > cfg_.max_uncommitted_bytes)
    return std::unexpected(raft_errc::dropped);
  const log_index index = log_.last_index().next();
  uncommitted_.emplace_back(index, data.size());
  uncommitted_bytes_ += data.size();
  append_entries({entry{term_, index, entry_type::normal, std::move(data)}});
  return index;
}

std::expected<void, raft_errc> raft::propose_anywhere(shared_payload data) {
  if (role_ == role::leader) {
    auto r = propose(std::move(data));
    if (!r) return std::unexpected(r.error());
    return {};
  }
  if (leader_ == no_node) return std::unexpected(raft_errc::not_leader);
  message m{message_type::propose, self_, leader_, term_};
  m.entries.push_back(entry{term_, log_index{}, entry_type::normal, std::move(data)});
  send(std::move(m));
  return {};
}

void raft::handle_forwarded_proposal(const message& m) {
  // Only normal entries are forwarded: configuration changes stay with the leader, which runs the
  // one-at-a-time rule (§4.1 of the dissertation) on what it proposes itself.
  for (const auto& e : m.entries)
    if (e.type == entry_type::normal) (void)propose(e.data);  // refused ones are lost, as a drop would be
}

void raft::append_entries(std::vector<entry> entries) {
  track_conf_entries(entries);
  log_.append(std::move(entries));
  // Appends go out when the shell next takes a ready, so proposals made in between share one
  // message per follower (proposal batching).
  pending_broadcast_ = true;
}

void raft::broadcast_append(bool send_if_empty) {
  for (auto& [id, pr] : progress_)
    if (id != self_) maybe_send_append(id, send_if_empty);
}

void raft::broadcast_heartbeat(const std::string& context) {
  for (auto& [id, pr] : progress_)
    if (id != self_) send_heartbeat(id, context);
}

void raft::send_heartbeat(node_id to, const std::string& context) {
  message m{message_type::heartbeat, self_, to, term_};
  // Never tell a follower to commit past what it is known to hold.
  m.commit = std::min(progress_.at(to).match, log_.committed());
  m.context = context;
  send(std::move(m));
}

// Sends the next entries to `to`, or a snapshot when they were compacted away. Returns whether a
// message went out.
bool raft::maybe_send_append(node_id to, bool send_if_empty) {
  progress& pr = progress_.at(to);
  if (pr.paused()) return false;
  const log_index prev = pr.next.prev();
  auto prev_term = log_.term(prev);
  // A probe repeated at the same `next` carries no entries (progress::probe_entries_next): it
  // only asks again where our logs agree, so a follower slow to answer is not sent the same
  // backlog once per heartbeat.
  const bool repeat_probe = pr.state == progress_state::probe && pr.probe_entries_next == pr.next;
  auto ents = repeat_probe ? std::expected<std::vector<entry>, log_errc>(std::vector<entry>{})
                           : log_.slice(pr.next, log_.last_index().next(), cfg_.max_msg_bytes);
  if (!prev_term || !ents) {
    // The follower needs entries we no longer have: send the snapshot (§7).
    const snapshot snap = storage_.latest_snapshot();
    if (snap.empty()) return false;  // nothing to send yet; retried on the next heartbeat response
    log_line(log_level::info, "sending snapshot at " + std::to_string(snap.meta.index.value) + " to " +
                                  std::to_string(to.value()));
    pr.become_snapshot(snap.meta.index);
    send_snapshot_chunk(to, pr);
    return true;
  }
  if (ents->empty() && !send_if_empty) return false;
  message m{message_type::append, self_, to, term_};
  m.index = prev;
  m.log_term = *prev_term;
  m.commit = log_.committed();
  std::uint64_t bytes = 0;
  for (const auto& e : *ents) bytes += e.data.size();
  if (!ents->empty()) {
    const log_index last = ents->back().index;
    if (pr.state == progress_state::replicate) {
      // Pipelining: assume success and move on; a rejection resets next (§5.3).
      pr.next = last.next();
      pr.inflight.add(last, bytes);
    } else if (pr.state == progress_state::probe) {
      pr.probe_sent = true;
      pr.probe_entries_next = pr.next;
    }
  } else if (pr.state == progress_state::probe) {
    pr.probe_sent = true;
  }
  m.entries = std::move(*ents);
  send(std::move(m));
  return true;
}

void raft::send_snapshot_chunk(node_id to, progress& pr) {
  const snapshot snap = storage_.latest_snapshot();
  if (snap.meta.index != pr.snapshot_index) {
    // A newer snapshot replaced the one in flight: start over with it.
    pr.become_snapshot(snap.meta.index);
  }
  message m{message_type::snapshot_chunk, self_, to, term_};
  m.snap_meta = snap.meta;
  m.snap_offset = pr.snapshot_offset;
  const std::uint64_t size = snap.data.size();
  const std::uint64_t begin = std::min(pr.snapshot_offset, size);
  const std::uint64_t len = std::min(cfg_.snapshot_chunk_bytes, size - begin);
  m.snap_data = snap.data.substr(begin, len);
  m.snap_done = begin + len >= size;
  pr.snapshot_idle_ticks = 0;
  send(std::move(m));
}

void raft::step_leader(const message& m) {
  switch (m.type) {
    case message_type::append_response: handle_append_response(m); break;
    case message_type::heartbeat_response: {
      auto it = progress_.find(m.from);
      if (it == progress_.end()) break;  // from a node removed from the configuration
      progress& pr = it->second;
      // A heartbeat response unblocks a probe whose append (or its answer) was lost, and a full
      // pipeline whose appends were all lost: the next append then either lands or is rejected,
      // and a rejection sends the follower back to probing. A probe repeated this way carries no
      // entries (progress::probe_entries_next): a follower that answers heartbeats at once but
      // appends only after its disk would otherwise get the same entries once per heartbeat.
      pr.probe_sent = false;
      if (pr.state == progress_state::replicate && pr.inflight.full()) pr.inflight.free_first();
      // A follower behind us gets an append even if we think its entries are in flight: if they
      // were lost, it rejects and we back up (§5.3), instead of waiting forever.
      if (pr.match < log_.last_index()) maybe_send_append(m.from, true);
      handle_heartbeat_ack(m);
      break;
    }
    case message_type::snapshot_response: handle_snapshot_response(m); break;
    case message_type::read_index: handle_read_index(m); break;
    case message_type::propose: handle_forwarded_proposal(m); break;
    default: break;
  }
}

void raft::handle_append_response(const message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  progress& pr = it->second;
  if (m.reject && m.context == rejoin_context && m.reject_hint < pr.match) {
    // docs/raft.md "Rejoining replicas": the follower lost the log it acknowledged, so what we
    // recorded as its match is gone. Lowering match never lowers the commit index (maybe_commit
    // only moves it forward); it only makes us send the entries again.
    pr.match = m.reject_hint;
    pr.state = progress_state::probe;
    pr.become_probe();
    maybe_send_append(m.from, true);
    return;
  }
  if (m.reject) {
    // Fast backtracking: skip straight to where our log and the follower's may agree.
    log_index hint = m.reject_hint;
    if (m.hint_term.value > 0) hint = log_.find_conflict_by_term(m.reject_hint, m.hint_term).first;
    if (pr.maybe_decrease(m.index, hint)) {
      if (pr.state == progress_state::replicate) pr.become_probe();
      maybe_send_append(m.from, true);
    }
    return;
  }
  const bool was_snapshot = pr.state == progress_state::snapshot;
  // A probe answered at exactly the follower's match confirms where our logs agree without moving
  // match: that is what an empty repeat probe (maybe_send_append) gets back when the follower
  // lost the probe that carried entries. It ends probing like any other acknowledgement;
  // otherwise only entries the follower never received could end it.
  const bool probe_confirmed = pr.state == progress_state::probe && m.index == pr.match;
  if (!pr.maybe_update(m.index) && !probe_confirmed) {
    if (was_snapshot && m.index >= pr.snapshot_index) pr.become_probe();
    return;
  }
  switch (pr.state) {
    case progress_state::probe: pr.become_replicate(); break;
    case progress_state::snapshot:
      if (pr.match >= pr.snapshot_index) {
        pr.become_probe();
        pr.become_replicate();
      }
      break;
    case progress_state::replicate: pr.inflight.free_to(pr.match); break;
  }
  if (maybe_commit()) {
    // Tell every follower the new commit index now rather than at the next heartbeat.
    broadcast_append(true);
  } else {
    // Keep the pipeline full for this follower.
    while (maybe_send_append(m.from, false)) {
    }
  }
  // maybe_commit may have applied a configuration change that removed this follower, and its
  // progress with it: look it up again rather than through `pr`.
  if (m.from != lead_transferee_) return;
  if (auto it = progress_.find(m.from); it != progress_.end() && it->second.match == log_.last_index()) {
    send(message{message_type::timeout_now, self_, m.from, term_});
  }
}

void raft::handle_snapshot_response(const message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end() || it->second.state != progress_state::snapshot) return;
  progress& pr = it->second;
  if (m.index != pr.snapshot_index) return;
  pr.snapshot_offset = m.snap_offset;
  send_snapshot_chunk(m.from, pr);
}

// §5.4.2: the commit index is the largest index replicated on a quorum of voters, and it only
// moves when that entry is of the current term.
bool raft::maybe_commit() {
  std::vector<log_index> matches;
  for (const auto& [id, pr] : progress_)
    if (is_voter(id)) matches.push_back(pr.match);
  if (matches.size() < quorum()) return false;
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const log_index candidate = matches[quorum() - 1];
  if (!log_.maybe_commit(candidate, term_)) return false;
  while (!uncommitted_.empty() && uncommitted_.front().first <= candidate) {
    uncommitted_bytes_ -= uncommitted_.front().second;
    uncommitted_.pop_front();
  }
  apply_conf_changes_up_to(log_.committed());
  release_pending_reads();
  return true;
}

std::expected<void, raft_errc> raft::transfer_leadership(node_id to) {
  if (role_ != role::leader) return std::unexpected(raft_errc::not_leader);
  if (to == self_) return {};
  if (!is_voter(to)) return std::unexpected(raft_errc::invalid_conf_change);
  // The same transfer asked again runs on its first deadline: restarting the election timer each
  // time would keep an unreachable transferee pending, and the leader refusing proposals, forever
  // (and it would hide a lost quorum from the check above, which counts on that timer).
  if (lead_transferee_ == to) return std::unexpected(raft_errc::transfer_in_progress);
  wake();
  lead_transferee_ = to;
  election_elapsed_ = 0;  // the transfer must finish within an election timeout
  log_line(log_level::info, "transferring leadership to " + std::to_string(to.value()));
  if (progress_.at(to).match == log_.last_index()) send(message{message_type::timeout_now, self_, to, term_});
  else maybe_send_append(to, true);
  return {};
}

}  // namespace chronik::consensus

namespace chronik::consensus {

// Quiescence (CockroachDB's replica quiescence; docs/raft.md "Quiescence"). The leader may go
// quiet only when there is nothing left for a heartbeat to do: everything is committed, every
// follower and learner holds the whole log (so no append, snapshot or commit index is owed to
// anyone), and no read, configuration change or transfer waits on a round of messages.
bool raft::leader_can_quiesce() const {
  const log_index last = log_.last_index();
  if (log_.committed() != last || pending_broadcast_ || lead_transferee_ != no_node) return false;
  if (!pending_reads_.empty() || !reads_before_first_commit_.empty()) return false;
  if (pending_conf_index_ > log_.committed() || !conf_entries_.empty()) return false;
  for (const auto& [id, pr] : progress_)  // our own entry: the log is durable here too
    if (pr.match != last || pr.state == progress_state::snapshot) return false;
  return true;
}

void raft::maybe_quiesce_leader() {
  if (cfg_.quiesce_after_ticks == 0) return;
  if (!leader_can_quiesce() || log_.last_index() != idle_mark_) {
    idle_ticks_ = 0;
    idle_mark_ = log_.last_index();
    return;
  }
  if (++idle_ticks_ < cfg_.quiesce_after_ticks) return;
  // Only with every peer heard from in this check-quorum window (§6.2): a leader cut off from
  // its followers must stay awake to notice and step down, not fall asleep believing it leads.
  for (const auto& [id, pr] : progress_)
    if (id != self_ && !pr.recent_active) return;
  // One last heartbeat naming our last entry: a follower whose log ends with the same entry
  // holds exactly our log (Log Matching, §5.3), takes our commit index and goes quiet too.
  for (const auto& [id, pr] : progress_) {
    if (id == self_) continue;
    message m{message_type::heartbeat, self_, id, term_};
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    m.commit = log_.committed();
    send(std::move(m));
  }
  quiesced_ = true;
  log_line(log_level::debug, "quiesced at index " + std::to_string(log_.last_index().value));
}

}  // namespace chronik::consensus
