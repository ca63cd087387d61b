// The host core's per-group record. Private to consensus/groups.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>

#include "consensus/core/raft.h"
#include "consensus/groups/host_types.h"

namespace chronik::consensus {

// A ready whose persistence is in progress, reduced to what is still to do: the messages to send,
// what to hand the owner, and the stub advance() needs. The stub keeps the indexes and terms only,
// so entry payloads (Kafka record batches) are moved to the disk and never copied.
struct held_ready {
  ready stub;
  std::vector<message> messages;
  apply_batch apply;
};

struct hosted_group {
  group_id id;
  // Which creation of the group this is: a group removed and revived (host_core::revive_group) is a
  // new life, and a write of its previous life still on the disk completes as nobody's.
  std::uint64_t life = 0;
  raft_config cfg;
  std::unique_ptr<log_reader> reader;  // durable storage's view; the core refers to it
  std::unique_ptr<raft> core;          // null until the bootstrap entries are durable

  bool dirty = false;            // listed in host_core::dirty_
  bool awake = false;            // listed in host_core::awake_
  std::uint64_t in_flight = 0;   // the id of the batch carrying this group's write, 0 if none
  std::optional<held_ready> held;  // the ready that write belongs to

  // Term and vote last handed to the disk: a hard state differing only in commit can wait.
  hard_state last_state;
  std::optional<hard_state> deferred_state;  // commit-only change not yet written
  // The last log index durable here (entries of completed writes). Committed entries are handed
  // to the owner only at or below it (raft.h contract: never applied before durable locally).
  log_index durable_last;

  // Membership as of each applied index, for the snapshot metadata compact() needs: the
  // configuration at `base_index` plus every applied conf change after it.
  log_index applied;
  log_index base_index;
  conf_state base_conf;
  std::map<log_index, conf_state> conf_history;
};

}  // namespace chronik::consensus
