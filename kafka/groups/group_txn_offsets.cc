// Transactional offset commits (KIP-98's TxnOffsetCommit, KIP-447's member checks): a
// transactional producer commits a group's offsets as part of its transaction, and they become the
// group's committed offsets only if the transaction commits (docs/kafka.md "Durable groups",
// "Transactional offsets"). See group_coordinator.h.
//
// The offsets are written at once, as records of one transactional batch of the producer (the
// owner appends it with the producer's id and epoch), so the partition's producer state holds the
// producer's transaction open there until the transaction coordinator writes its marker into the
// same partition. Until then they are pending: invisible to OffsetFetch (which with require_stable
// answers UNSTABLE_OFFSET_COMMIT for them). The marker decides: COMMIT moves the producer's pending
// offsets written before it to the committed ones, ABORT drops them. A load of the partition
// replays exactly this, in log order: records of transactional batches are pending, markers settle
// them.
//
// Each pending offset is kept with its record's log offset, and a marker settles only the records
// before it: a producer runs one transaction after another, and its next transaction's offsets may
// be written here before the owner has told the core of the previous one's marker.
#include <algorithm>
#include <limits>

#include "base/assert.h"
#include "kafka/groups/group_coordinator.h"

namespace chronik::kafka {

// Kafka's GroupCoordinator.validateOffsetCommit for a transactional commit: the member fields are
// checked only when the client sent any (v3+; older versions and producers outside a group send
// -1 / "" / null), and a group in the middle of a rebalance is not refused, unlike OffsetCommit.
group_errc group_coordinator::check_txn_member(const group& g, const txn_commit_params& params) const {
  if (params.generation_id < 0 && params.member_id.empty() && !params.group_instance_id) return group_errc::none;
  if (params.group_instance_id) {
    // KIP-345: an instance bound to another member id is a zombie of that instance.
    auto bound = g.static_members.find(*params.group_instance_id);
    if (bound != g.static_members.end() && bound->second != params.member_id) return group_errc::fenced_instance_id;
  }
  if (!params.member_id.empty() && !g.members.contains(params.member_id)) return group_errc::unknown_member;
  if (params.generation_id != g.generation_id) return group_errc::illegal_generation;
  return group_errc::none;
}

std::size_t group_coordinator::txn_offset_count(const group& g) const {
  std::size_t n = 0;
  for (const auto& [producer, offsets] : g.txn_offsets) n += offsets.size();
  return n;
}

void group_coordinator::commit_txn_offsets(const txn_commit_params& params, commit_callback done) {
  CHRONIK_EXPECTS(params.producer_id >= 0 && params.producer_epoch >= 0, "a transactional commit names its producer");
  auto refuse = [&](group_errc e) {
    ready_.push_back([d = std::move(done), e]() mutable { d(std::unexpected(e)); });
    flush();
  };
  if (params.group_id.empty()) return refuse(group_errc::invalid_group_id);
  if (const group_errc here = serves(params.group_id); here != group_errc::none) return refuse(here);
  group* g = find(params.group_id);
  if (g == nullptr) {
    // Kafka creates the group, empty, and checks the member fields against it (generation 0).
    if (groups_.size() >= config_.max_groups) return refuse(group_errc::coordinator_not_available);
    g = create(params.group_id);
  }
  if (g->state == group_state::dead) return refuse(group_errc::coordinator_not_available);
  if (const group_errc e = check_txn_member(*g, params); e != group_errc::none) return refuse(e);

  std::vector<group_errc> results;
  results.reserve(params.offsets.size());
  std::vector<group_log_record> records;
  std::vector<txn_offset> accepted;
  // The pending offsets count against max_offsets_per_group with the committed ones: each holds
  // memory until its marker comes.
  std::size_t held = g->offsets.size() + txn_offset_count(*g);
  for (const auto& [key, value] : params.offsets) {
    if (value.metadata && value.metadata->size() > config_.max_offset_metadata_bytes) {
      results.push_back(group_errc::metadata_too_large);
      continue;
    }
    if (held >= config_.max_offsets_per_group) {
      results.push_back(group_errc::too_many_offsets);
      continue;
    }
    ++held;
    committed_offset stored = value;
    stored.commit_time_ms = wall_ms_;
    records.push_back(offset_record(params.group_id, key, stored));
    accepted.push_back(txn_offset{key, std::move(stored)});
    results.push_back(group_errc::none);
  }
  if (records.empty()) {
    ready_.push_back([d = std::move(done), r = std::move(results)]() mutable { d(std::move(r)); });
    flush();
    return;
  }
  // Pending, and answered, once committed (acks=all), exactly as the log will show them to the
  // next coordinator.
  write_txn(g->partition, params.producer_id, params.producer_epoch, std::move(records),
            [this, group_id = params.group_id, producer = params.producer_id, accepted = std::move(accepted),
             results = std::move(results), d = std::move(done)](write_outcome outcome, std::int64_t base) mutable {
              if (outcome != write_outcome::committed) {
                const group_errc e = write_error(outcome);
                ready_.push_back([d = std::move(d), e]() mutable { d(std::unexpected(e)); });
                return;
              }
              CHRONIK_ASSERT(base >= 0, "a committed transactional write is reported with its offset");
              group* target = find(group_id);
              if (target == nullptr) target = create(group_id);  // dropped as idle meanwhile
              for (std::size_t i = 0; i < accepted.size(); ++i) {
                add_txn_offset(*target, producer, base + static_cast<std::int64_t>(i), std::move(accepted[i]));
              }
              ready_.push_back([d = std::move(d), r = std::move(results)]() mutable { d(std::move(r)); });
            });
  flush();
}

void group_coordinator::add_txn_offset(group& g, std::int64_t producer_id, std::int64_t offset, txn_offset value) {
  auto ps = served_.find(g.partition);
  CHRONIK_ASSERT(ps != served_.end(), "pending offsets belong to a served partition");
  // Keyed by the record's place in the log: the same record fed again (write_done, then the owner
  // reading the log) is the same entry.
  g.txn_offsets[producer_id].insert_or_assign(offset, std::move(value));
  ps->second.txn_groups[producer_id].insert(g.id);
}

void group_coordinator::load_txn(std::int32_t partition, std::int64_t producer_id, std::int64_t offset,
                                 const group_log_record& record) {
  auto ps = served_.find(partition);
  if (ps == served_.end()) return;  // no longer served: the owner is between two loads
  if (!ps->second.loaded) ++ps->second.log_records;
  const auto* key = std::get_if<offset_record_key>(&record.key);
  // Kafka writes only offset commits into a transaction; anything else there is not group state.
  if (key == nullptr || !record.value || offsets_partition_for(key->group, partitions_) != partition) return;
  const auto& v = std::get<offset_record_value>(*record.value);
  group* g = find(key->group);
  if (g == nullptr) g = create(key->group);
  if (g->state == group_state::dead) return;
  add_txn_offset(*g, producer_id, offset,
                 txn_offset{offset_key{key->topic, key->partition},
                            committed_offset{v.offset, v.leader_epoch, v.metadata, v.commit_timestamp_ms}});
}

void group_coordinator::txn_marker_applied(std::int32_t partition, std::int64_t producer_id, std::int64_t offset,
                                           bool commit) {
  auto ps = served_.find(partition);
  if (ps == served_.end()) return;
  auto open = ps->second.txn_groups.find(producer_id);
  if (open == ps->second.txn_groups.end()) return;  // nothing of it pending here: nothing to settle
  std::set<std::string, std::less<>> still_open;
  for (const auto& group_id : open->second) {
    group* g = find(group_id);
    if (g == nullptr) continue;
    auto pending = g->txn_offsets.find(producer_id);
    if (pending == g->txn_offsets.end()) continue;
    // Only the records before the marker are its transaction's; later ones belong to the next.
    const auto end = pending->second.lower_bound(offset);
    for (auto it = pending->second.begin(); it != end; ++it) {
      // In log order, so a later record of the same partition wins, as it would in Kafka.
      if (commit) g->offsets.insert_or_assign(it->second.key, std::move(it->second.value));
    }
    pending->second.erase(pending->second.begin(), end);
    if (pending->second.empty()) {
      g->txn_offsets.erase(pending);
    } else {
      still_open.insert(group_id);
    }
  }
  if (still_open.empty()) {
    ps->second.txn_groups.erase(open);
  } else {
    open->second = std::move(still_open);
  }
}

bool group_coordinator::has_pending_txn_offsets(std::string_view group_id, const offset_key& key) const {
  const group* g = find(group_id);
  if (g == nullptr) return false;
  for (const auto& [producer, offsets] : g->txn_offsets) {
    for (const auto& [at, pending] : offsets) {
      if (pending.key == key) return true;
    }
  }
  return false;
}

std::int64_t group_coordinator::first_txn_offset(std::int32_t partition) const {
  std::int64_t first = std::numeric_limits<std::int64_t>::max();
  for (const auto& [id, g] : groups_) {
    if (g.partition != partition) continue;
    for (const auto& [producer, offsets] : g.txn_offsets) {
      if (!offsets.empty()) first = std::min(first, offsets.begin()->first);
    }
  }
  return first == std::numeric_limits<std::int64_t>::max() ? -1 : first;
}

}  // namespace chronik::kafka
