#include "consensus/storage/wal_index.h"

#include <fmt/format.h>
#include <limits>

#include "base/assert.h"

namespace chronik::consensus::detail {
namespace {

// No real log gets near 2^62 entries; refusing larger indexes at recovery keeps every index
// computation (last + 1, last - size + 1) far from wrapping, whatever a damaged file says.
constexpr std::uint64_t max_index = 1ull << 62;

}  // namespace

std::optional<term_id> group_state::term_at(log_index i) const {
  if (i == compacted) return compacted_term;
  if (const entry_loc* l = loc(i)) return term_id{l->term};
  return std::nullopt;
}

const entry_loc* group_state::loc(log_index i) const {
  if (i > last || locs.empty() || i.value < first_present()) return nullptr;
  return &locs[i.value - first_present()];
}

proto::WalHardState to_proto(const hard_state& hs) {
  proto::WalHardState p;
  p.set_term(hs.term.value);
  p.set_vote(hs.vote.value());
  p.set_commit(hs.commit.value);
  p.set_rejoining(hs.rejoining);
  return p;
}

std::expected<hard_state, std::string> from_proto(const proto::WalHardState& p) {
  const auto vote = node_id_from_u64(p.vote());
  if (!vote) return std::unexpected(fmt::format("hard state: vote {} is not a node id", p.vote()));
  return hard_state{term_id{p.term()}, *vote, log_index{p.commit()}, p.rejoining()};
}

proto::WalSnapshotMeta to_proto(const snapshot_meta& m) {
  proto::WalSnapshotMeta p;
  p.set_index(m.index.value);
  p.set_term(m.term.value);
  for (node_id v : m.conf.voters) p.mutable_conf()->add_voters(v.value());
  for (node_id l : m.conf.learners) p.mutable_conf()->add_learners(l.value());
  return p;
}

std::expected<snapshot_meta, std::string> from_proto(const proto::WalSnapshotMeta& p) {
  snapshot_meta m{log_index{p.index()}, term_id{p.term()}, {}};
  for (const auto& [raw, out] : {std::pair{&p.conf().voters(), &m.conf.voters},
                                 std::pair{&p.conf().learners(), &m.conf.learners}}) {
    for (std::uint64_t v : *raw) {
      const auto id = node_id_from_u64(v);
      if (!id) return std::unexpected(fmt::format("snapshot configuration: {} is not a node id", v));
      out->push_back(*id);
    }
  }
  return m;
}

const group_state* wal_index::find(group_id g) const {
  auto it = groups_.find(g.value);
  return it == groups_.end() ? nullptr : &it->second;
}

std::uint64_t wal_index::live_entries(std::uint64_t segment) const {
  auto it = live_.find(segment);
  return it == live_.end() ? 0 : it->second;
}

void wal_index::check_group(const group_state& g) const {
  CHRONIK_ASSERT(g.compacted <= g.last, "a group's compaction point never passes its last index");
  CHRONIK_ASSERT(g.locs.size() <= g.last.value - g.compacted.value, "located entries lie in (compacted, last]");
  CHRONIK_ASSERT(g.locs.empty() || g.first_present() != g.compacted.value + 1 ||
                     g.locs.front().term >= g.compacted_term.value,
                 "terms never decrease from the compaction point into the log");
}

void wal_index::pop_back(group_state& g) {
  CHRONIK_ASSERT(live_entries(g.locs.back().segment) > 0, "a segment's live count never goes below zero");
  if (--live_[g.locs.back().segment] == 0) live_.erase(g.locs.back().segment);
  g.locs.pop_back();
}

void wal_index::pop_front(group_state& g) {
  CHRONIK_ASSERT(live_entries(g.locs.front().segment) > 0, "a segment's live count never goes below zero");
  if (--live_[g.locs.front().segment] == 0) live_.erase(g.locs.front().segment);
  g.locs.pop_front();
}

apply_result wal_index::apply(const proto::WalRecord& record, std::uint64_t segment,
                              std::uint64_t blob_offset, std::uint64_t blob_size,
                              std::uint64_t& blob_used) {
  CHRONIK_EXPECTS(blob_used <= blob_size, "the blob bytes used so far fit in the blob");
  switch (record.body_case()) {
    case proto::WalRecord::kEntries:
      return apply_entries(record.entries(), segment, blob_offset, blob_size, blob_used);
    case proto::WalRecord::kHardState:
    {
      auto state = from_proto(record.hard_state().state());
      if (!state) return std::unexpected(fmt::format("group {}: {}", record.hard_state().group(), state.error()));
      get(record.hard_state().group()).state = *state;
      return {};
    }
    case proto::WalRecord::kTruncate:
      return apply_truncate(get(record.truncate().group()), record.truncate().from_index());
    case proto::WalRecord::kCompact:
      return apply_compact(get(record.compact().group()), record.compact().through_index(),
                           record.compact().term());
    case proto::WalRecord::kSnapshot: {
      auto decoded = from_proto(record.snapshot().meta());
      if (!decoded) return std::unexpected(fmt::format("group {}: {}", record.snapshot().group(), decoded.error()));
      group_state& g = get(record.snapshot().group());
      snapshot_meta m = std::move(*decoded);
      if (m.index.value == 0 || m.index < g.snap.index || m.index.value > max_index) {
        return std::unexpected(fmt::format("group {}: snapshot index {} behind {}",
                                           record.snapshot().group(), m.index.value,
                                           g.snap.index.value));
      }
      g.snap = std::move(m);
      return {};
    }
    case proto::WalRecord::kCheckpoint:
      return std::unexpected("checkpoint record after the start of a segment");
    case proto::WalRecord::BODY_NOT_SET:
      break;
  }
  return std::unexpected("record with no body");
}

apply_result wal_index::apply_entries(const proto::WalEntries& r, std::uint64_t segment,
                                      std::uint64_t blob_offset, std::uint64_t blob_size,
                                      std::uint64_t& blob_used) {
  const auto n = static_cast<std::uint64_t>(r.terms_size());
  if (n == 0 || r.types_size() != r.terms_size() || r.lengths_size() != r.terms_size()) {
    return std::unexpected(fmt::format("group {}: entries record with {} terms, {} types, {} "
                                       "lengths", r.group(), r.terms_size(), r.types_size(),
                                       r.lengths_size()));
  }
  group_state& g = get(r.group());
  if (r.first_index() != g.last.value + 1 || r.first_index() > max_index - n) {
    return std::unexpected(fmt::format("group {}: entries start at {} but the log ends at {}",
                                       r.group(), r.first_index(), g.last.value));
  }
  // Raft terms never decrease along a log (paper §5.3): a decrease means a wrong record.
  std::uint64_t prev_term = g.locs.empty() ? g.compacted_term.value : g.locs.back().term;
  if (g.locs.empty() && g.last != g.compacted) prev_term = 0;  // missing range: unknown
  // The payloads together must fit in what is left of the blob, not each one alone: entries that
  // each fit but overrun it together would point into the bytes of the next frame.
  std::uint64_t left = blob_size - blob_used;
  for (int i = 0; i < r.terms_size(); ++i) {
    const std::uint64_t length = r.lengths(i);
    if (r.terms(i) < prev_term || r.types(i) > 1 || length > left ||
        length > std::numeric_limits<std::uint32_t>::max()) {
      return std::unexpected(fmt::format("group {}: entry {} has term {} after {}, type {}, "
                                         "length {} of {} blob bytes left", r.group(),
                                         r.first_index() + static_cast<std::uint64_t>(i),
                                         r.terms(i), prev_term, r.types(i), length, left));
    }
    left -= length;
    prev_term = r.terms(i);
  }
  for (int i = 0; i < r.terms_size(); ++i) {
    g.locs.push_back({r.terms(i), segment, blob_offset + blob_used,
                      static_cast<std::uint32_t>(r.lengths(i)),
                      static_cast<entry_type>(r.types(i))});
    blob_used += r.lengths(i);
  }
  live_[segment] += n;
  g.last = log_index{r.first_index() + n - 1};
  check_group(g);
  CHRONIK_ENSURES(blob_used <= blob_size, "entries never read past their blob");
  return {};
}

apply_result wal_index::apply_truncate(group_state& g, std::uint64_t from) {
  if (from <= g.compacted.value) {
    return std::unexpected(fmt::format("truncation from {} reaches compacted index {}", from,
                                       g.compacted.value));
  }
  if (from > g.last.value) return {};
  // The back of locs is always entry `last`; once locs is empty the rest lies in the missing range.
  while (!g.locs.empty() && g.last.value >= from) {
    pop_back(g);
    --g.last.value;
  }
  g.last = log_index{from - 1};
  check_group(g);
  return {};
}

apply_result wal_index::apply_compact(group_state& g, std::uint64_t through, std::uint64_t term) {
  if (through <= g.compacted.value) return {};
  if (through > max_index) return std::unexpected(fmt::format("compaction through {}", through));
  if (const entry_loc* l = g.loc(log_index{through}); l != nullptr && l->term != term) {
    return std::unexpected(fmt::format("compaction through {} with term {} but the entry has "
                                       "term {}", through, term, l->term));
  }
  // The entry after the new compaction point may not have a lower term (Raft §5.3); checked here,
  // as disk input, so check_group's assertion of the same rule can only catch our own bugs.
  if (const entry_loc* next = g.loc(log_index{through + 1}); next != nullptr && next->term < term) {
    return std::unexpected(fmt::format("compaction through {} with term {} but entry {} has term {}", through,
                                       term, through + 1, next->term));
  }
  if (through >= g.last.value) {
    while (!g.locs.empty()) pop_back(g);
    g.last = log_index{through};
  } else {
    while (!g.locs.empty() && g.first_present() <= through) pop_front(g);
  }
  g.compacted = log_index{through};
  g.compacted_term = term_id{term};
  check_group(g);
  return {};
}

proto::WalCheckpoint wal_index::checkpoint() const {
  proto::WalCheckpoint cp;
  for (const auto& [id, g] : groups_) {
    proto::WalGroupCheckpoint* p = cp.add_groups();
    p->set_group(id);
    *p->mutable_state() = to_proto(g.state);
    p->set_compacted_index(g.compacted.value);
    p->set_compacted_term(g.compacted_term.value);
    p->set_last_index(g.last.value);
    *p->mutable_snapshot() = to_proto(g.snap);
  }
  return cp;
}

apply_result wal_index::apply_checkpoint(const proto::WalCheckpoint& cp, bool base) {
  if (!base) {
    // Compare canonical encodings: equal state serializes to equal bytes (same field order,
    // groups ascending), so this checks every field at once.
    std::string want;
    std::string got;
    if (!checkpoint().SerializeToString(&want) || !cp.SerializeToString(&got) || want != got) {
      return std::unexpected("checkpoint does not match the state rebuilt from older segments");
    }
    return {};
  }
  groups_.clear();
  live_.clear();
  for (const proto::WalGroupCheckpoint& p : cp.groups()) {
    if (groups_.contains(p.group()) || p.last_index() < p.compacted_index() ||
        p.last_index() > max_index || p.snapshot().index() > max_index) {
      return std::unexpected(fmt::format("checkpoint: group {} repeated or last {} < compacted "
                                         "{}", p.group(), p.last_index(), p.compacted_index()));
    }
    auto state = from_proto(p.state());
    if (!state) return std::unexpected(fmt::format("checkpoint: group {}: {}", p.group(), state.error()));
    auto snap = from_proto(p.snapshot());
    if (!snap) return std::unexpected(fmt::format("checkpoint: group {}: {}", p.group(), snap.error()));
    group_state& g = groups_[p.group()];
    g.state = *state;
    g.snap = std::move(*snap);
    g.compacted = log_index{p.compacted_index()};
    g.compacted_term = term_id{p.compacted_term()};
    g.last = log_index{p.last_index()};  // (compacted, last] missing until compacted away
    check_group(g);
  }
  return {};
}

apply_result wal_index::check_complete() const {
  for (const auto& [id, g] : groups_) {
    if (g.first_present() != g.compacted.value + 1) {
      return std::unexpected(fmt::format("group {}: entries {}..{} are missing (a segment holding "
                                         "live entries was deleted)", id, g.compacted.value + 1,
                                         g.first_present() - 1));
    }
  }
  return {};
}

}  // namespace chronik::consensus::detail
