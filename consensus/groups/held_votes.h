// Vote requests for groups that are not running on this node yet, held for a short while instead
// of dropped (docs/raft_host.md "Messages for groups not running yet").
//
// Why: a new partition's replicas create its group when they apply the `__meta` record, and each
// core starts only once its bootstrap is durable. The `__meta` leader applies first, so its first
// replicas campaign (partition_replica::campaign_if_first) while a peer may not have created, or
// not finished bootstrapping, the same group. Dropped, such a request costs the group a whole
// election timeout (0.5-1 s with the lan preset): 1,000 new partitions on 3 nodes waited that long
// for a third of their leaders when the machine was busy. Held, the request is stepped into the
// core as soon as it starts, and the round completes in one round trip.
//
// Raft allows any message to be delayed (paper §5.1: the network may delay, drop or reorder), so
// delivering a request late is as safe as delivering it on time; holding it a bounded time and
// then dropping it is what the network could do anyway.
//
// Only pre-vote and vote requests are held: they are small, and the candidate does not resend them
// before its next election timeout. A leader's appends and heartbeats are resent every heartbeat
// anyway. Per group and sender only the newest request is kept (a later one supersedes it); at
// most max_held in all, and none longer than hold_ticks host ticks, so a peer that asks for groups
// that never come costs bounded memory and nothing after that.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "consensus/core/messages.h"
#include "consensus/core/types.h"

namespace chronik::consensus {

class held_votes {
 public:
  static constexpr std::size_t max_held = 4096;
  // A minimum election timeout in ticks (raft_config's default): by then the candidate has given
  // up on this round and will ask again.
  static constexpr std::uint64_t hold_ticks = 10;

  // Whether `type` is one that is held: a pre-vote or vote request.
  static bool holds(message_type type);

  // Holds `m` (to group `g`, one of the types holds() accepts) at host tick `now`. False when
  // max_held requests are held already and `m` replaces none of them: the caller drops it.
  bool hold(group_id g, message m, std::uint64_t now);

  // Every request held for `g`, newest per sender, in sender order; none is held for `g` after.
  std::vector<message> take(group_id g);

  // Drops the requests held longer than hold_ticks by host tick `now`.
  void expire(std::uint64_t now);

  std::size_t size() const { return held_.size(); }

 private:
  struct held {
    message msg;
    std::uint64_t at = 0;  // host tick when it arrived
  };
  std::map<std::pair<std::uint64_t, std::uint32_t>, held> held_;  // (group, sender)
};

}  // namespace chronik::consensus
