// The next step of a replica move on the partition's Raft leader (docs/kafka.md "Moving replicas"),
// as a pure function of the move's target and the leader's view of its group. The partition
// manager runs it on every tick and carries out the step; the Raft core itself refuses a second
// membership change while one is uncommitted, so a step proposed twice is harmless.
//
// Why this order: every change is a single-server change (Raft dissertation §4.1), and new
// replicas join as learners first, so they copy the log without counting towards any quorum
// (§4.2.1: a new server with an empty log must not make the group unavailable); they become voters
// only once caught up. Replicas leave last, after every target replica votes, so the group never
// has fewer voters than the smaller of the old and new replica sets. A leader that is itself
// leaving hands leadership to a caught-up target voter first (§3.10) rather than removing itself (§4.2.2):
// the transfer keeps the partition writable, and the new leader finishes the move.
#pragma once

#include <string>
#include <vector>

#include "consensus/core/raft.h"

namespace chronik::kafka {

struct move_step {
  enum class kind : std::uint8_t {
    wait,      // nothing to do now: a learner is catching up, or this node does not lead
    change,    // propose `change`
    transfer,  // hand leadership to `to`, a target voter holding the most of the log
    finish,    // the group's members are exactly the target, all voters: report it to `__meta`
  };
  kind what = kind::wait;
  consensus::conf_change change;
  consensus::node_id to;
  const char* why = "";  // for the log
  bool operator==(const move_step&) const = default;
};

// `target`: the voters the move ends with, non-empty and distinct. `st`: this node's status of the
// group. A learner is caught up once its match index reaches the leader's commit index.
move_step plan_move_step(const std::vector<consensus::node_id>& target, const consensus::raft_status& st);

}  // namespace chronik::kafka
