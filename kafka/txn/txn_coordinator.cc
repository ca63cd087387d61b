// The transaction coordinator's requests and state transitions (txn_coordinator.h; Kafka's
// TransactionCoordinator.handleInitProducerId / handleAddPartitionsToTransaction /
// endTransaction and TransactionMetadata's prepare* methods, KIP-98 and KIP-360). Loading, writes,
// checkpoints, expiry and the describe/list views are in txn_storage.cc.
#include <algorithm>
#include <limits>
#include <utility>

#include "base/assert.h"
#include "kafka/txn/txn_coordinator.h"

namespace chronik::kafka {
namespace {

constexpr std::int16_t max_epoch = std::numeric_limits<std::int16_t>::max();

// Kafka's TransactionMetadata.isEpochExhausted: the last epoch is kept for fencing, so an id
// whose epoch reached Short.MAX_VALUE - 1 gets a new producer id at its next InitProducerId.
constexpr bool epoch_exhausted(std::int16_t epoch) { return epoch >= max_epoch - 1; }

bool preparing(txn_status s) { return s == txn_status::prepare_commit || s == txn_status::prepare_abort; }
bool idle(txn_status s) {
  return s == txn_status::empty || s == txn_status::complete_commit || s == txn_status::complete_abort;
}

}  // namespace

std::string_view to_string(txn_errc e) {
  switch (e) {
    case txn_errc::none: return "none";
    case txn_errc::invalid_request: return "invalid_request";
    case txn_errc::not_coordinator: return "not_coordinator";
    case txn_errc::load_in_progress: return "load_in_progress";
    case txn_errc::coordinator_not_available: return "coordinator_not_available";
    case txn_errc::concurrent_transactions: return "concurrent_transactions";
    case txn_errc::producer_fenced: return "producer_fenced";
    case txn_errc::invalid_producer_id_mapping: return "invalid_producer_id_mapping";
    case txn_errc::invalid_txn_state: return "invalid_txn_state";
    case txn_errc::invalid_transaction_timeout: return "invalid_transaction_timeout";
    case txn_errc::too_many_partitions: return "too_many_partitions";
    case txn_errc::need_producer_id: return "need_producer_id";
    case txn_errc::transactional_id_not_found: return "transactional_id_not_found";
  }
  return "?";
}

std::expected<void, std::string> txn_config::validate() const {
  if (max_transaction_timeout_ms <= 0) return std::unexpected("max_transaction_timeout_ms must be positive");
  if (transactional_id_expiration_ms <= 0) return std::unexpected("transactional_id_expiration_ms must be positive");
  if (abort_timed_out_check_interval_ms <= 0) {
    return std::unexpected("abort_timed_out_check_interval_ms must be positive");
  }
  if (remove_expired_check_interval_ms <= 0) {
    return std::unexpected("remove_expired_check_interval_ms must be positive");
  }
  if (max_transactional_ids == 0) return std::unexpected("max_transactional_ids must be positive");
  if (max_partitions_per_transaction == 0) return std::unexpected("max_partitions_per_transaction must be positive");
  if (checkpoint_min_records <= 0) return std::unexpected("checkpoint_min_records must be positive");
  if (max_records_per_write == 0) return std::unexpected("max_records_per_write must be positive");
  return {};
}

txn_coordinator::txn_coordinator(txn_config config,
                                 std::function<std::int32_t(std::string_view)> offsets_partition_of_group)
    : config_(config), offsets_partition_of_group_(std::move(offsets_partition_of_group)) {
  CHRONIK_EXPECTS(config_.validate().has_value(), "a valid txn_config");
  CHRONIK_EXPECTS(static_cast<bool>(offsets_partition_of_group_), "a group partition function");
}

txn_coordinator::~txn_coordinator() = default;

void txn_coordinator::tick(std::int64_t steady_ms, std::int64_t wall_ms) {
  now_ms_ = std::max(now_ms_, wall_ms);
  steady_ms_ = std::max(steady_ms_, steady_ms);
  if (steady_ms_ >= next_abort_check_ms_) {
    next_abort_check_ms_ = steady_ms_ + config_.abort_timed_out_check_interval_ms;
    abort_timed_out();
  }
  if (steady_ms_ >= next_expiry_check_ms_) {
    next_expiry_check_ms_ = steady_ms_ + config_.remove_expired_check_interval_ms;
    expire();
  }
}

std::expected<txn_coordinator::txn*, txn_errc> txn_coordinator::find_for_request(std::string_view transactional_id) {
  if (transactional_id.empty()) return std::unexpected(txn_errc::invalid_request);
  if (const txn_errc e = serves(transactional_id); e != txn_errc::none) return std::unexpected(e);
  auto it = txns_.find(transactional_id);
  return it == txns_.end() ? nullptr : &it->second;
}

// AddPartitions / AddOffsets / EndTxn all check the producer first (Kafka's order): an id that is
// not the transactional id's, then an epoch that is not its current one.
txn_errc txn_coordinator::check_producer(const txn& t, producer_id_and_epoch producer) const {
  if (!t.state || t.state->producer_id != producer.producer_id) return txn_errc::invalid_producer_id_mapping;
  if (t.state->epoch != producer.epoch) return txn_errc::producer_fenced;
  return txn_errc::none;
}

// --- InitProducerId ------------------------------------------------------------------------------

void txn_coordinator::init_producer_id(const init_producer_params& params, init_producer_callback done) {
  auto fail = [&done](txn_errc e) { done(init_producer_result{.error = e}); };
  if (params.transactional_id.empty()) return fail(txn_errc::invalid_request);
  // KIP-98: the timeout is validated before anything else about the id.
  if (params.transaction_timeout_ms <= 0 || params.transaction_timeout_ms > config_.max_transaction_timeout_ms) {
    return fail(txn_errc::invalid_transaction_timeout);
  }
  auto found = find_for_request(params.transactional_id);
  if (!found) return fail(found.error());
  if (*found != nullptr) return init_existing(**found, params, done);
  // A new transactional id: a fresh producer id at epoch 0, state Empty.
  if (!params.fresh_producer_id) return fail(txn_errc::need_producer_id);
  if (txns_.size() >= config_.max_transactional_ids) return fail(txn_errc::coordinator_not_available);
  txn& t = txns_[params.transactional_id];
  t.id = params.transactional_id;
  t.partition = offsets_partition_for(t.id, partitions_);
  txn_state s;
  s.producer_id = *params.fresh_producer_id;
  s.epoch = 0;
  s.timeout_ms = params.transaction_timeout_ms;
  s.status = txn_status::empty;
  s.last_update_ms = now_ms_;
  const producer_id_and_epoch answer{s.producer_id, s.epoch};
  transition(t, std::move(s), [done = std::move(done), answer](txn_errc e) {
    done(init_producer_result{e, e == txn_errc::none ? answer.producer_id : -1,
                              e == txn_errc::none ? answer.epoch : std::int16_t{-1}});
  });
}

// Kafka's prepareInitProducerIdTransit for an id that exists.
void txn_coordinator::init_existing(txn& t, const init_producer_params& params, init_producer_callback& done) {
  auto fail = [&done](txn_errc e) { done(init_producer_result{.error = e}); };
  if (t.pending_write != 0 || !t.state) return fail(txn_errc::concurrent_transactions);
  const txn_state& cur = *t.state;
  // KIP-360: a producer that names its id and epoch may only be the id's current producer, or
  // the previous one retrying right after a rotation; anyone else is a zombie. (Kafka answers
  // PRODUCER_FENCED here, not INVALID_PRODUCER_ID_MAPPING.)
  if (const auto& e = params.expected) {
    const bool valid = cur.epoch < 0 || e->producer_id == cur.producer_id ||
                       (e->producer_id == cur.last_producer_id && epoch_exhausted(e->epoch));
    if (!valid) return fail(txn_errc::producer_fenced);
  }
  if (preparing(cur.status)) return fail(txn_errc::concurrent_transactions);
  if (cur.status == txn_status::ongoing) {
    // A new instance of the producer while the old one has a transaction open: abort it with the
    // epoch bumped, which fences the old instance at every partition; the new instance retries
    // (concurrent_transactions) and gets yet another epoch once the abort completes (Kafka's
    // PrepareEpochFence).
    fence_and_abort(t);
    return fail(txn_errc::concurrent_transactions);
  }
  CHRONIK_ASSERT(idle(cur.status), "Empty, Ongoing, Prepare* and Complete* are the states held");
  txn_state next = cur;
  next.timeout_ms = params.transaction_timeout_ms;
  next.status = txn_status::empty;
  next.partitions.clear();
  next.last_update_ms = now_ms_;
  next.start_ms = -1;
  const auto& e = params.expected;
  if (epoch_exhausted(cur.epoch) && (!e || e->epoch == cur.epoch)) {
    // Kafka's prepareProducerIdRotation: a new producer id at epoch 0.
    if (!params.fresh_producer_id) return fail(txn_errc::need_producer_id);
    next.last_producer_id = cur.producer_id;
    next.last_epoch = e ? cur.epoch : std::int16_t{-1};
    next.producer_id = *params.fresh_producer_id;
    next.epoch = 0;
  } else if (!e) {
    next.epoch = static_cast<std::int16_t>(cur.epoch + 1);
    next.last_epoch = -1;  // a new instance: the previous epoch may no longer retry
  } else if (cur.epoch < 0 || e->epoch == cur.epoch) {
    next.epoch = static_cast<std::int16_t>(cur.epoch + 1);
    next.last_epoch = cur.epoch;
  } else if (e->epoch == cur.last_epoch) {
    // A retry of a bump whose answer was lost: the current epoch again, no new bump.
  } else {
    return fail(txn_errc::producer_fenced);
  }
  const producer_id_and_epoch answer{next.producer_id, next.epoch};
  transition(t, std::move(next), [done = std::move(done), answer](txn_errc err) {
    done(init_producer_result{err, err == txn_errc::none ? answer.producer_id : -1,
                              err == txn_errc::none ? answer.epoch : std::int16_t{-1}});
  });
}

void txn_coordinator::fence_and_abort(txn& t) {
  CHRONIK_ASSERT(t.state && t.state->status == txn_status::ongoing && t.pending_write == 0,
                 "only an idle Ongoing transaction is fenced");
  txn_state next = *t.state;
  // Kafka's prepareFenceProducerEpoch: Short.MAX_VALUE cannot grow, and the next InitProducerId
  // rotates the producer id anyway.
  if (next.epoch < max_epoch) next.epoch = static_cast<std::int16_t>(next.epoch + 1);
  next.last_epoch = -1;
  next.status = txn_status::prepare_abort;
  next.last_update_ms = now_ms_;
  transition(t, std::move(next), {});
}

// --- AddPartitionsToTxn / AddOffsetsToTxn --------------------------------------------------------

void txn_coordinator::add_partitions(std::string_view transactional_id, producer_id_and_epoch producer,
                                     std::span<const txn_partition> partitions, txn_callback done) {
  add(transactional_id, producer, std::vector<txn_partition>(partitions.begin(), partitions.end()), std::move(done));
}

void txn_coordinator::add_offsets(std::string_view transactional_id, producer_id_and_epoch producer,
                                  std::string_view group_id, txn_callback done) {
  const txn_partition p{std::string(offsets_topic_name), offsets_partition_of_group_(group_id)};
  add(transactional_id, producer, {p}, std::move(done));
}

void txn_coordinator::add(std::string_view transactional_id, producer_id_and_epoch producer,
                          std::vector<txn_partition> partitions, txn_callback done) {
  auto found = find_for_request(transactional_id);
  if (!found) return done(found.error());
  if (*found == nullptr) return done(txn_errc::invalid_producer_id_mapping);
  txn& t = **found;
  if (const txn_errc e = check_producer(t, producer); e != txn_errc::none) return done(e);
  if (t.pending_write != 0 || preparing(t.state->status)) return done(txn_errc::concurrent_transactions);
  const txn_state& cur = *t.state;
  txn_state next = cur;
  if (cur.status != txn_status::ongoing) {
    // A new transaction: Complete* partitions are forgotten, the clock starts now.
    next.partitions.clear();
    next.start_ms = now_ms_;
  }
  const std::size_t before = next.partitions.size();
  next.partitions.insert(partitions.begin(), partitions.end());
  if (next.partitions.size() > config_.max_partitions_per_transaction) return done(txn_errc::too_many_partitions);
  // Kafka's shortcut: an Ongoing transaction that has them all already needs no write.
  if (cur.status == txn_status::ongoing && next.partitions.size() == before) return done(txn_errc::none);
  if (next.partitions.empty()) return done(txn_errc::none);  // nothing to add, nothing starts
  next.status = txn_status::ongoing;
  next.last_update_ms = now_ms_;
  transition(t, std::move(next), std::move(done));
}

// --- EndTxn --------------------------------------------------------------------------------------

void txn_coordinator::end_txn(std::string_view transactional_id, producer_id_and_epoch producer, bool commit,
                              txn_callback done) {
  auto found = find_for_request(transactional_id);
  if (!found) return done(found.error());
  if (*found == nullptr) return done(txn_errc::invalid_producer_id_mapping);
  txn& t = **found;
  if (const txn_errc e = check_producer(t, producer); e != txn_errc::none) return done(e);
  if (t.pending_write != 0) return done(txn_errc::concurrent_transactions);
  const txn_status s = t.state->status;
  const txn_status complete = commit ? txn_status::complete_commit : txn_status::complete_abort;
  const txn_status prepare = commit ? txn_status::prepare_commit : txn_status::prepare_abort;
  if (s == txn_status::ongoing) {
    txn_state next = *t.state;
    next.status = prepare;
    next.last_update_ms = now_ms_;
    return transition(t, std::move(next), std::move(done));
  }
  // Kafka's answers to a retry: the same outcome completed is success, still completing is
  // concurrent_transactions (the client retries until it completes); the other outcome, or no
  // transaction at all, is invalid_txn_state.
  if (s == complete) return done(txn_errc::none);
  if (s == prepare) return done(txn_errc::concurrent_transactions);
  done(txn_errc::invalid_txn_state);
}

// --- markers -------------------------------------------------------------------------------------

void txn_coordinator::queue_markers(const txn& t) {
  CHRONIK_ASSERT(t.state && preparing(t.state->status), "markers are written for a prepared transaction");
  auto ps = served_.find(t.partition);
  CHRONIK_ASSERT(ps != served_.end(), "a prepared transaction's partition is served");
  txn_marker_work w;
  w.transactional_id = t.id;
  w.producer_id = t.state->producer_id;
  w.producer_epoch = t.state->epoch;
  w.commit = t.state->status == txn_status::prepare_commit;
  w.coordinator_epoch = ps->second.coordinator_epoch;
  w.state_partition = t.partition;
  w.partitions.assign(t.state->partitions.begin(), t.state->partitions.end());
  markers_.push_back(std::move(w));
}

std::vector<txn_marker_work> txn_coordinator::take_markers() { return std::exchange(markers_, {}); }

void txn_coordinator::markers_done(const txn_marker_work& work) {
  auto it = txns_.find(work.transactional_id);
  if (it == txns_.end()) return;
  txn& t = it->second;
  auto ps = served_.find(t.partition);
  // Stale: the partition moved (and maybe came back in a later term), the transaction moved on,
  // or its completion is being written already.
  if (ps == served_.end() || !ps->second.loaded || ps->second.coordinator_epoch != work.coordinator_epoch) return;
  if (!t.state || t.pending_write != 0 || !preparing(t.state->status)) return;
  if (t.state->producer_id != work.producer_id || t.state->epoch != work.producer_epoch) return;
  if ((t.state->status == txn_status::prepare_commit) != work.commit) return;
  complete(t);
}

void txn_coordinator::complete(txn& t) {
  txn_state next = *t.state;
  next.status = next.status == txn_status::prepare_commit ? txn_status::complete_commit : txn_status::complete_abort;
  next.partitions.clear();
  next.last_update_ms = now_ms_;
  const std::string id = t.id;
  transition(t, std::move(next), [this, id](txn_errc e) {
    if (e != txn_errc::coordinator_not_available) return;
    // The completion's outcome is unknown: the markers go out again (they are idempotent at the
    // partitions) and their acknowledgement writes the completion again.
    auto it = txns_.find(id);
    if (it != txns_.end() && it->second.state && preparing(it->second.state->status)) queue_markers(it->second);
  });
}

// --- timeouts ------------------------------------------------------------------------------------

void txn_coordinator::abort_timed_out() {
  for (auto& [id, t] : txns_) {
    if (!t.state || t.pending_write != 0 || t.state->status != txn_status::ongoing || !loaded(t.partition)) continue;
    // Kafka's rule, the transaction's start plus its timeout, measured on this node's monotonic
    // clock (ongoing_since_ms; a load credits the stored start_ms, so a new coordinator resumes
    // the same clock).
    if (t.state->timeout_ms < steady_ms_ - t.ongoing_since_ms) fence_and_abort(t);
  }
}

}  // namespace chronik::kafka
