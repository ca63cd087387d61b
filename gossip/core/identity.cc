// One holder per node id (docs/bootstrap.md property 7). Members are keyed by the configured
// node_id, and each data directory has its own node_uuid. Two identities may claim one id:
//  - a successor of the holder: the same uuid at a new address (the same data directory,
//    restarted elsewhere) or a new uuid at the same address (a wiped node restarted in place: the
//    old process cannot still run there, since two processes cannot bind one address). It takes
//    the id over by incarnation, SWIM §4.2, as a restart always has (docs/gossip.md departure 7);
//  - another holder: a new uuid at another address. It may take the id over only once the holder
//    is dead or left in SWIM, and only when its operator asked for it (--replace-node,
//    self_identity::replace_dead_holder); else it yields as below. While the holder is alive or
//    suspect, its claims are ignored and counted, and the claimant, told by any member who holds
//    the id, yields and stops.
// Without this rule the two outbid each other's incarnation for ever, and whichever a member heard
// last stood for the id in `__meta` and in every client's broker table.
#include "gossip/core/membership.h"

namespace chronik::gossip {
namespace {

bool live(member_state s) { return s == member_state::alive || s == member_state::suspect; }

}  // namespace

// A claim without an identity (no uuid or no address; no honest member sends one) claims no
// identity either: it is judged by incarnation alone, as any accusation is.
bool membership::other_holder(const member& held, const std::string& uuid, const std::string& addr) {
  return !uuid.empty() && !addr.empty() && uuid != held.uuid && addr != held.addr;
}

// Who reports a claim decides what it proves. The claimant itself proves nothing: either of two
// processes with one id can say it holds it, so a claim heard from the claimant is ignored (both
// ways, which is what lets the holder ignore a newcomer that pushes its state at it). A third
// member reports only the entry it holds, and it holds another identity for our id only if it
// saw no live holder of ours there (ignore_claim_of_live_id); so a live report from a third
// member means the cluster has another live holder, and we yield. A dead or left report means
// the previous holder is gone: we take the id over by outbidding it (SWIM §4.2), as a restart
// does. A live report below our incarnation is older than our own takeover: ignored.
void membership::claim_of_own_id(const member_record& claim, const envelope& via) {
  const member& me = members_.at(self_.id);
  if (via.from == self_.id) {
    ++stats_.identity_conflicts;
    return;
  }
  if (live(claim.state)) {
    if (claim.inc >= me.inc) yield_id(claim, via.from);
    return;
  }
  // The previous holder is dead or left in the reporter's view. Taking its id is the operator's
  // call, never a side effect of a copied node id.
  if (!self_.replace_dead_holder) {
    yield_id(claim, via.from);
    return;
  }
  // Refuting the claim outbids it.
  log(log_level::info, "taking over node id " + std::to_string(self_.id.value()) + " from its " +
                           std::string(to_string(claim.state)) + " holder at " + claim.addr);
  accused(claim.inc, via.from_addr);
}

void membership::ignore_claim_of_live_id(const member& holder, const alive_msg& claim, const envelope* via) {
  if (stats_.identity_conflicts++ % 100 == 0)
    log(log_level::warn, "ignoring a claim of node id " + std::to_string(holder.id.value()) + " from " + claim.addr +
                             ": it is held by live node at " + holder.addr);
  // Tell the claimant who holds the id, so it yields at once rather than on the next full sync.
  // Only a claim heard from the claimant itself is answered: one datagram per datagram it sent.
  if (via != nullptr && via->from == claim.node && via->from_addr == claim.addr)
    send(claim.addr, {alive_msg{holder.id, holder.inc, holder.uuid, holder.addr, holder.meta}});
}

void membership::yield_id(const member_record& holder, node_id reported_by) {
  if (conflict_) return;
  conflict_ = id_conflict{self_.id, holder.uuid, holder.addr, holder.inc, holder.state, reported_by};
  log(log_level::error, "node id " + std::to_string(self_.id.value()) + " is held by another node at " + holder.addr +
                            " (" + std::string(to_string(holder.state)) + ", reported by node " +
                            std::to_string(reported_by.value()) + "); this node stops");
  // Nothing more leaves this core: not our alive, and above all no leave, which would speak for
  // the holder's id and make every member record it as left.
  ready_.packets.clear();
}

}  // namespace chronik::gossip
