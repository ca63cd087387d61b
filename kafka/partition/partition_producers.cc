// partition_replica's idempotent producers and transactions (docs/kafka.md "Idempotent producers",
// docs/transactions.md "The partition's side"): the snapshot's producer table, the producer events
// of each applied entry, the leader's sequence check before proposing, expiry, transaction markers
// and the last stable offset. The decisions are producer_state.h's; this is their replica side.
#include <algorithm>
#include <string>
#include <vector>

#include "base/assert.h"
#include "kafka/partition/partition_replica.h"
#include "kafka/protocol/txn_marker.h"

namespace chronik::kafka {

using consensus::entry;
using consensus::log_index;

// ---- idempotent producers ----------------------------------------------------------------------

void partition_replica::restore_snapshot(const consensus::snapshot& snap) {
  auto state = index_.restore(snap.data);
  if (!state) {
    log_->error("[{}-{} g{}] malformed partition snapshot at index {}", topic_, ref_.partition, ref_.group.value,
                snap.meta.index.value);
    return;
  }
  producer_table producers;
  if (!state->empty()) {
    auto t = producer_table::decode(*state);
    if (t) {
      producers = std::move(*t);
    } else {
      // Every replica that took this snapshot forgets alike; producers then start afresh (rule 5).
      log_->error("[{}-{} g{}] snapshot at index {}: producer state malformed; producers forgotten", topic_,
                  ref_.partition, ref_.group.value, snap.meta.index.value);
    }
  }
  producers_.restore(std::move(producers));
  producer_seen_ms_.clear();  // counted from now, when expire_producers first looks
  producer_guard_.reset();  // the log it projected over is gone
}

void partition_replica::apply_producers(const entry& e, const std::vector<record_batch_view>& batches,
                                        std::int64_t base) {
  std::vector<producer_event> events;
  std::int64_t next = base;
  for (const auto& v : batches) {
    const std::int64_t first = next;
    next += std::int64_t{v.header.last_offset_delta} + 1;  // offsets, as apply_entry counts them
    if (v.header.producer_id < 0) continue;
    if (v.header.is_control()) {
      // Only the leader's write_marker proposes control batches (clients may not): a marker.
      auto m = read_txn_marker(v);
      if (!m) {
        log_->error("[{}-{} g{}] entry {}: control batch not understood ({}); skipped", topic_, ref_.partition,
                    ref_.group.value, e.index.value, describe(m.error()));
        continue;
      }
      producer_event ev;
      ev.what = producer_event::kind::marker;
      ev.id.producer_id = v.header.producer_id;
      ev.id.epoch = v.header.producer_epoch;
      ev.batch.first_offset = first;
      ev.batch.timestamp = v.header.max_timestamp;
      ev.batch.index = e.index;
      ev.commit = m->commit;
      ev.coordinator_epoch = m->coordinator_epoch;
      producer_seen_ms_[ev.id.producer_id] = wall_now_ms_();
      events.push_back(ev);
      continue;
    }
    if (v.header.base_sequence < 0) {
      // Only produce_as_coordinator proposes a batch with a producer id and no sequence: a
      // coordinator's transactional write (TxnOffsetCommit), which opens the producer's
      // transaction here without a sequence to remember.
      if (!v.header.is_transactional()) continue;
      producer_event ev;
      ev.id = producer_batch_id{v.header.producer_id, v.header.producer_epoch, -1, -1, true};
      ev.batch = producer_batch{-1, -1, first, v.header.max_timestamp, e.index};
      producer_seen_ms_[ev.id.producer_id] = wall_now_ms_();
      events.push_back(ev);
      continue;
    }
    producer_event ev;
    ev.id = producer_batch_id::of(v.header);
    ev.batch = producer_batch{ev.id.first_seq, ev.id.last_seq, first, v.header.max_timestamp, e.index};
    producer_seen_ms_[ev.id.producer_id] = wall_now_ms_();
    events.push_back(ev);
  }
  producers_.apply(e.index, std::move(events));
}

std::optional<producer_batch_id> partition_replica::check_producer(const accepted_records& accepted, term_id term,
                                                                   clock::time_point deadline, produce_done& done) {
  const record_batch_header& h = accepted.batches.front().header;
  if (h.producer_id < 0) return std::nullopt;
  // validate_produced_records allows a producer id only on a blob's one batch.
  CHRONIK_ASSERT(accepted.batches.size() == 1, "an idempotent batch travels alone");
  if (guard_term_ != term) {
    // Everything of earlier terms is applied (leader_ready): the applied table is the whole truth.
    producer_guard_.reset();
    guard_term_ = term;
  }
  const auto id = producer_batch_id::of(h);
  const auto c = producer_guard_.check(producers_.current(), id);
  switch (c.verdict) {
    case sequence_verdict::append: return id;
    case sequence_verdict::out_of_order:
      done(std::unexpected(produce_error{partition_errc::out_of_order_sequence, 0, -1,
                                         "sequence " + std::to_string(id.first_seq) + " does not follow producer " +
                                             std::to_string(id.producer_id) + "'s last batch"}));
      break;
    case sequence_verdict::old_epoch:
      done(std::unexpected(partition_errc::invalid_producer_epoch));
      break;
    case sequence_verdict::unknown_producer: {
      // Rule 5 of producer_state.h: its earlier batches may have been lost with an uncommitted
      // tail; the client starts its sequence again from the oldest (the log start tells the Java
      // client its state here is gone).
      produce_error e{partition_errc::unknown_producer, 0, -1,
                      "no record of producer " + std::to_string(id.producer_id) + " here: its first batch starts at " +
                          std::to_string(id.first_seq) + ", not 0"};
      e.log_start_offset = index_.log_start_offset();
      done(std::unexpected(std::move(e)));
      break;
    }
    case sequence_verdict::invalid_txn_state:
      done(std::unexpected(produce_error{partition_errc::invalid_txn_state, 0, -1,
                                         "producer " + std::to_string(id.producer_id) +
                                             " has a transaction open here: only transactional batches"}));
      break;
    case sequence_verdict::duplicate: {
      // A retry of a batch already written: the original's offset, and nothing appended again.
      const producer_batch& original = *c.original;
      log_->debug("[{}-{} g{}] producer {} epoch {} sequence {}-{}: a retry of the batch at offset {}, not appended",
                  topic_, ref_.partition, ref_.group.value, id.producer_id, id.epoch, id.first_seq, id.last_seq,
                  original.first_offset);
      const std::int64_t append_time = cfg_.timestamps == timestamp_type::log_append_time ? original.timestamp : -1;
      if (original.index <= index_.applied()) {
        done(produce_ack{original.first_offset, index_.log_start_offset(), append_time});
        break;
      }
      // Still in flight: answered with it, committed or not.
      auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                             [&](const proposal& p) { return p.index == original.index; });
      if (it == in_flight_.end()) {
        done(std::unexpected(partition_errc::timed_out));  // unknown outcome: the client retries
      } else {
        it->retries.push_back(retry_waiter{deadline, std::move(done)});
      }
      break;
    }
  }
  done = nullptr;
  return std::nullopt;
}

void partition_replica::expire_producers(std::int64_t now_ms) {
  if (!leader_ready() || cfg_.producer_id_expiration_ms < 0) return;
  // Bounded per check: the next check takes the rest.
  constexpr std::size_t max_per_entry = 1000;
  const std::int64_t before = now_ms - cfg_.producer_id_expiration_ms;
  std::erase_if(producer_seen_ms_, [&](const auto& kv) { return producers_.current().find(kv.first) == nullptr; });
  expire_producers_command cmd;
  for (const auto& [id, entry] : producers_.current().entries()) {
    if (cmd.producers.size() >= max_per_entry) break;
    // Open transactions end by their marker; proposals in flight mean the producer is not idle.
    if (entry.txn_first_offset >= 0 || producer_guard_.pending(id)) continue;
    // Idle by this replica's clock: when it applied the producer's newest batch (or took the
    // snapshot it came in). Kafka compares the batches' own timestamps, which the client sets as it
    // likes: a producer replaying old events would lose its duplicate check at every check.
    auto seen = producer_seen_ms_.find(id);
    if (seen == producer_seen_ms_.end()) seen = producer_seen_ms_.emplace(id, now_ms).first;
    if (seen->second >= before) continue;
    cmd.producers.push_back({id, static_cast<std::int64_t>(entry.last_index())});
  }
  if (cmd.producers.empty()) return;
  if (auto index = propose_entry(encode_expire_producers(cmd)); !index) {
    log_->debug("[{}-{} g{}] producer expiry not proposed: {}", topic_, ref_.partition, ref_.group.value,
                to_string(index.error()));
  }
}

// ---- a coordinator's transactional writes ------------------------------------------------------

void partition_replica::produce_as_coordinator(std::string records, clock::time_point deadline, produce_done done) {
  if (auto ok = can_produce(records.size()); !ok) return done(std::unexpected(ok.error()));
  batch_rules rules = produce_rules();
  rules.coordinator_write = true;
  auto accepted = validate_produced_records(records, rules);
  if (!accepted) return done(std::unexpected(refusal(accepted.error())));
  const record_batch_header& h = accepted->batches.front().header;
  // validate_produced_records keeps a batch with a producer id alone in its blob.
  if (h.producer_id < 0 || h.producer_epoch < 0 || !h.is_transactional() || h.base_sequence >= 0) {
    return done(std::unexpected(
        produce_error{partition_errc::invalid_record, 0, -1, "a coordinator writes one transactional batch without sequence"}));
  }
  if (in_flight_.size() >= cfg_.max_in_flight) return done(std::unexpected(partition_errc::busy));
  const auto st = host_.brief(ref_.group);
  CHRONIK_ASSERT(st.has_value(), "a ready leader has a status");
  if (guard_term_ != st->term) {
    producer_guard_.reset();
    guard_term_ = st->term;
  }
  // Kafka's ProducerAppendInfo for AppendOrigin.COORDINATOR: the epoch fences a zombie producer;
  // the sequence is the client's business with the partitions it produces to, not this one.
  if (producer_guard_.check_coordinator_write(producers_.current(), h.producer_id, h.producer_epoch) !=
      sequence_verdict::append) {
    return done(std::unexpected(partition_errc::invalid_producer_epoch));
  }
  const producer_batch_id id{h.producer_id, h.producer_epoch, -1, -1, true};
  propose_checked(std::move(records), *accepted, acks_mode::all, deadline, std::move(done), st->term, id);
}

bool partition_replica::transaction_open(std::int64_t producer_id) const {
  const auto st = host_.brief(ref_.group);
  // The projection counts only when it is of this term (reset otherwise at the next proposal):
  // with none, the applied table is the whole truth (leader_ready).
  if (st && guard_term_ == st->term) return producer_guard_.transaction_open(producers_.current(), producer_id);
  const producer_entry* e = producers_.current().find(producer_id);
  return e != nullptr && e->txn_first_offset >= 0;
}

// ---- transaction markers -----------------------------------------------------------------------

void partition_replica::write_marker(std::int64_t producer_id, std::int16_t producer_epoch, const txn_marker& marker,
                                     clock::time_point deadline, produce_done done) {
  if (auto ok = can_produce(0); !ok) return done(std::unexpected(ok.error()));
  if (in_flight_.size() >= cfg_.max_in_flight) return done(std::unexpected(partition_errc::busy));
  const auto st = host_.brief(ref_.group);
  CHRONIK_ASSERT(st.has_value(), "a ready leader has a status");
  if (guard_term_ != st->term) {
    producer_guard_.reset();
    guard_term_ = st->term;
  }
  switch (producer_guard_.check_marker(producers_.current(), producer_id, producer_epoch, marker.coordinator_epoch)) {
    case marker_verdict::write: break;
    case marker_verdict::old_epoch: return done(std::unexpected(partition_errc::invalid_producer_epoch));
    case marker_verdict::coordinator_fenced: return done(std::unexpected(partition_errc::coordinator_fenced));
  }
  const std::int64_t now = wall_now_ms_();
  std::string batch = build_txn_marker_batch(producer_id, producer_epoch, marker, now);
  const std::int64_t base = predicted_next(st->term);
  set_base_offset(batch, 0, base);
  set_partition_leader_epoch(batch, 0, epoch_of_term(st->term.value));
  auto index = propose_entry(std::move(batch));
  if (!index) return done(std::unexpected(index.error()));
  producer_event ev;
  ev.what = producer_event::kind::marker;
  ev.id.producer_id = producer_id;
  ev.id.epoch = producer_epoch;
  ev.batch.first_offset = base;
  ev.batch.timestamp = now;
  ev.batch.index = *index;
  ev.commit = marker.commit;
  ev.coordinator_epoch = marker.coordinator_epoch;
  producer_guard_.proposed(producers_.current(), ev, st->term);
  proposal p{*index, st->term, base, 1, -1, acks_mode::all, deadline, std::move(done), {}};
  in_flight_.push_back(std::move(p));
  took_deadline();
}

std::int64_t partition_replica::last_stable_offset() const {
  // From the applied table only: an open transaction's first batch counts once it is committed.
  const auto first_open = producers_.current().first_unstable_offset();
  const std::int64_t lso = first_open ? std::min(*first_open, index_.high_watermark()) : index_.high_watermark();
  return std::max(lso, index_.log_start_offset());
}

}  // namespace chronik::kafka
