// The push-pull state exchange (memberlist push/pull), compact form (docs/gossip.md "Compact
// push-pull"): a request lists the requester's table as digests, without uuid, address or
// metadata; the reply carries a full record only where the requester lacks it or holds it older,
// a digest where the requester holds it but a merge still changes something (a suspicion to
// count, an older state), and nothing where both agree; it also names the records the replier
// lacks, which the requester sends in one more reply. Metadata thus crosses the wire only towards
// a member that lacks it, and two members that agree exchange one table of digests.
#include <set>
#include <unordered_map>

#include "gossip/core/membership.h"

namespace chronik::gossip {
namespace {

// Peers that sent a push-pull without `compact` read only full records; at most this many are
// remembered (beyond, such a peer gets compact requests, which it takes for an empty table: it
// still answers with its own, so only its side of those syncs is lost).
constexpr std::size_t max_full_sync_peers = 1024;
// At most this many records are asked for in one reply; the rest wait for the next sync. It keeps
// a reply to a hostile table of made-up members small.
constexpr std::size_t max_wanted_records = 16384;

member_record record_of(const member& m) { return {m.id, m.inc, m.state, m.uuid, m.addr, m.meta}; }

std::uint32_t identity_of(const member& m) { return identity_digest(m.uuid, m.addr); }

}  // namespace

// The periodic and reconnect syncs, nearly always between members that agree, send digests. A
// join sends full records (its seed lacks at least the joiner's own), and so do the syncs that
// carry news (a passed-on sync, a sync with a stranger): the peer lacks some records, and full
// ones reach it in this one frame instead of in a third one after its reply asked for them,
// which keeps a chain of passed-on syncs as likely to go through under loss as before the compact
// exchange (one frame per hop, not three). An old peer reads full records only.
void membership::send_push_pull(const std::string& addr, sync_kind kind) {
  push_pull_msg pp{kind == sync_kind::join, false, {}, {}, true, {}};
  const bool full = kind != sync_kind::periodic || full_sync_peers_.contains(addr);
  if (full) pp.members.reserve(members_.size());
  else pp.digests.reserve(members_.size());
  for (const auto& [id, m] : members_) {
    if (full) pp.members.push_back(record_of(m));
    else pp.digests.push_back({m.id, m.inc, m.state, identity_of(m)});
  }
  send(addr, {std::move(pp)}, transport::stream);
}

void membership::on_push_pull(const envelope& env, const push_pull_msg& m) {
  if (!m.compact) {
    if (full_sync_peers_.size() < max_full_sync_peers) full_sync_peers_.insert(env.from_addr);
  } else {
    full_sync_peers_.erase(env.from_addr);
  }
  const auto before = events_emitted_;
  merge_remote(m, env);
  // A reply's digests that need their full records are left to a later sync: asking again could
  // go on for ever, and only a view that changed since our request makes a replier send one.
  auto want = merge_digests(m, env);
  if (conflict_) return;
  if (!m.reply) send(env.from_addr, {reply_to(m, std::move(want))}, transport::stream);
  else if (!m.want.empty()) send(env.from_addr, {wanted_records(m.want)}, transport::stream);
  // A full sync that taught us something (say, a whole group we had never heard of) is passed on
  // by another full sync soon, instead of relying on piggyback gossip alone, which reaches each
  // member only with high probability (SWIM §4.1).
  if (events_emitted_ != before && !pass_on_push_pull_at_)
    pass_on_push_pull_at_ = now_ + cfg_.ticks(cfg_.gossip_interval_ms);
}

// A digest is merged like the full record it stands for when we hold its identity and what it
// claims needs no metadata: a suspicion, death or leave, an alive at an incarnation we hold
// already, or an alive of ourselves (which we refute). Anything else needs the full record: an
// unknown member's alive, an alive at a newer incarnation (which may come with new metadata), and
// any claim about another identity than the one we hold (identity.cc judges those).
std::vector<node_id> membership::merge_digests(const push_pull_msg& m, const envelope& env) {
  std::vector<node_id> want;
  std::set<node_id> wanted;  // a hostile table may list one id many times
  for (const auto& d : m.digests) {
    if (!incarnation_in_range(d.node, d.inc, d.state)) continue;  // that digest only
    if (conflict_) break;
    const auto held = members_.find(d.node);
    const bool same_identity = held != members_.end() && identity_of(held->second) == d.identity;
    bool needs_record = false;
    if (!same_identity) needs_record = held != members_.end() || d.state == member_state::alive;
    else needs_record = d.node != self_.id && d.state == member_state::alive && d.inc > held->second.inc;
    if (needs_record) {
      if (want.size() < max_wanted_records && wanted.insert(d.node).second) want.push_back(d.node);
      continue;
    }
    if (!same_identity) continue;  // an accusation of a member we do not know: nothing to do
    const member& h = held->second;
    merge_record({d.node, d.inc, d.state, h.uuid, h.addr, h.meta}, env);
  }
  return want;
}

// Our table as the requester needs it, after merging its request. A requester that does not read
// compact push-pulls gets every full record, as before.
push_pull_msg membership::reply_to(const push_pull_msg& request, std::vector<node_id> want) const {
  push_pull_msg pp{false, true, {}, {}, true, std::move(want)};
  if (!request.compact) {
    pp.want.clear();
    for (const auto& [id, m] : members_) pp.members.push_back(record_of(m));
    return pp;
  }
  // What the requester holds, for the members we hold (so the map stays within our table's size
  // whatever the request lists).
  struct held_there {
    incarnation inc;
    member_state state;
    std::uint32_t identity;
  };
  std::unordered_map<node_id, held_there> there;
  for (const auto& r : request.members)
    if (members_.contains(r.node)) there.insert_or_assign(r.node, held_there{r.inc, r.state, identity_digest(r.uuid, r.addr)});
  for (const auto& d : request.digests)
    if (members_.contains(d.node)) there.insert_or_assign(d.node, held_there{d.inc, d.state, d.identity});
  for (const auto& [id, m] : members_) {
    const auto it = there.find(id);
    const bool same_identity = it != there.end() && it->second.identity == identity_of(m);
    if (!same_identity || it->second.inc < m.inc) {
      pp.members.push_back(record_of(m));
    } else if (it->second.inc == m.inc && (it->second.state != m.state || m.state == member_state::suspect)) {
      // The requester holds its metadata, but merging our state still changes something there:
      // an older state, or a suspicion that counts as a confirmation (Lifeguard §4.2).
      pp.digests.push_back({m.id, m.inc, m.state, it->second.identity});
    }
    // Otherwise merging our record changes nothing there: the same state, or an older incarnation.
  }
  return pp;
}

// The full records a replier asked for, as we hold them now; ids we do not hold are skipped.
push_pull_msg membership::wanted_records(const std::vector<node_id>& want) const {
  push_pull_msg pp{false, true, {}, {}, true, {}};
  std::set<node_id> sent;
  for (node_id id : want) {
    const auto it = members_.find(id);
    if (it != members_.end() && sent.insert(id).second) pp.members.push_back(record_of(it->second));
  }
  return pp;
}

}  // namespace chronik::gossip
