// OffsetForLeaderEpoch (key 23), versions 0-4: for each (partition, leader epoch), the leader's
// largest epoch at or below it and the offset where that epoch ends (KIP-101, KIP-279), from the
// partition's epoch map (kafka/partition/leader_epochs.h; docs/kafka.md "Leader epochs"). Consumers
// send it after a leader change with the epoch of the last record they read, and take an end
// offset below their position for a truncated log (KIP-320). The leader epoch is the Raft term and
// only committed entries are ever served, so a consumer never finds its position truncated here.
//
// As Fetch and ListOffsets: only the ready leader answers (NOT_LEADER_OR_FOLLOWER elsewhere), and
// current_leader_epoch (v2+) is fenced as KIP-320 says. replica_id (v3+) is read and not used:
// Raft replicates partitions, so no broker follows a chronik leader over the Kafka protocol, and
// whoever asks gets the leader's answer.
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/partition_errors.h"
#include "kafka/partition/leader_epochs.h"
#include "kafka/protocol/messages/offset_for_leader_epoch.h"

namespace chronik::kafka {
namespace {

offset_for_leader_partition_result one_partition(broker_context& ctx, std::int16_t version, const std::string& topic,
                                                 const offset_for_leader_partition& p) {
  offset_for_leader_partition_result out;
  out.partition = p.partition;
  out.leader_epoch = undefined_epoch;
  out.end_offset = undefined_epoch_offset;
  partition_replica* r = ctx.partitions().find(topic, p.partition);
  if (r == nullptr) {
    out.error = missing_partition_error(ctx, topic, p.partition);
    return out;
  }
  if (auto e = check_leader_epoch(version >= 2 ? p.current_leader_epoch : -1, *r); e != error_code::none) {
    out.error = e;
    return out;
  }
  auto end = r->end_offset_for_epoch(p.leader_epoch);
  if (!end) {
    out.error = to_error_code(end.error());
    return out;
  }
  out.leader_epoch = end->epoch;
  out.end_offset = end->end_offset;
  return out;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_offset_for_leader_epoch_request(body, version);
  if (!req) return out.close("OffsetForLeaderEpoch: " + describe(req.error()));
  offset_for_leader_epoch_response resp;
  for (const auto& t : req->topics) {
    offset_for_leader_topic_result tr;
    tr.topic = t.topic;
    // DESCRIBE on the topic (Kafka's rule for clients).
    const bool allowed = authorized_on_topic(ctx, out, acl::operation::describe, t.topic);
    for (const auto& p : t.partitions) {
      if (!allowed) {
        offset_for_leader_partition_result r;
        r.error = error_code::topic_authorization_failed;
        r.partition = p.partition;
        tr.partitions.push_back(r);
        continue;
      }
      tr.partitions.push_back(one_partition(ctx, version, t.topic, p));
    }
    resp.topics.push_back(std::move(tr));
  }
  writer w;
  encode_offset_for_leader_epoch_response(resp, version, w);
  out.respond(std::move(w));
}

}  // namespace

const api_handler offset_for_leader_epoch_handler{api_key::offset_for_leader_epoch, {0, 4}, handle};

}  // namespace chronik::kafka
