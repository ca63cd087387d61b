// Raft messages as plain values (Raft paper §5, Figure 2, plus pre-vote §9.6 of Ongaro's
// dissertation, InstallSnapshot chunks §7, leadership transfer and ReadIndex §6.4). The transport
// encodes them; the core never sees bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/core/types.h"

namespace chronik::consensus {

enum class message_type : std::uint8_t {
  pre_vote,
  pre_vote_response,
  vote,
  vote_response,
  append,
  append_response,
  heartbeat,
  heartbeat_response,
  snapshot_chunk,
  snapshot_response,
  timeout_now,
  read_index,
  read_index_response,
  propose,  // a follower forwards proposals to its leader (entries; no answer)
};

std::string_view to_string(message_type type);

struct message {
  message_type type = message_type::append;
  node_id from;
  node_id to;
  term_id term;

  // append: index and term of the entry before `entries`; vote/pre_vote: the candidate's last
  // entry; append_response: the follower's new last index (or the rejected index); snapshot: the
  // snapshot's index; read_index_response: the read index.
  log_index index;
  term_id log_term;
  std::vector<entry> entries;
  log_index commit;

  bool reject = false;
  // Fast backtracking (Raft paper §5.3, "the follower can include the term of the conflicting
  // entry"): on reject, the follower's best guess of the last index where logs may agree, and the
  // term it holds there.
  log_index reject_hint;
  term_id hint_term;

  // snapshot_chunk: one piece of a snapshot (§7 InstallSnapshot, sent in chunks).
  snapshot_meta snap_meta;
  std::uint64_t snap_offset = 0;
  std::string snap_data;
  bool snap_done = false;

  // read_index and heartbeats that confirm it carry the request's context; vote requests that a
  // leadership transfer caused carry "transfer" so that voters skip leader stickiness.
  std::string context;
};

// The first field of `m` whose value is past max_term or max_log_index, or would pass them once
// the core does its arithmetic on it (an append's index + entry count, entries that do not follow
// its index one by one); empty when every field is in range. raft::step drops such a message.
std::string_view out_of_range_field(const message& m);

// Quiescence (docs/raft.md "Quiescence") needs no field of its own, so every transport carries
// it unchanged:
//  - a quiesce heartbeat is a heartbeat whose `index` and `log_term` name the leader's last entry
//    (a plain heartbeat leaves both zero) and whose `commit` equals that index;
//  - a heartbeat_response with `reject` set answers a quiesce heartbeat the follower could not
//    honour (its log does not end with that entry), so the leader wakes up.
inline bool is_quiesce_heartbeat(const message& m) {
  return m.type == message_type::heartbeat && m.log_term.value != 0;
}

}  // namespace chronik::consensus
