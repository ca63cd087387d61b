// The node's /metrics and /ready sources (docs/operations.md "Metrics and readiness"), run on the
// io thread by the admin endpoint: every figure is read here, where its owner lives, or through
// the owner's own thread-safe reader (the WAL's atomics, the disk thread's mutex).
#include <string>

#include "daemon/node.h"
#include "daemon/node_metrics.h"

namespace chronik::daemon {

std::string node::metrics_text() const {
  metrics_view v;
  for (const char* s : {"alive", "suspect", "dead", "left"}) v.members_by_state[s] = 0;
  for (const auto& m : gossip_.members()) ++v.members_by_state[std::string(gossip::to_string(m.m.state))];
  v.membership = gossip_.core().stats();
  v.net = gossip_.stats();
  if (const auto* host = raft_.host()) {
    v.fenced = host->failed();
    v.host_open = !host->failed();
    v.host = host->stats();
    v.wal = host->storage_stats();
    for (const auto g : host->groups()) {
      const auto st = host->status(g);
      if (!st) continue;
      ++v.groups;
      if (st->state == consensus::role::leader) ++v.groups_led;
      if (st->leader == consensus::node_id{}) ++v.groups_without_leader;
    }
  } else {
    v.fenced = true;  // between a failed host and its reopened successor (node::replace_host)
  }
  const auto meta = meta_.status();
  v.meta_term = meta.term;
  v.meta_commit = meta.commit;
  v.meta_applied = meta.applied;
  v.meta_leader_known = meta.meta_leader != 0;
  kafka_.collect_metrics(v);
  return render_metrics(v);
}

// /health's conditions are checked first by the admin endpoint (registered broker of a cluster
// with a known `__meta` leader, not fenced); here the rest: the WAL serves, and `__meta` has
// caught up. Catching up is a ReadIndex round (Raft dissertation §6.4): it finishes once this
// node has applied everything the leader had committed when it was asked, which a follower far
// behind (still receiving entries or a snapshot) has not. Without an answer within the read
// timeout, the node is not ready either.
void node::check_ready(admin_server::ready_reply reply) {
  const auto* host = raft_.host();
  if (host == nullptr || host->failed()) return reply("storage failed, node fenced");
  const auto st = meta_.status();
  if (!st.running) return reply("forming: __meta does not run on this node yet");
  if (st.meta_leader == 0) return reply("no known __meta leader");
  meta_.read_linearizable([reply = std::move(reply)](bool caught_up) {
    reply(caught_up ? std::string() : std::string("catching up: __meta has not reached the leader's commit index"));
  });
}

}  // namespace chronik::daemon
