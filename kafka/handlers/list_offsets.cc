// ListOffsets (key 2), versions 1-8: the log start offset (timestamp -2), the high watermark
// (-1), the first record carrying the log's largest timestamp (-3, v7+, KIP-734), or the first
// record whose timestamp is at or after the one asked for, each looked up inside its batch and
// answered with that record's timestamp, from the partition's leader replica. v8's -4 (KIP-405)
// asks for the start of the log kept locally; with no tiered storage that is the log start.
// Like Kafka, the special timestamps are not checked against the version: a client only sends
// them in the versions that define them. v0's multi-offset form is legacy and not served. v2+'s
// read_committed (KIP-98) sees the last stable offset as the latest, and no record at or past it.
#include <memory>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/partition_errors.h"
#include "kafka/protocol/messages/list_offsets.h"

namespace chronik::kafka {
namespace {

list_offsets_partition_response one_partition(broker_context& ctx, std::int16_t version, isolation level,
                                              const std::string& topic, const list_offsets_partition& p) {
  list_offsets_partition_response out;
  out.partition_index = p.partition_index;
  partition_replica* r = ctx.partitions().find(topic, p.partition_index);
  if (r == nullptr) {
    out.error = missing_partition_error(ctx, topic, p.partition_index);
    return out;
  }
  if (auto e = check_leader_epoch(version >= 4 ? p.current_leader_epoch : -1, *r); e != error_code::none) {
    out.error = e;
    return out;
  }
  auto a = r->list_offsets(p.timestamp, level);
  if (!a) {
    out.error = to_error_code(a.error());
    return out;
  }
  out.offset = a->offset;
  out.timestamp = a->timestamp;
  out.leader_epoch = a->leader_epoch;
  return out;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_list_offsets_request(body, version);
  if (!req) return out.close("ListOffsets: " + describe(req.error()));
  list_offsets_response resp;
  const isolation level = req->isolation_level == 1 ? isolation::read_committed : isolation::read_uncommitted;
  for (const auto& t : req->topics) {
    list_offsets_topic_response tr{t.name, {}};
    // DESCRIBE on the topic (Kafka's rule); else TOPIC_AUTHORIZATION_FAILED for its partitions.
    const bool allowed = authorized_on_topic(ctx, out, acl::operation::describe, t.name);
    for (const auto& p : t.partitions) {
      if (!allowed) {
        list_offsets_partition_response pr;
        pr.partition_index = p.partition_index;
        pr.error = error_code::topic_authorization_failed;
        tr.partitions.push_back(pr);
        continue;
      }
      tr.partitions.push_back(one_partition(ctx, version, level, t.name, p));
    }
    resp.topics.push_back(std::move(tr));
  }
  for (const auto& t : resp.topics)
    for (const auto& p : t.partitions) out.note_error(p.error);
  writer w;
  encode_list_offsets_response(resp, version, w);
  out.respond(std::move(w));
}

}  // namespace

const api_handler list_offsets_handler{api_key::list_offsets, {1, 8}, handle};

}  // namespace chronik::kafka
