// Configuration changes, one server at a time (dissertation §4.1), and learners. A change takes
// effect when its entry commits; the leader allows one at a time, and only after an entry of its
// own term has committed, which closes the hole Ongaro described for single-server changes.
#include <algorithm>

#include "base/assert.h"
#include "consensus/core/raft.h"

namespace chronik::consensus {

namespace {
bool contains(const std::vector<node_id>& v, node_id id) { return std::find(v.begin(), v.end(), id) != v.end(); }
}  // namespace

std::expected<log_index, raft_errc> raft::propose_conf_change(const conf_change& cc) {
  if (role_ != role::leader) return std::unexpected(raft_errc::not_leader);
  wake();
  if (lead_transferee_ != no_node) return std::unexpected(raft_errc::transfer_in_progress);
  if (pending_conf_index_ > log_.committed() || !conf_entries_.empty() || !committed_in_current_term())
    return std::unexpected(raft_errc::conf_change_pending);
  const bool voter = contains(conf_.voters, cc.node);
  const bool learner = contains(conf_.learners, cc.node);
  switch (cc.op) {
    case conf_change::kind::add_voter:
      if (voter) return std::unexpected(raft_errc::invalid_conf_change);
      break;
    case conf_change::kind::add_learner:
      if (voter || learner) return std::unexpected(raft_errc::invalid_conf_change);
      break;
    case conf_change::kind::remove:
      if (!voter && !learner) return std::unexpected(raft_errc::invalid_conf_change);
      if (voter && conf_.voters.size() == 1) return std::unexpected(raft_errc::invalid_conf_change);
      break;
  }
  const log_index index = log_.last_index().next();
  pending_conf_index_ = index;
  append_entries({entry{term_, index, entry_type::conf_change, cc.encode()}});
  return index;
}

void raft::track_conf_entries(const std::vector<entry>& entries) {
  if (entries.empty()) return;
  // Called once the entries are in the log. Pending changes at their indexes are theirs now, and
  // a conflict truncated the log after them, so changes past its end are gone too. Changes past
  // them still in the log stay: an append repeating part of the log (a late duplicate) truncates
  // nothing, and dropping them lost a committed change (found by the host simulation's moves: a
  // duplicate of entry 76 dropped the promotion at 77, and the replica never counted itself a
  // voter while its leader did).
  // Nearly always there is no pending change: skip the four tree searches then (they were 0.8% of
  // the core's instructions per entry at batch 1, bench/raft/instructions_compare.sh).
  if (!conf_entries_.empty()) {
    conf_entries_.erase(conf_entries_.lower_bound(entries.front().index),
                        conf_entries_.upper_bound(entries.back().index));
    conf_entries_.erase(conf_entries_.upper_bound(log_.last_index()), conf_entries_.end());
  }
  for (const auto& e : entries) {
    if (e.type != entry_type::conf_change) continue;
    auto cc = conf_change::decode(e.data);
    CHRONIK_ASSERT(cc.has_value(), "undecodable configuration change entry");
    conf_entries_.emplace(e.index, *cc);
  }
}

void raft::load_conf_entries() {
  // After a restart, changes after the snapshot are found again in the log.
  log_index next = log_.first_index();
  const log_index end = log_.last_index().next();
  while (next < end) {
    auto batch = log_.slice(next, end, 4ULL << 20);
    CHRONIK_ASSERT(batch.has_value() && !batch->empty(), "stored log must be readable at start");
    next = batch->back().index.next();
    for (const auto& e : *batch) {
      if (e.type != entry_type::conf_change) continue;
      // Skipping an entry this build cannot read would run the group with a configuration its
      // peers do not have; a newer build's record (docs/raft.md "Configuration change entries")
      // must stop the node instead.
      auto cc = conf_change::decode(e.data);
      CHRONIK_ASSERT(cc.has_value(), "stored configuration change entry is undecodable (unknown version or damage)");
      conf_entries_.emplace(e.index, *cc);
    }
  }
}

void raft::apply_conf_changes_up_to(log_index committed) {
  while (!conf_entries_.empty() && conf_entries_.begin()->first <= committed) {
    const auto [index, cc] = *conf_entries_.begin();
    conf_entries_.erase(conf_entries_.begin());
    if (index <= conf_applied_) continue;
    conf_applied_ = index;
    apply_conf_change(cc);
  }
}

void raft::apply_conf_change(const conf_change& cc) {
  auto erase = [](std::vector<node_id>& v, node_id id) { std::erase(v, id); };
  switch (cc.op) {
    case conf_change::kind::add_voter:
      erase(conf_.learners, cc.node);
      if (!contains(conf_.voters, cc.node)) conf_.voters.push_back(cc.node);
      break;
    case conf_change::kind::add_learner:
      if (!contains(conf_.voters, cc.node) && !contains(conf_.learners, cc.node)) conf_.learners.push_back(cc.node);
      break;
    case conf_change::kind::remove:
      erase(conf_.voters, cc.node);
      erase(conf_.learners, cc.node);
      break;
  }
  std::sort(conf_.voters.begin(), conf_.voters.end());
  std::sort(conf_.learners.begin(), conf_.learners.end());
  log_line(log_level::info, "applied configuration change: " + to_string(cc));
  rebuild_progress(false);
  if (role_ != role::leader) return;
  if (!is_voter(self_)) {
    // A removed leader steps down once the change that removes it has committed.
    become_follower(term_, node_id{});
    return;
  }
  // A smaller quorum may commit more right away.
  if (maybe_commit()) broadcast_append(true);
}

void raft::rebuild_progress(bool fresh) {
  if (fresh) progress_.clear();
  const log_index next = log_.last_index().next();
  auto ensure = [&](node_id id, bool learner) {
    auto it = progress_.find(id);
    if (it == progress_.end()) it = progress_.emplace(id, progress(next, cfg_.max_inflight_msgs, cfg_.max_inflight_bytes)).first;
    it->second.learner = learner;
  };
  for (node_id id : conf_.voters) ensure(id, false);
  for (node_id id : conf_.learners) ensure(id, true);
  std::erase_if(progress_, [&](const auto& kv) {
    return !contains(conf_.voters, kv.first) && !contains(conf_.learners, kv.first);
  });
}

}  // namespace chronik::consensus
