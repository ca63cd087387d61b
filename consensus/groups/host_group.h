// The host's per-group record. Private to consensus/groups.
#pragma once

#include <map>
#include <memory>
#include <optional>

#include "consensus/core/raft.h"
#include "consensus/groups/raft_host.h"

namespace chronik::consensus {

// A ready whose persistence is in progress (or was not needed), reduced to what is still to do:
// the messages to send, what to hand the owner, and the stub advance() needs. The stub keeps the
// indexes and terms only, so entry payloads (Kafka record batches) are moved to the disk thread
// and never copied.
struct held_ready {
  ready stub;
  std::vector<message> messages;
  apply_batch apply;
};

struct hosted_group {
  group_id id;
  raft_config cfg;
  std::shared_ptr<const apply_fn> on_apply;  // shared: a callback may remove its own group
  std::shared_ptr<const persisted_fn> on_persisted;  // optional; shared for the same reason
  std::unique_ptr<log_reader> reader;        // the WAL's view; the core refers to it
  std::unique_ptr<raft> core;                // null until the bootstrap entries are durable

  bool dirty = false;      // listed in raft_host::dirty_
  bool awake = false;      // listed in raft_host::awake_
  bool in_flight = false;  // a write of this group is with the disk thread
  std::optional<held_ready> held;  // the ready that write belongs to

  // Term and vote last handed to the disk: a hard state differing only in commit can wait.
  hard_state last_state;
  std::optional<hard_state> deferred_state;  // commit-only change not yet written

  // Membership as of each applied index, for the snapshot metadata compact() needs: the
  // configuration at `base_index` plus every applied conf change after it.
  log_index applied;
  log_index base_index;
  conf_state base_conf;
  std::map<log_index, conf_state> conf_history;
};

}  // namespace chronik::consensus
