// See txn_store.h. The same steps as group_store.cc, on `__transaction_state` with the txn records.
#include "daemon/txn_store.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include "base/assert.h"
#include "kafka/txn/txn_records.h"

namespace chronik::daemon {

namespace {

// As group_store's: a write not committed by then is answered as failed (COORDINATOR_NOT_AVAILABLE,
// which clients retry); its outcome is then unknown.
constexpr std::chrono::milliseconds write_timeout{5'000};
// Bytes of log fed to the core per tick over all loading partitions, and per fetch: a large load
// takes several ticks instead of holding the io thread.
constexpr std::uint64_t load_budget_per_tick = 32u << 20;
constexpr std::uint64_t load_fetch_bytes = 1u << 20;
// What follow_now may load for a request: one fetch, enough for a partition just created.
constexpr std::uint64_t load_budget_per_request = load_fetch_bytes;

kafka::write_outcome outcome_of(const kafka::produce_error& e) {
  return e.code == kafka::partition_errc::not_leader ? kafka::write_outcome::not_leader : kafka::write_outcome::failed;
}

// The coordinator epoch of a partition led in `term` (Kafka's is an INT32 that grows with every
// leader of the partition; the Raft term does the same).
std::int32_t coordinator_epoch(consensus::term_id term) {
  CHRONIK_ASSERT(term.value <= static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()),
                 "a Raft term fits Kafka's INT32 coordinator epoch");
  return static_cast<std::int32_t>(term.value);
}

}  // namespace

txn_store::txn_store(kafka::txn_coordinator& core, chronik::node_id self, std::shared_ptr<spdlog::logger> log,
                     std::function<void()> written)
    : core_(core), self_(self), log_(std::move(log)), written_(std::move(written)) {}

txn_store::~txn_store() { *alive_ = false; }

std::optional<consensus::term_id> txn_store::loaded_term(std::int32_t partition) const {
  auto c = cursors_.find(partition);
  if (c == cursors_.end() || !core_.loaded(partition)) return std::nullopt;
  return c->second.term;
}

void txn_store::release() {
  for (const auto p : core_.partitions_served()) core_.unload_partition(p);
  cursors_.clear();
  checkpoint_base_.clear();
}

void txn_store::tick(kafka::partition_manager* mgr, std::int32_t partitions, std::int64_t wall_ms) {
  if (mgr == nullptr || partitions <= 0) {
    release();
    return;
  }
  follow(*mgr, partitions, load_budget_per_tick);
  trim(*mgr);
  flush(mgr, wall_ms);
}

void txn_store::flush(kafka::partition_manager* mgr, std::int64_t wall_ms) {
  if (mgr == nullptr) return;
  // Writes the core made since the last flush (answers to requests, timeouts, expiry,
  // checkpoints). Appends may report back at once; what they unblock is picked up on the next
  // round, or the next tick.
  for (int round = 0; round < 4; ++round) {
    auto writes = core_.take_writes();
    if (writes.empty()) break;
    for (auto& w : writes) append(*mgr, std::move(w), wall_ms);
  }
}

void txn_store::follow_now(kafka::partition_manager* mgr, std::int32_t partitions) {
  if (mgr != nullptr && partitions > 0) follow(*mgr, partitions, load_budget_per_request);
}

void txn_store::follow(kafka::partition_manager& mgr, std::int32_t partitions, std::uint64_t budget) {
  const std::string topic(kafka::transaction_state_topic_name);
  const auto served = core_.partitions_served();
  for (std::int32_t p = 0; p < partitions; ++p) {
    const kafka::partition_replica* rep = mgr.find(topic, p);
    // Leading, with every entry of earlier terms applied: the log then holds everything any
    // earlier coordinator had acknowledged (Raft's leader completeness, §5.4).
    const bool leads = rep != nullptr && rep->leader() == self_ && rep->leader_ready();
    auto c = cursors_.find(p);
    if (!leads) {
      if (c != cursors_.end()) {
        log_->info("transactions: no longer coordinating state partition {}", p);
        core_.unload_partition(p);
        cursors_.erase(c);
        checkpoint_base_.erase(p);
      }
      continue;
    }
    const bool served_now = std::ranges::find(served, p) != served.end();
    if (c == cursors_.end() || c->second.term != rep->leader_epoch() || !served_now) {
      // Newly led, led again in a later term, or dropped by the core after a write was refused.
      // The term is the coordinator epoch: the partitions refuse markers of an older one.
      core_.begin_load(p, partitions, coordinator_epoch(rep->leader_epoch()));
      c = cursors_.insert_or_assign(p, cursor{rep->leader_epoch(), rep->log_start_offset()}).first;
      checkpoint_base_.erase(p);
      log_->info("transactions: loading state partition {} (term {}) from offset {}", p, rep->leader_epoch().value,
                 c->second.next);
    }
    if (core_.loaded(p) || budget == 0) continue;
    if (load_some(*rep, p, c->second, budget)) {
      core_.finish_load(p);
      log_->info("transactions: state partition {} loaded through offset {}", p, c->second.next);
    }
  }
}

bool txn_store::load_some(const kafka::partition_replica& rep, std::int32_t partition, cursor& c,
                          std::uint64_t& budget) {
  const std::int64_t hw = rep.high_watermark();
  // As in group_store: trim() moves the log start only while the partition is loaded, so nothing
  // before the cursor goes while it loads.
  CHRONIK_ASSERT(c.next >= rep.log_start_offset(), "nothing before the load cursor is trimmed while loading");
  while (c.next < hw && budget > 0) {
    auto got = rep.fetch(c.next, std::min(budget, load_fetch_bytes));
    if (!got) {
      log_->warn("transactions: cannot read state partition {} at {}: {}", partition, c.next,
                 kafka::to_string(got.error()));
      return false;  // tried again next tick (leadership is checked first)
    }
    const std::string blob = got->records.flatten();
    budget -= std::min<std::uint64_t>(budget, blob.size());
    auto entries = kafka::read_txn_records(blob);
    if (!entries) {
      log_->error("transactions: state partition {} at {}: {}", partition, c.next, kafka::describe(entries.error()));
      return false;
    }
    const std::int64_t before = c.next;
    for (const auto& e : *entries) {
      if (e.offset < c.next) continue;  // the first batch may start before the cursor
      c.next = e.offset + 1;
      if (e.record) {
        core_.load(partition, *e.record);
      } else {
        // The batch's CRC held, so these are bytes some writer produced: skipping one loses only
        // that transactional id's latest state, refusing the partition would lose every id in it.
        log_->error("transactions: state partition {} offset {}: {}", partition, e.offset, e.record.error().message);
      }
    }
    // Offsets a batch covers without records (control batches) are passed too.
    if (c.next == before) {
      if (entries->empty()) return false;  // a short read: try again next tick
      break;
    }
  }
  return c.next >= hw;
}

void txn_store::append(kafka::partition_manager& mgr, kafka::txn_write w, std::int64_t wall_ms) {
  kafka::partition_replica* rep = mgr.find(std::string(kafka::transaction_state_topic_name), w.partition);
  // Written only in the term the core loaded the partition in: a node that lost and won back the
  // leadership between two ticks decided this write on a state that lacks what the leader in
  // between stored. not_leader drops the partition, and the next tick loads it again.
  const auto term = loaded_term(w.partition);
  if (rep == nullptr || !term || *term != rep->leader_epoch()) {
    core_.write_done(w.id, kafka::write_outcome::not_leader);
    if (written_) written_();
    return;
  }
  const std::string blob = kafka::build_txn_batch(w.records, wall_ms);
  const bool first_part = w.checkpoint_first;
  const bool last_part = w.checkpoint_last;
  rep->produce(blob, kafka::acks_mode::all, mgr.now() + write_timeout,
               [this, alive = alive_, id = w.id, partition = w.partition, first_part,
                last_part](std::expected<kafka::produce_ack, kafka::produce_error> r) {
                 if (!*alive) return;
                 if (first_part) checkpoint_base_.erase(partition);
                 if (r && first_part) checkpoint_base_[partition] = r->base_offset;
                 // Parts commit in log order, so the first part's answer came before the last's.
                 if (r && last_part) {
                   if (auto base = checkpoint_base_.find(partition); base != checkpoint_base_.end()) {
                     trims_[partition] = base->second;
                     checkpoint_base_.erase(base);
                   }
                 }
                 core_.write_done(id, r ? kafka::write_outcome::committed : outcome_of(r.error()));
                 if (written_) written_();
               });
}

void txn_store::trim(kafka::partition_manager& mgr) {
  for (auto it = trims_.begin(); it != trims_.end(); it = trims_.erase(it)) {
    const auto [partition, offset] = *it;
    kafka::partition_replica* rep = mgr.find(std::string(kafka::transaction_state_topic_name), partition);
    // Only while loaded, for group_store's reason: a trim of an earlier term's checkpoint can
    // arrive just as this term's load begins, and must not move the log start under its cursor.
    if (rep == nullptr || !cursors_.contains(partition) || !core_.loaded(partition)) continue;
    // Everything before the checkpoint is in it (it was written with no other write in flight),
    // so dropping it loses nothing a load needs. A failed trim is harmless: the next checkpoint
    // trims further.
    rep->delete_records(offset, mgr.now() + write_timeout,
                        [alive = alive_, log = log_, partition, offset](std::expected<std::int64_t, kafka::partition_errc> r) {
                          if (!*alive) return;
                          if (!r) {
                            log->warn("transactions: cannot trim state partition {} at {}: {}", partition, offset,
                                      kafka::to_string(r.error()));
                          }
                        });
  }
}

}  // namespace chronik::daemon
