// The durable side of the transaction coordinator (txn_coordinator.h "Durability";
// docs/transactions.md): which `__transaction_state` partitions this node serves, loading a
// partition's transactional ids from its log, the writes every transition makes and what their
// outcome does, checkpoints, expiry of idle ids, and the DescribeTransactions / ListTransactions
// views.
#include <algorithm>
#include <iterator>
#include <utility>

#include "base/assert.h"
#include "kafka/txn/txn_coordinator.h"

namespace chronik::kafka {

// --- which ids this node serves ------------------------------------------------------------------

txn_errc txn_coordinator::serves(std::string_view transactional_id) const {
  if (partitions_ <= 0) return txn_errc::not_coordinator;
  auto it = served_.find(offsets_partition_for(transactional_id, partitions_));
  if (it == served_.end()) return txn_errc::not_coordinator;
  return it->second.loaded ? txn_errc::none : txn_errc::load_in_progress;
}

bool txn_coordinator::loaded(std::int32_t partition) const {
  auto it = served_.find(partition);
  return it != served_.end() && it->second.loaded;
}

std::vector<std::int32_t> txn_coordinator::partitions_served() const {
  std::vector<std::int32_t> out;
  for (const auto& [p, st] : served_) out.push_back(p);
  return out;
}

// --- loading -------------------------------------------------------------------------------------

void txn_coordinator::begin_load(std::int32_t partition, std::int32_t partitions, std::int32_t coordinator_epoch) {
  CHRONIK_ASSERT(partitions > 0 && partition >= 0 && partition < partitions,
                 "a partition of the transaction state topic");
  if (partitions_ != partitions) {
    // The partition count of an internal topic is fixed at creation: another count is another
    // topic, and nothing served from the old one survives.
    for (const auto p : partitions_served()) unload_partition(p);
    partitions_ = partitions;
  }
  unload_partition(partition);
  served_[partition] = partition_state{.coordinator_epoch = coordinator_epoch};
}

void txn_coordinator::load(std::int32_t partition, const txn_log_record& record) {
  auto ps = served_.find(partition);
  CHRONIK_ASSERT(ps != served_.end() && !ps->second.loaded, "records are loaded between begin_load and finish_load");
  ++ps->second.log_records;
  // An id of another partition cannot be in this log unless the partition count changed under the
  // data, which the broker refuses for internal topics.
  if (offsets_partition_for(record.transactional_id, partitions_) != partition) return;
  // Kafka writes Dead only as a tombstone; a Dead value means the same.
  if (!record.value || record.value->status == txn_status::dead) {
    txns_.erase(record.transactional_id);
    return;
  }
  const txn_record_value& v = *record.value;
  txn_state s;
  s.producer_id = v.producer_id;
  s.epoch = v.producer_epoch;
  s.last_producer_id = v.previous_producer_id;
  s.timeout_ms = v.timeout_ms;
  // Kafka never writes PrepareEpochFence (it is a pending state there); should a log hold one, the
  // transaction it names was being aborted, which is what PrepareAbort does.
  s.status = v.status == txn_status::prepare_epoch_fence ? txn_status::prepare_abort : v.status;
  if (v.partitions) {
    for (const auto& topic : *v.partitions) {
      for (const std::int32_t p : topic.partitions) s.partitions.insert(txn_partition{topic.topic, p});
    }
  }
  s.last_update_ms = v.last_update_ms;
  s.start_ms = v.start_ms;
  txn& t = txns_[record.transactional_id];
  t.id = record.transactional_id;
  t.partition = partition;
  // The monotonic clocks start from the age the stored wall-clock stamps give, capped at the
  // limit they feed: a coordinator resumes its predecessor's timeouts, and a stamp from a clock
  // far ahead or behind costs at most one timeout (or expiry) either way.
  const auto credited = [this](std::int64_t stamp, std::int64_t limit) {
    return steady_ms_ - std::clamp<std::int64_t>(now_ms_ - stamp, 0, limit);
  };
  t.ongoing_since_ms = credited(s.start_ms, s.timeout_ms);
  t.idle_since_ms = credited(s.last_update_ms, config_.transactional_id_expiration_ms);
  t.state = std::move(s);
  t.pending_write = 0;
}

void txn_coordinator::finish_load(std::int32_t partition) {
  auto ps = served_.find(partition);
  CHRONIK_ASSERT(ps != served_.end() && !ps->second.loaded, "finish_load follows begin_load");
  ps->second.loaded = true;
  // A decision stored by an earlier coordinator may not have reached every partition: its markers
  // go out again (a marker for a transaction a partition already closed changes nothing there).
  // Ongoing transactions need nothing: their timeout runs from the stored start time.
  for (const auto& [id, t] : txns_) {
    if (t.partition != partition) continue;
    const txn_status s = t.state->status;
    if (s == txn_status::prepare_commit || s == txn_status::prepare_abort) queue_markers(t);
  }
  maybe_checkpoint(partition);
}

void txn_coordinator::unload_partition(std::int32_t partition) {
  auto ps = served_.find(partition);
  if (ps == served_.end()) return;
  std::vector<std::function<void(txn_errc)>> thens;
  for (auto it = pending_writes_.begin(); it != pending_writes_.end();) {
    if (it->second.partition != partition) {
      ++it;
      continue;
    }
    if (it->second.then) thens.push_back(std::move(it->second.then));
    it = pending_writes_.erase(it);
  }
  std::erase_if(writes_, [&](const txn_write& w) { return w.partition == partition; });
  std::erase_if(markers_, [&](const txn_marker_work& w) { return w.state_partition == partition; });
  std::erase_if(txns_, [&](const auto& entry) { return entry.second.partition == partition; });
  served_.erase(ps);
  for (auto& then : thens) then(txn_errc::not_coordinator);
}

// --- writes --------------------------------------------------------------------------------------

std::vector<txn_write> txn_coordinator::take_writes() { return std::exchange(writes_, {}); }

txn_log_record txn_coordinator::to_record(const std::string& id, const txn_state& s) {
  txn_record_value v;
  v.producer_id = s.producer_id;
  v.producer_epoch = s.epoch;
  v.timeout_ms = s.timeout_ms;
  v.status = s.status;
  // Kafka writes Empty with null partitions and every other state with the (possibly empty) list,
  // grouped by topic; the set is sorted by topic, so each topic's partitions are consecutive.
  if (s.status != txn_status::empty) {
    v.partitions.emplace();
    for (const txn_partition& p : s.partitions) {
      if (v.partitions->empty() || v.partitions->back().topic != p.topic) v.partitions->push_back({p.topic, {}});
      v.partitions->back().partitions.push_back(p.partition);
    }
  }
  v.last_update_ms = s.last_update_ms;
  v.start_ms = s.start_ms;
  return txn_log_record{id, std::move(v)};
}

void txn_coordinator::transition(txn& t, std::optional<txn_state> next, std::function<void(txn_errc)> then) {
  CHRONIK_ASSERT(t.pending_write == 0, "one transition at a time per transactional id");
  CHRONIK_ASSERT(loaded(t.partition), "only a loaded partition is written");
  txn_write w;
  w.id = ++next_write_id_;
  w.partition = t.partition;
  w.records.push_back(next ? to_record(t.id, *next) : txn_log_record{t.id, std::nullopt});
  pending_writes_[w.id] = pending_write{t.partition, t.id, std::move(next), std::move(then), false};
  t.pending_write = w.id;
  queue_write(t.partition, std::move(w));
}

void txn_coordinator::queue_write(std::int32_t partition, txn_write w) {
  partition_state& st = served_.find(partition)->second;
  if (st.checkpoint_wanted) {
    st.held.push_back(std::move(w));  // after the checkpoint, in order
    return;
  }
  ++st.in_flight;
  st.log_records += static_cast<std::int64_t>(w.records.size());
  writes_.push_back(std::move(w));
  maybe_checkpoint(partition);
}

void txn_coordinator::apply(const std::string& txn_id, std::uint64_t write_id, std::optional<txn_state> next) {
  auto it = txns_.find(txn_id);
  CHRONIK_ASSERT(it != txns_.end() && it->second.pending_write == write_id,
                 "a transition's id stays until its write is reported");
  txn& t = it->second;
  t.pending_write = 0;
  if (!next) {
    txns_.erase(it);  // the tombstone is stored: the id is gone
    return;
  }
  const bool began = next->status == txn_status::ongoing && (!t.state || t.state->status != txn_status::ongoing);
  t.state = std::move(next);
  if (began) t.ongoing_since_ms = steady_ms_;
  t.idle_since_ms = steady_ms_;
  if (t.state->status == txn_status::prepare_commit || t.state->status == txn_status::prepare_abort) {
    queue_markers(t);
  }
}

void txn_coordinator::write_done(std::uint64_t id, write_outcome outcome) {
  auto it = pending_writes_.find(id);
  if (it == pending_writes_.end()) return;  // its partition was unloaded: already answered
  pending_write pw = std::move(it->second);
  pending_writes_.erase(it);
  auto ps = served_.find(pw.partition);
  CHRONIK_ASSERT(ps != served_.end() && ps->second.in_flight > 0, "a pending write's partition is served");
  --ps->second.in_flight;
  if (pw.checkpoint_last) {
    ps->second.checkpoint_in_flight = false;
    // The owner trims the log at the checkpoint's start: what remains is the live state.
    if (outcome == write_outcome::committed) ps->second.log_records = live_records(pw.partition);
  }
  if (!pw.txn_id.empty()) {
    if (outcome == write_outcome::committed) {
      apply(pw.txn_id, id, std::move(pw.next));
    } else {
      // Not stored (or not known to be): memory stays as it was, and a new id whose first record
      // did not commit does not exist.
      auto t = txns_.find(pw.txn_id);
      CHRONIK_ASSERT(t != txns_.end() && t->second.pending_write == id, "a transition's id stays until reported");
      t->second.pending_write = 0;
      if (!t->second.state) txns_.erase(t);
    }
  }
  const txn_errc answer = outcome == write_outcome::committed ? txn_errc::none
                          : outcome == write_outcome::not_leader ? txn_errc::not_coordinator
                                                                 : txn_errc::coordinator_not_available;
  if (pw.then) pw.then(answer);
  if (outcome == write_outcome::not_leader) {
    // Everything later in the partition's log is overwritten too (Raft's log matching, §5.3):
    // nothing is served from it until the owner loads it again as its leader.
    unload_partition(pw.partition);
  } else {
    maybe_checkpoint(pw.partition);
  }
}

// --- checkpoints ---------------------------------------------------------------------------------

std::int64_t txn_coordinator::live_records(std::int32_t partition) const {
  std::int64_t live = 0;
  for (const auto& [id, t] : txns_) {
    if (t.partition == partition && t.state) ++live;
  }
  return live;
}

void txn_coordinator::maybe_checkpoint(std::int32_t partition) {
  auto ps = served_.find(partition);
  if (ps == served_.end() || !ps->second.loaded) return;
  partition_state& st = ps->second;
  if (!st.checkpoint_wanted && !st.checkpoint_in_flight) {
    st.checkpoint_wanted =
        st.log_records >= config_.checkpoint_min_records && st.log_records > 2 * live_records(partition);
  }
  if (st.checkpoint_wanted && st.in_flight == 0) emit_checkpoint(partition, st);
}

void txn_coordinator::emit_checkpoint(std::int32_t partition, partition_state& st) {
  // No write is in flight, so memory is what the log says: every record before the checkpoint is
  // subsumed by it, and the log may start at its first part.
  std::vector<txn_log_record> all;
  for (const auto& [id, t] : txns_) {
    if (t.partition == partition && t.state) all.push_back(to_record(id, *t.state));
  }
  st.checkpoint_wanted = false;
  if (all.empty()) st.log_records = 0;  // nothing live: nothing to rewrite
  std::vector<txn_write> parts;
  for (std::size_t i = 0; i < all.size(); i += config_.max_records_per_write) {
    const std::size_t end = std::min(all.size(), i + config_.max_records_per_write);
    txn_write w{++next_write_id_, partition, {}, true, i == 0, end == all.size()};
    w.records.assign(std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(i)),
                     std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(end)));
    pending_writes_[w.id] = pending_write{partition, {}, std::nullopt, {}, w.checkpoint_last};
    parts.push_back(std::move(w));
  }
  st.checkpoint_in_flight = !parts.empty();
  for (auto& w : parts) {
    ++st.in_flight;
    st.log_records += static_cast<std::int64_t>(w.records.size());
    writes_.push_back(std::move(w));
  }
  while (!st.held.empty()) {
    ++st.in_flight;
    st.log_records += static_cast<std::int64_t>(st.held.front().records.size());
    writes_.push_back(std::move(st.held.front()));
    st.held.pop_front();
  }
}

// --- expiry --------------------------------------------------------------------------------------

void txn_coordinator::expire() {
  for (auto& [id, t] : txns_) {
    if (!t.state || t.pending_write != 0 || !loaded(t.partition)) continue;
    const txn_status s = t.state->status;
    const bool idle = s == txn_status::empty || s == txn_status::complete_commit || s == txn_status::complete_abort;
    // Kafka's rule (transactional.id.expiration.ms): idle since the last update, measured on this
    // node's monotonic clock (idle_since_ms). The tombstone removes the id here once stored, and
    // from the log at the next checkpoint.
    if (idle && config_.transactional_id_expiration_ms <= steady_ms_ - t.idle_since_ms) {
      transition(t, std::nullopt, {});
    }
  }
}

// --- views ---------------------------------------------------------------------------------------

std::expected<txn_view, txn_errc> txn_coordinator::describe(std::string_view transactional_id) const {
  if (const txn_errc e = serves(transactional_id); e != txn_errc::none) return std::unexpected(e);
  auto it = txns_.find(transactional_id);
  if (it == txns_.end() || !it->second.state) return std::unexpected(txn_errc::transactional_id_not_found);
  const txn_state& s = *it->second.state;
  txn_view v;
  v.transactional_id = it->first;
  v.state = s.status;
  v.producer_id = s.producer_id;
  v.producer_epoch = s.epoch;
  v.timeout_ms = s.timeout_ms;
  v.start_ms = s.status == txn_status::ongoing || s.status == txn_status::prepare_commit ||
                       s.status == txn_status::prepare_abort
                   ? s.start_ms
                   : -1;
  v.partitions.assign(s.partitions.begin(), s.partitions.end());
  return v;
}

std::expected<std::vector<txn_listing>, txn_errc> txn_coordinator::list(
    std::span<const txn_status> states, std::span<const std::int64_t> producer_ids) const {
  for (const auto& [p, st] : served_) {
    if (!st.loaded) return std::unexpected(txn_errc::load_in_progress);
  }
  std::vector<txn_listing> out;
  for (const auto& [id, t] : txns_) {
    if (!t.state) continue;
    if (!states.empty() && std::ranges::find(states, t.state->status) == states.end()) continue;
    if (!producer_ids.empty() && std::ranges::find(producer_ids, t.state->producer_id) == producer_ids.end()) continue;
    out.push_back(txn_listing{id, t.state->producer_id, t.state->status});
  }
  return out;
}

}  // namespace chronik::kafka
