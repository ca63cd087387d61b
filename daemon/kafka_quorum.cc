// kafka_service::metadata_quorum (DescribeQuorum): the `__meta` Raft group as KRaft's metadata
// quorum (docs/kafka.md "The metadata quorum"). Kept apart from kafka_service.cc: it reads the
// Raft host's status of group 1 and the brokers' registrations, and changes nothing.
#include <algorithm>
#include <chrono>

#include "daemon/kafka_service.h"
#include "daemon/node_identity.h"

namespace chronik::daemon {

std::optional<kafka::quorum_info> kafka_service::metadata_quorum() const {
  const auto* host = raft_.host();
  if (host == nullptr) return std::nullopt;
  auto st = host->status(metadata::meta_group_id);
  if (!st) return std::nullopt;  // no `__meta` replica here yet
  const bool leading = st->state == consensus::role::leader;
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();

  kafka::quorum_info q;
  q.leader = st->leader;
  q.leader_epoch = static_cast<std::int32_t>(std::min<std::uint64_t>(st->term.value, INT32_MAX));
  q.high_watermark = static_cast<std::int64_t>(st->commit.value);
  q.leader_here = leading;
  const auto replica = [&](chronik::node_id id) {
    kafka::quorum_replica r;
    r.id = id;
    if (const auto* b = meta_.state().broker(id)) {
      if (auto u = node_uuid::from_hex(b->uuid)) r.directory_id = u->bytes;
    }
    if (id == st->id) {
      // Our own log end is always known; the leader counts as caught up now (KIP-836).
      r.log_end_offset = static_cast<std::int64_t>(st->last_index.value);
      if (leading) r.last_caught_up_ms = now_ms;
    } else if (leading) {
      auto m = st->match.find(id);
      if (m != st->match.end()) {
        r.log_end_offset = static_cast<std::int64_t>(m->second.value);
        // The leader keeps no fetch times; what it knows is whether the replica holds its whole
        // log at this moment, and then it is caught up now. Otherwise: unknown (-1).
        if (m->second == st->last_index) r.last_caught_up_ms = now_ms;
      }
    }
    return r;
  };
  for (auto id : st->conf.voters) q.voters.push_back(replica(id));
  for (auto id : st->conf.learners) q.observers.push_back(replica(id));
  return q;
}

}  // namespace chronik::daemon
