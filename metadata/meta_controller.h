// The `__meta` controller's decisions (docs/design.md "Formation" properties 5 and 6;
// docs/metadata.md "Controller"), as a pure function: given what the leader knows (the replicated
// broker registry, the Raft configuration and progress, and SWIM's view of every node), it returns
// the records to propose and at most one configuration change. The `__meta` node core
// (meta_node.h) runs it on the leader and paces what it proposes; the rules are unit-tested here
// without a network (tests/unit/meta_controller_test.cc).
//
// Why one configuration change at a time: the core applies single-server changes only, each
// after the previous one committed (Raft dissertation §4.1), so the plan names the single most
// urgent change and the next run picks the next one.
//
// Order of urgency:
//   1. remove the old replica of a wiped node (same id, new uuid) so that it can join again;
//      a registered id passes to a new uuid only once its holder is marked dead (the controller
//      marks it so when gossip shows the id held by another uuid) or the new uuid
//      serves the holder's RPC address (docs/bootstrap.md property 7);
//   2. remove a voter that SWIM has confirmed dead for voter_replace_after, once a replacement
//      has been promoted (voters > target), which restores the quorum margin;
//   3. promote a caught-up live learner while the live voters are fewer than the target
//      (property 5 "up to meta_voters", property 6 "replaced with a live non-voter");
//   4. add as learner a live node of this cluster (or asking to join it) that is not in the
//      configuration: a joiner, or a replica removed while it was dead that came back;
//   5. remove a decommissioned node (decommission.h; recorded done once it holds no replica): a
//      learner first of all, a voter once 3 and 4 have nothing left to do, so that a replacement
//      is promoted first whenever one exists; never this node itself, whose leadership the drain
//      rules hand to another voter first (leadership_drain.h). Done comes before the removal so
//      that the node applies its own done record while still a member.
// Nodes being decommissioned count as neither live voters nor candidates in 3 and 4. Besides the
// one configuration change, the plan carries the decommission's replica moves and the records that
// end a decommission once the node holds nothing.
// A dead voter is removed only once the voters outnumber the target, so in time the replacement
// is promoted first (3, then 2): the voter count never drops below the target while a
// replacement exists, and with no live learner to promote the dead voter simply stays (removing
// it would not add any fault tolerance, and it may come back).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "consensus/core/raft.h"
#include "metadata/decommission.h"
#include "metadata/meta_commands.h"
#include "metadata/meta_state.h"

namespace chronik::metadata {

// SWIM's view of one node, folded to what the controller needs: alive and suspect nodes are
// live (a suspect may refute); dead and left nodes are down, for `down_for` so far.
enum class swim_view : std::uint8_t { live, down };

// Whether a node belongs to the cluster or asks to join it (its gossiped formation state).
enum class cluster_relation : std::uint8_t { member, joining };

struct node_view {
  node_id id;
  std::string uuid;
  std::string kafka_addr;
  std::string rpc_addr;
  swim_view swim = swim_view::live;
  std::chrono::milliseconds down_for{0};
  cluster_relation relation = cluster_relation::member;
  std::vector<listener_endpoint> listeners;  // its advertised Kafka listeners (gossiped)
};

struct controller_input {
  node_id self;
  const meta_data* state = nullptr;  // the applied registry
  consensus::conf_state conf;
  std::map<node_id, log_index> match;  // the leader's progress
  log_index commit;
  bool conf_change_in_flight = false;  // an earlier change has not committed in this term
  std::vector<node_view> nodes;        // SWIM's members of this cluster and its joiners
  std::uint32_t meta_voters = 0;       // 0: automatic (3, or 5 once 5+ brokers are registered)
  std::chrono::milliseconds voter_replace_after{10'000};
  std::size_t max_decommission_moves = 4;  // partitions moving at once (decommission.h)
};

struct broker_state_change {
  node_id id;
  std::string uuid;
  broker_state state = broker_state::dead;
};

struct controller_plan {
  std::vector<commands::broker_registration> registrations;  // new, re-addressed or back alive
  std::vector<broker_state_change> state_changes;           // alive brokers SWIM says are down
  std::optional<consensus::conf_change> change;
  std::string reason;  // why `change`, for the log
  std::vector<decommission_move> moves;           // decommission moves to start
  std::vector<broker_state_change> decommissioned;  // decommissions to record done (id and uuid)
};

// The voter count the controller aims for.
std::size_t target_voters(std::uint32_t meta_voters, std::size_t registered_brokers);

controller_plan plan_controller(const controller_input& in);

}  // namespace chronik::metadata
