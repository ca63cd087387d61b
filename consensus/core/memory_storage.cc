#include "consensus/core/memory_storage.h"

#include "base/assert.h"
#include "consensus/core/raft.h"

namespace chronik::consensus {

memory_storage::memory_storage(const conf_state& conf) {
  const auto add = [&](node_id id, conf_change::kind op) {
    const log_index index{log_.size() + 1};
    log_.push_back(entry{term_id{1}, index, entry_type::conf_change, conf_change{op, id}.encode()});
  };
  for (node_id id : conf.voters) add(id, conf_change::kind::add_voter);
  for (node_id id : conf.learners) add(id, conf_change::kind::add_learner);
  if (!log_.empty()) hard_state_ = hard_state{term_id{1}, node_id{}, last_index()};
}

void memory_storage::persist(const std::optional<hard_state>& hs, const std::optional<snapshot>& snap,
                             const std::vector<entry>& ents) {
  if (hs) hard_state_ = *hs;
  if (snap) {
    snapshot_ = *snap;
    log_.clear();
  }
  if (ents.empty()) return;
  const log_index from = ents.front().index;
  CHRONIK_ASSERT(from > snapshot_.meta.index && from <= last_index().next(), "entries must continue the log");
  log_.resize(from.value - snapshot_.meta.index.value - 1);
  log_.insert(log_.end(), ents.begin(), ents.end());
}

void memory_storage::compact(log_index index, std::string data, conf_state conf) {
  if (index <= snapshot_.meta.index) return;
  CHRONIK_ASSERT(index <= last_index(), "compaction beyond the log");
  const std::size_t drop = index.value - snapshot_.meta.index.value;
  snapshot_.meta = snapshot_meta{index, log_[drop - 1].term, std::move(conf)};
  snapshot_.data = std::move(data);
  log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(drop));
}

std::expected<std::vector<entry>, log_errc> memory_storage::entries(log_index lo, log_index hi,
                                                                    std::uint64_t max_bytes) const {
  if (lo < first_index()) return std::unexpected(log_errc::compacted);
  if (hi > last_index().next()) return std::unexpected(log_errc::unavailable);
  std::vector<entry> out;
  std::uint64_t bytes = 0;
  for (log_index i = lo; i < hi; i = i.next()) {
    const entry& e = log_[i.value - first_index().value];
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

std::expected<term_id, log_errc> memory_storage::term(log_index i) const {
  if (i == snapshot_.meta.index) return snapshot_.meta.term;
  if (i < snapshot_.meta.index) return std::unexpected(log_errc::compacted);
  if (i > last_index()) return std::unexpected(log_errc::unavailable);
  return log_[i.value - first_index().value].term;
}

}  // namespace chronik::consensus
