// See group_store.h.
#include "daemon/group_store.h"

#include <chrono>
#include <utility>

#include "base/assert.h"
#include "kafka/groups/group_records.h"

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
  return e.code == kafka::partition_errc::not_leader ? kafka::write_outcome::not_leader : kafka::write_outcome::failed;
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
      }
      continue;
    }
    if (c == cursors_.end() || c->second.term != rep->leader_epoch() || !core_.serving(p)) {
      // Newly led, led again in a later term, or dropped by the core after a failed write.
      core_.begin_load(p, partitions);
      c = cursors_.insert_or_assign(p, cursor{rep->leader_epoch(), rep->log_start_offset()}).first;
      checkpoint_base_.erase(p);
      log_->info("groups: loading offsets partition {} (term {}) from offset {}", p, rep->leader_epoch().value,
                 c->second.next);
    }
    if (core_.loaded(p) || budget == 0) continue;
    if (load_some(*rep, p, c->second, budget)) {
      core_.finish_load(p);
      log_->info("groups: offsets partition {} loaded through offset {}", p, c->second.next);
    }
  }
}

bool group_store::load_some(const kafka::partition_replica& rep, std::int32_t partition, cursor& c,
                            std::uint64_t& budget) {
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
    auto entries = kafka::read_group_records(blob);
    if (!entries) {
      log_->error("groups: offsets partition {} at {}: {}", partition, c.next, kafka::describe(entries.error()));
      return false;
    }
    const std::int64_t before = c.next;
    for (const auto& e : *entries) {
      if (e.offset < c.next) continue;  // the first batch may start before the cursor
      c.next = e.offset + 1;
      if (e.record) {
        core_.load(partition, *e.record);
      } else if (e.record.error().code == kafka::group_record_errc::malformed) {
        // The batch's CRC held, so these are bytes some writer produced: skipping one loses only
        // that record, refusing the partition would lose every group in it.
        log_->error("groups: offsets partition {} offset {}: {}", partition, e.offset, e.record.error().message);
      }
    }
    // Offsets a batch covers without records (compacted ones, control batches) are passed too.
    if (c.next == before) {
      if (entries->empty()) return false;  // a short read: try again next tick
      break;
    }
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
  const std::string blob = kafka::build_group_batch(w.records, wall_ms);
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
               });
}

void group_store::trim(kafka::partition_manager& mgr) {
  for (auto it = trims_.begin(); it != trims_.end(); it = trims_.erase(it)) {
    const auto [partition, offset] = *it;
    kafka::partition_replica* rep = mgr.find(std::string(kafka::offsets_topic_name), partition);
    // Only while loaded: the last part of an earlier term's checkpoint commits together with the
    // first entry of this node's next term, so its trim can arrive just as that term's load
    // begins, and a load longer than a tick must not have the log start move under its cursor
    // (load_some asserts it does not). Found by the group simulation (tests/sim/group_sim_test.cc).
    if (rep == nullptr || !cursors_.contains(partition) || !core_.loaded(partition)) continue;
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
}

}  // namespace chronik::daemon
