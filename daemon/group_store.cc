// See group_store.h.
#include "daemon/group_store.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "base/assert.h"
#include "kafka/groups/group_records.h"
#include "kafka/protocol/record_batch.h"

namespace chronik::daemon {

namespace {

// Kafka's offsets.commit.timeout.ms: a group write not committed by then is answered as failed
// (COORDINATOR_NOT_AVAILABLE to a commit; the client retries). Its outcome is then unknown.
constexpr std::chrono::milliseconds write_timeout{5'000};
// Bytes of log fed to the core per tick over all loading partitions, and per fetch: a large load
// takes several ticks instead of holding the io thread.
constexpr std::uint64_t load_budget_per_tick = 32u << 20;
constexpr std::uint64_t load_fetch_bytes = 1u << 20;

kafka::write_outcome outcome_of(const kafka::produce_error& e) {
  if (e.code == kafka::partition_errc::invalid_producer_epoch) return kafka::write_outcome::fenced;
  return e.code == kafka::partition_errc::not_leader ? kafka::write_outcome::not_leader : kafka::write_outcome::failed;
}

// The offset after the last whole batch of a fetched blob (`from` when it holds none).
std::int64_t end_of(std::string_view blob, std::int64_t from) {
  auto batches = kafka::split_record_batches(blob, kafka::crc_check::skip, kafka::trailing_partial::ignore);
  if (!batches || batches->empty()) return from;
  const auto& h = batches->back().header;
  return std::max(from, h.base_offset + std::int64_t{h.last_offset_delta} + 1);
}

}  // namespace

group_store::group_store(kafka::group_coordinator& core, chronik::node_id self, std::shared_ptr<spdlog::logger> log)
    : core_(core), self_(self), log_(std::move(log)) {}

group_store::~group_store() { *alive_ = false; }

std::optional<consensus::term_id> group_store::loaded_term(std::int32_t partition) const {
  auto c = cursors_.find(partition);
  if (c == cursors_.end() || !core_.loaded(partition)) return std::nullopt;
  return c->second.term;
}

void group_store::release() {
  for (const auto p : core_.partitions_served()) core_.unload_partition(p);
  cursors_.clear();
  checkpoint_base_.clear();
  checkpoint_keep_.clear();
  refusing_checkpoint_.clear();
}

void group_store::tick(kafka::partition_manager* mgr, std::int32_t partitions, std::int64_t wall_ms) {
  if (mgr == nullptr || partitions <= 0) {
    release();
    return;
  }
  follow(*mgr, partitions);
  trim(*mgr);
  flush(mgr, wall_ms);
}

void group_store::flush(kafka::partition_manager* mgr, std::int64_t wall_ms) {
  if (mgr == nullptr) return;
  // Writes the core made since the last flush (answers to requests, expiry, checkpoints). Appends
  // may report back at once; what they unblock is picked up on the next round, or the next tick.
  for (int round = 0; round < 4; ++round) {
    auto writes = core_.take_writes();
    if (writes.empty()) break;
    for (auto& w : writes) append(*mgr, std::move(w), wall_ms);
  }
}

void group_store::follow(kafka::partition_manager& mgr, std::int32_t partitions) {
  const std::string topic(kafka::offsets_topic_name);
  std::uint64_t budget = load_budget_per_tick;
  for (std::int32_t p = 0; p < partitions; ++p) {
    const kafka::partition_replica* rep = mgr.find(topic, p);
    // Leading, with every entry of earlier terms applied: the log then holds everything any
    // earlier coordinator had acknowledged (Raft's leader completeness, §5.4).
    const bool leads = rep != nullptr && rep->leader() == self_ && rep->leader_ready();
    auto c = cursors_.find(p);
    if (!leads) {
      if (c != cursors_.end()) {
        log_->info("groups: no longer coordinating offsets partition {}", p);
        core_.unload_partition(p);
        cursors_.erase(c);
        checkpoint_base_.erase(p);
        checkpoint_keep_.erase(p);
      }
      continue;
    }
    if (c == cursors_.end() || c->second.term != rep->leader_epoch() || !core_.serving(p)) {
      // Newly led, led again in a later term, or dropped by the core after a failed write.
      core_.begin_load(p, partitions);
      c = cursors_.insert_or_assign(p, cursor{rep->leader_epoch(), rep->log_start_offset()}).first;
      checkpoint_base_.erase(p);
      checkpoint_keep_.erase(p);
      log_->info("groups: loading offsets partition {} (term {}) from offset {}", p, rep->leader_epoch().value,
                 c->second.next);
    }
    if (budget == 0) continue;
    if (core_.loaded(p)) {
      // Markers (and transactional records) appended since: see the header.
      load_some(*rep, p, c->second, budget, true);
      continue;
    }
    if (load_some(*rep, p, c->second, budget)) {
      core_.finish_load(p);
      log_->info("groups: offsets partition {} loaded through offset {}", p, c->second.next);
    }
  }
}

bool group_store::load_some(const kafka::partition_replica& rep, std::int32_t partition, cursor& c,
                            std::uint64_t& budget, bool loaded) {
  const std::int64_t hw = rep.high_watermark();
  // The log start only moves at this node's checkpoints, and trim() moves it only while the
  // partition is loaded (a checkpoint of the previous term may commit with this term's first
  // entry, just as the load begins): nothing before the cursor can go while it loads.
  CHRONIK_ASSERT(c.next >= rep.log_start_offset(), "nothing before the load cursor is trimmed while loading");
  while (c.next < hw && budget > 0) {
    auto got = rep.fetch(c.next, std::min(budget, load_fetch_bytes));
    if (!got) {
      log_->warn("groups: cannot read offsets partition {} at {}: {}", partition, c.next, kafka::to_string(got.error()));
      return false;  // tried again next tick (leadership is checked first)
    }
    const std::string blob = got->records.flatten();
    budget -= std::min<std::uint64_t>(budget, blob.size());
    auto items = kafka::read_group_log(blob, loaded ? kafka::group_log_filter::transactions : kafka::group_log_filter::all);
    if (!items) {
      log_->error("groups: offsets partition {} at {}: {}", partition, c.next, kafka::describe(items.error()));
      return false;
    }
    const std::int64_t before = c.next;
    for (const auto& item : *items) {
      if (const auto* m = std::get_if<kafka::group_log_marker>(&item)) {
        if (m->offset >= before) core_.txn_marker_applied(partition, m->producer_id, m->offset, m->commit);
        continue;
      }
      const auto& e = std::get<kafka::group_log_entry>(item);
      if (e.offset < before) continue;  // the first batch may start before the cursor
      if (e.record) {
        if (e.producer_id >= 0) {
          core_.load_txn(partition, e.producer_id, e.offset, *e.record);
        } else if (!loaded) {
          core_.load(partition, *e.record);
        }
      } else if (e.record.error().code == kafka::group_record_errc::malformed) {
        // The batch's CRC held, so these are bytes some writer produced: skipping one loses only
        // that record, refusing the partition would lose every group in it.
        log_->error("groups: offsets partition {} offset {}: {}", partition, e.offset, e.record.error().message);
      }
    }
    // Past every whole batch fetched, with or without records decoded (plain batches skipped
    // once loaded, compacted ones, control batches).
    c.next = end_of(blob, c.next);
    if (c.next == before) return false;  // a short read: try again next tick
  }
  return c.next >= hw;
}

void group_store::append(kafka::partition_manager& mgr, kafka::group_write w, std::int64_t wall_ms) {
  kafka::partition_replica* rep = mgr.find(std::string(kafka::offsets_topic_name), w.partition);
  // Written only in the term the core loaded the partition in: a node that lost and won back the
  // leadership between two ticks decided this write on a state that lacks what the leader in
  // between acknowledged. not_leader drops the partition, and the next tick loads it again.
  const auto term = loaded_term(w.partition);
  if (rep == nullptr || !term || *term != rep->leader_epoch()) {
    core_.write_done(w.id, kafka::write_outcome::not_leader);
    return;
  }
  if (w.checkpoint_first) refusing_checkpoint_[w.partition] = !checkpoint_allowed(*rep, w);
  if (w.checkpoint && refusing_checkpoint_[w.partition]) {
    // Built before a marker this shell has not read yet: appended after it, it would restate the
    // offsets that marker settled. Caught up (checkpoint_allowed), the core builds it again.
    if (w.checkpoint_last) refusing_checkpoint_.erase(w.partition);
    core_.write_done(w.id, kafka::write_outcome::failed);
    return;
  }
  const bool first_part = w.checkpoint_first;
  const bool last_part = w.checkpoint_last;
  if (first_part) checkpoint_keep_[w.partition] = w.keep_from;
  auto done = [this, alive = alive_, id = w.id, partition = w.partition, first_part, last_part, rep, term = *term,
               count = static_cast<std::int64_t>(w.records.size())](
                  std::expected<kafka::produce_ack, kafka::produce_error> r) {
    if (!*alive) return;
    if (r) caught_up_to(*rep, partition, term, r->base_offset, count);
    if (first_part) checkpoint_base_.erase(partition);
    if (r && first_part) checkpoint_base_[partition] = r->base_offset;
    // Parts commit in log order, so the first part's answer came before the last's.
    if (r && last_part) {
      if (auto base = checkpoint_base_.find(partition); base != checkpoint_base_.end()) {
        // No further than the oldest record of a transaction still open: it is pending, so the
        // checkpoint does not hold it.
        const auto keep = checkpoint_keep_.find(partition);
        trims_[partition] = keep != checkpoint_keep_.end() && keep->second >= 0 ? std::min(base->second, keep->second)
                                                                                 : base->second;
        checkpoint_base_.erase(base);
      }
    }
    if (r) return core_.write_done(id, kafka::write_outcome::committed, r->base_offset);
    core_.write_done(id, outcome_of(r.error()));
  };
  if (w.producer_id >= 0) {
    rep->produce_as_coordinator(kafka::build_group_txn_batch(w.records, wall_ms, w.producer_id, w.producer_epoch),
                                mgr.now() + write_timeout, std::move(done));
    return;
  }
  rep->produce(kafka::build_group_batch(w.records, wall_ms), kafka::acks_mode::all, mgr.now() + write_timeout,
               std::move(done));
}

void group_store::caught_up_to(const kafka::partition_replica& rep, std::int32_t partition, consensus::term_id term,
                               std::int64_t base, std::int64_t count) {
  auto c = cursors_.find(partition);
  if (c == cursors_.end() || c->second.term != term || !core_.loaded(partition)) return;  // a load will read it
  if (c->second.next < base) {
    // Something not written by this core lies between its previous write and this one: a marker
    // (or a write whose outcome was unknown). The core hears of it before of this write, so its
    // memory follows the log's order exactly, as a load would (docs/kafka.md "Transactional
    // offsets"). The entries up to this write are applied (it is being answered), so they read.
    std::uint64_t budget = load_budget_per_tick;
    load_some(rep, partition, c->second, budget, true);
  }
  // Past this write only once everything before it was read (a catch-up cut short by its budget
  // goes on at the next tick, this write included: read again, it changes nothing).
  if (c->second.next >= base) c->second.next = std::max(c->second.next, base + count);
}

bool group_store::checkpoint_allowed(const kafka::partition_replica& rep, const kafka::group_write& w) {
  const auto closed = [&] {
    return std::ranges::any_of(w.open_producers, [&](std::int64_t p) { return !rep.transaction_open(p); });
  };
  if (!closed()) return true;
  // A marker the core has not been told of is in the log or on its way: catch up, so that the
  // checkpoint the core builds next knows it (one still in flight is read at a later tick).
  auto c = cursors_.find(w.partition);
  if (c != cursors_.end()) {
    std::uint64_t budget = load_budget_per_tick;
    load_some(rep, w.partition, c->second, budget, true);
  }
  log_->debug("groups: checkpoint of offsets partition {} deferred: a transaction it holds open has ended",
              w.partition);
  return false;
}

void group_store::trim(kafka::partition_manager& mgr) {
  std::map<std::int32_t, std::int64_t> trims_deferred;
  for (auto it = trims_.begin(); it != trims_.end(); it = trims_.erase(it)) {
    const auto [partition, offset] = *it;
    kafka::partition_replica* rep = mgr.find(std::string(kafka::offsets_topic_name), partition);
    // Only while loaded: the last part of an earlier term's checkpoint commits together with the
    // first entry of this node's next term, so its trim can arrive just as that term's load
    // begins, and a load longer than a tick must not have the log start move under its cursor
    // (load_some asserts it does not). Found by the group simulation (tests/sim/group_sim_test.cc).
    if (rep == nullptr || !cursors_.contains(partition) || !core_.loaded(partition)) continue;
    // Every marker before the new log start must have reached the core first (follow() reads
    // them each tick): one trimmed unread would leave its transaction's offsets pending forever.
    if (cursors_.at(partition).next < offset) {
      trims_deferred.emplace(partition, offset);
      continue;
    }
    // Everything before the checkpoint is in it (it was written with no other write in flight),
    // so dropping it loses nothing a load needs. A failed trim is harmless: the next checkpoint
    // trims further.
    rep->delete_records(offset, mgr.now() + write_timeout,
                        [alive = alive_, log = log_, partition, offset](std::expected<std::int64_t, kafka::partition_errc> r) {
                          if (!*alive) return;
                          if (!r) {
                            log->warn("groups: cannot trim offsets partition {} at {}: {}", partition, offset,
                                      kafka::to_string(r.error()));
                          }
                        });
  }
  trims_.merge(trims_deferred);
}

}  // namespace chronik::daemon
