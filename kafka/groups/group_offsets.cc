// Committed offsets of the groups this node coordinates (OffsetCommit, OffsetFetch); see
// group_coordinator.h. Which commits are accepted follows the Kafka broker's
// GroupCoordinator.handleCommitOffsets: a group that uses Kafka only to store offsets (generation
// -1, no members) may always commit; a group member must be current and not in the middle of a
// rebalance whose assignment it has not yet received.
//
// In memory only: lost when this node restarts or the group moves to another coordinator.
#include "kafka/groups/group_coordinator.h"

namespace chronik::kafka {

std::expected<std::vector<group_errc>, group_errc> group_coordinator::commit_offsets(
    const commit_params& params) {
  if (params.group_id.empty()) return std::unexpected(group_errc::invalid_group_id);
  group* g = find(params.group_id);
  if (g == nullptr) {
    // Kafka: a generation >= 0 for an unknown group is a member of a generation this coordinator
    // never had (e.g. the group moved here): it must rejoin.
    if (params.generation_id >= 0) return std::unexpected(group_errc::illegal_generation);
    if (groups_.size() >= config_.max_groups) {
      return std::unexpected(group_errc::coordinator_not_available);
    }
    g = &groups_.try_emplace(params.group_id).first->second;
    g->id = params.group_id;
  } else if (g->state == group_state::dead) {
    return std::unexpected(group_errc::coordinator_not_available);
  } else if (params.generation_id < 0 && g->state == group_state::empty) {
    // Offsets only: no membership to check.
  } else if (g->state == group_state::completing_rebalance) {
    // The member does not know its new assignment yet; committing for the old one could move
    // another member's position.
    return std::unexpected(group_errc::rebalance_in_progress);
  } else {
    auto it = g->members.find(params.member_id);
    if (it == g->members.end()) return std::unexpected(group_errc::unknown_member);
    if (params.generation_id != g->generation_id) {
      return std::unexpected(group_errc::illegal_generation);
    }
    // A commit shows the member is alive, as a heartbeat does.
    it->second.session_deadline_ms = now_ms_ + it->second.session_timeout_ms;
  }

  std::vector<group_errc> results;
  results.reserve(params.offsets.size());
  for (const auto& [key, value] : params.offsets) {
    if (value.metadata && value.metadata->size() > config_.max_offset_metadata_bytes) {
      results.push_back(group_errc::metadata_too_large);
      continue;
    }
    auto existing = g->offsets.find(key);
    if (existing == g->offsets.end() && g->offsets.size() >= config_.max_offsets_per_group) {
      results.push_back(group_errc::too_many_offsets);
      continue;
    }
    committed_offset stored = value;
    stored.commit_time_ms = now_ms_;
    if (existing == g->offsets.end()) {
      g->offsets.emplace(key, std::move(stored));
    } else {
      existing->second = std::move(stored);
    }
    results.push_back(group_errc::none);
  }
  return results;
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
