// Maintenance mode's decisions (docs/operations.md "Maintenance: drain"), pure: no clock, no I/O.
//
// An operator drains a node before restarting it (`chronik-server node drain N`), which commits
// MetaSetBrokerDrained (docs/metadata.md). From then on:
//  - every group the drained node leads, `__meta` and each partition, is handed to another voter
//    by Raft leadership transfer (Raft dissertation §3.10; etcd raft's MsgTransferLeader), to the
//    voter `drain_target` picks;
//  - the node campaigns reluctantly (consensus/core/raft.h campaign_mode), so a new term's leader
//    is another voter whenever one can win;
//  - no leadership is placed on it: a preferred-leader election skips a drained preferred replica
//    (`may_take_leadership`).
// Progress is the number of leaderships `__meta` still shows on the node (`leaderships_of`).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "consensus/core/raft.h"  // campaign_mode
#include "metadata/meta_state.h"

namespace chronik::metadata {

// Nodes whose broker record is drained or being decommissioned (broker_record::leads_nothing).
std::set<node_id> drained_nodes(const meta_state& state);

// Whether leadership may be placed on `node` (a preferred-leader election's target, a transfer's).
bool may_take_leadership(const meta_state& state, node_id node);

// How `self` campaigns: reluctantly while drained, else eagerly.
consensus::campaign_mode campaign_mode_for(const meta_state& state, node_id self);

// What the leader of one group knows, to choose where its leadership goes.
struct drain_group_view {
  node_id self;
  // The order to prefer targets in: the partition's replicas (preferred leader first), or the
  // `__meta` voters. Nodes outside `voters` are skipped.
  std::vector<node_id> preference;
  std::vector<node_id> voters;
  std::map<node_id, log_index> match;  // the leader's progress (raft_status::match)
  log_index last_index;                // the leader's last log index
};

// Where a drained leader hands its group: a voter other than itself that is neither drained nor
// `unavailable` (dead in SWIM's view), preferring one whose match is the last index (the transfer
// then sends timeout_now at once, §3.10) and, among equals, the earlier in `preference`, then the
// lower id. nullopt when no voter qualifies: the leadership stays (a single replica, or every
// other voter drained or dead), and the drain reports it as left.
std::optional<node_id> drain_target(const drain_group_view& group, const std::set<node_id>& drained,
                                    const std::set<node_id>& unavailable);

// Whether a drained leader of `__meta` hands it over now: only once it leads no partition group.
// Partition leaders report their leadership to `__meta` (SetPartitionLeader), and Metadata answers
// from those records where a broker's own replica knows no newer leader; moving `__meta` while
// those reports are on their way delays them (a forwarded proposal lost in the change is proposed
// again only a second later), and clients keep asking the old leader meanwhile.
bool meta_goes_now(std::size_t partition_groups_led_here);

// Leaderships `__meta` shows on `node`: partitions whose recorded leader it is.
std::size_t partitions_led_by(const meta_state& state, node_id node);

}  // namespace chronik::metadata
