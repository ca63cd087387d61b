// OffsetDelete (key 47): forgets a group's committed offsets of some partitions, at the group's
// coordinator (KIP-496; docs/kafka.md "Deleting groups and offsets"). As in Kafka, partitions of
// topics or partitions that do not exist get UNKNOWN_TOPIC_OR_PARTITION here; the coordinator
// decides the rest: a top-level error refuses the whole request (NOT_COORDINATOR,
// COORDINATOR_LOAD_IN_PROGRESS, INVALID_GROUP_ID, GROUP_ID_NOT_FOUND, or NON_EMPTY_GROUP for a group
// with members that is not a group of consumers), and otherwise a partition of a topic a member
// subscribes to gets GROUP_SUBSCRIBED_TO_TOPIC. The answer comes once the deletions are committed
// in the group's `__consumer_offsets` partition.
#include "kafka/handlers/group_errors.h"
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/offset_delete.h"

namespace chronik::kafka {
namespace {

void handle(broker_context& ctx, reader& body, const responder& out) {
  auto req = decode_offset_delete_request(body, out.header().api_version);
  if (!req) {
    out.close("OffsetDelete: " + describe(req.error()));
    return;
  }
  // Every partition's answer, in request order; the ones still `none` go to the coordinator.
  offset_delete_response resp;
  std::vector<offset_key> keys;
  for (const auto& t : req->topics) {
    const auto topic = ctx.topic(t.name);
    // READ on each topic (Kafka's rule); DELETE on the group is checked below.
    const bool allowed = authorized_on_topic(ctx, out, acl::operation::read, t.name);
    offset_delete_response_topic rt{t.name, {}};
    for (const auto& p : t.partitions) {
      const bool exists = partition_exists(topic, p.partition_index);
      rt.partitions.push_back({p.partition_index, !allowed ? error_code::topic_authorization_failed
                                                  : exists ? error_code::none
                                                           : error_code::unknown_topic_or_partition});
      if (allowed && exists) keys.push_back({t.name, p.partition_index});
    }
    resp.topics.push_back(std::move(rt));
  }
  // Hands each partition that went to the coordinator its outcome, in the same order. With a
  // top-level error only the partitions refused here are listed, as Kafka merges them.
  auto finish = [out, resp = std::move(resp)](std::expected<std::vector<group_errc>, error_code> results) mutable {
    std::size_t next = 0;
    for (auto& t : resp.topics) {
      for (auto& p : t.partitions) {
        if (p.error != error_code::none || !results) continue;
        if (next < results->size()) p.error = to_error_code((*results)[next++]);
      }
      if (!results) std::erase_if(t.partitions, [](const auto& p) { return p.error == error_code::none; });
    }
    if (!results) {
      resp.error = results.error();
      std::erase_if(resp.topics, [](const auto& t) { return t.partitions.empty(); });
    }
    writer w;
    encode_offset_delete_response(resp, out.header().api_version, w);
    out.respond(std::move(w));
  };
  if (!authorized_on_group(ctx, out, acl::operation::remove, req->group_id)) {
    return finish(std::unexpected(error_code::group_authorization_failed));
  }
  if (req->group_id.empty()) return finish(std::unexpected(error_code::invalid_group_id));
  auto coordinator = coordinator_here(ctx, req->group_id);
  if (!coordinator) return finish(std::unexpected(coordinator.error()));
  // Even with no partition left, the coordinator checks the group, as Kafka's does.
  (*coordinator)->delete_offsets(req->group_id, std::move(keys), [finish = std::move(finish)](
                                     std::expected<std::vector<group_errc>, group_errc> r) mutable {
    if (!r) return finish(std::unexpected(to_error_code(r.error())));
    finish(std::move(*r));
  });
}

}  // namespace

const api_handler offset_delete_handler{api_key::offset_delete, offset_delete_versions, handle};

}  // namespace chronik::kafka
