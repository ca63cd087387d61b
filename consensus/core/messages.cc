#include "consensus/core/messages.h"

namespace chronik::consensus {

std::string_view to_string(message_type type) {
  switch (type) {
    case message_type::pre_vote: return "pre_vote";
    case message_type::pre_vote_response: return "pre_vote_response";
    case message_type::vote: return "vote";
    case message_type::vote_response: return "vote_response";
    case message_type::append: return "append";
    case message_type::append_response: return "append_response";
    case message_type::heartbeat: return "heartbeat";
    case message_type::heartbeat_response: return "heartbeat_response";
    case message_type::snapshot_chunk: return "snapshot_chunk";
    case message_type::snapshot_response: return "snapshot_response";
    case message_type::timeout_now: return "timeout_now";
    case message_type::read_index: return "read_index";
    case message_type::read_index_response: return "read_index_response";
    case message_type::propose: return "propose";
  }
  return "unknown";
}

namespace {
bool term_ok(term_id t) { return t.value <= max_term; }
bool index_ok(log_index i) { return i.value <= max_log_index; }
}  // namespace

std::string_view out_of_range_field(const message& m) {
  if (!term_ok(m.term)) return "term";
  if (!term_ok(m.log_term)) return "log_term";
  if (!term_ok(m.hint_term)) return "hint_term";
  if (!term_ok(m.snap_meta.term)) return "snap_meta.term";
  if (!index_ok(m.index)) return "index";
  if (!index_ok(m.commit)) return "commit";
  if (!index_ok(m.reject_hint)) return "reject_hint";
  if (!index_ok(m.snap_meta.index)) return "snap_meta.index";
  // The follower computes its new last index as index + entries.size() and erases a conflicting
  // suffix by offsets from index (raft_log::maybe_append, §5.3): both assume the entries number
  // index + 1, index + 2, ... in order. The transport bounds the count by bytes, so this sum
  // cannot wrap once index is in range.
  if (m.entries.size() > max_log_index - m.index.value) return "entries";
  for (std::size_t i = 0; i < m.entries.size(); ++i) {
    const entry& e = m.entries[i];
    if (!term_ok(e.term)) return "entries.term";
    if (m.type == message_type::append && e.index.value != m.index.value + 1 + i) return "entries.index";
    if (!index_ok(e.index)) return "entries.index";
  }
  return {};
}

}  // namespace chronik::consensus
