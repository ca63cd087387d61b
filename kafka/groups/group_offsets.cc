// Committed offsets of the groups this node coordinates (OffsetCommit, OffsetFetch); see
// group_coordinator.h. Which commits are accepted follows the Kafka broker's
// GroupCoordinator.handleCommitOffsets: a group that uses Kafka only to store offsets (generation
// -1, no members) may always commit; a group member must be current and not in the middle of a
// rebalance whose assignment it has not yet received.
//
// A commit is stored in the group's `__consumer_offsets` partition before it is answered or
// visible (group_coordinator.h "Durability").
#include <set>

#include "kafka/groups/group_coordinator.h"

namespace chronik::kafka {

void group_coordinator::commit_offsets(const commit_params& params, commit_callback done) {
  auto refuse = [&](group_errc e) {
    ready_.push_back([d = std::move(done), e]() mutable { d(std::unexpected(e)); });
    flush();
  };
  if (params.group_id.empty()) return refuse(group_errc::invalid_group_id);
  if (const group_errc here = serves(params.group_id); here != group_errc::none) return refuse(here);
  group* g = find(params.group_id);
  if (g == nullptr) {
    // Kafka: a generation >= 0 for an unknown group is a member of a generation this coordinator
    // never had (e.g. the group moved here): it must rejoin.
    if (params.generation_id >= 0) return refuse(group_errc::illegal_generation);
    if (groups_.size() >= config_.max_groups) return refuse(group_errc::coordinator_not_available);
    g = create(params.group_id);
  } else if (g->state == group_state::dead) {
    return refuse(group_errc::coordinator_not_available);
  } else if (const group_errc e = params.group_instance_id
                                       ? check_member(*g, params.member_id, params.group_instance_id)
                                       : group_errc::none;
             e != group_errc::none) {
    return refuse(e);  // KIP-345: fenced_instance_id for an old member id of the instance
  } else if (params.generation_id < 0 && g->state == group_state::empty) {
    // Offsets only: no membership to check.
  } else if (g->state == group_state::completing_rebalance) {
    // The member does not know its new assignment yet; committing for the old one could move
    // another member's position.
    return refuse(group_errc::rebalance_in_progress);
  } else {
    auto it = g->members.find(params.member_id);
    if (it == g->members.end()) return refuse(group_errc::unknown_member);
    if (params.generation_id != g->generation_id) return refuse(group_errc::illegal_generation);
    // A commit shows the member is alive, as a heartbeat does.
    it->second.session_deadline_ms = now_ms_ + it->second.session_timeout_ms;
  }

  std::vector<group_errc> results;
  results.reserve(params.offsets.size());
  std::vector<group_log_record> records;
  std::vector<std::pair<offset_key, committed_offset>> accepted;
  std::set<offset_key> new_keys;  // keys this request adds, each counted once
  for (const auto& [key, value] : params.offsets) {
    if (value.metadata && value.metadata->size() > config_.max_offset_metadata_bytes) {
      results.push_back(group_errc::metadata_too_large);
      continue;
    }
    const bool adds = !g->offsets.contains(key) && !new_keys.contains(key);
    if (adds && g->offsets.size() + new_keys.size() >= config_.max_offsets_per_group) {
      results.push_back(group_errc::too_many_offsets);
      continue;
    }
    if (adds) new_keys.insert(key);
    committed_offset stored = value;
    stored.commit_time_ms = wall_ms_;
    records.push_back(offset_record(params.group_id, key, stored));
    accepted.emplace_back(key, std::move(stored));
    results.push_back(group_errc::none);
  }
  if (records.empty()) {
    ready_.push_back([d = std::move(done), r = std::move(results)]() mutable { d(std::move(r)); });
    flush();
    return;
  }
  // Visible, and answered, only once committed (acks=all): an OffsetFetch never shows an offset a
  // new coordinator could not load.
  write(g->partition, std::move(records),
        [this, group_id = params.group_id, accepted = std::move(accepted), results = std::move(results),
         d = std::move(done)](write_outcome outcome) mutable {
          if (outcome != write_outcome::committed) {
            const group_errc e = write_error(outcome);
            ready_.push_back([d = std::move(d), e]() mutable { d(std::unexpected(e)); });
            return;
          }
          group* target = find(group_id);
          if (target == nullptr) target = create(group_id);  // dropped as idle meanwhile
          for (auto& [key, value] : accepted) target->offsets.insert_or_assign(key, std::move(value));
          ready_.push_back([d = std::move(d), r = std::move(results)]() mutable { d(std::move(r)); });
        });
  flush();
}

std::optional<committed_offset> group_coordinator::committed(std::string_view group_id,
                                                             const offset_key& key) const {
  const group* g = find(group_id);
  if (g == nullptr) return std::nullopt;
  auto it = g->offsets.find(key);
  if (it == g->offsets.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<offset_key, committed_offset>> group_coordinator::all_committed(
    std::string_view group_id) const {
  std::vector<std::pair<offset_key, committed_offset>> out;
  const group* g = find(group_id);
  if (g == nullptr) return out;
  out.reserve(g->offsets.size());
  for (const auto& [key, value] : g->offsets) out.emplace_back(key, value);
  return out;
}

}  // namespace chronik::kafka
