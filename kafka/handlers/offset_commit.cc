// OffsetCommit (key 8): stores a group's consumed positions on its coordinator. Partitions of
// topics that do not exist get UNKNOWN_TOPIC_OR_PARTITION (as in Kafka); the rest are checked
// against the group's membership by the coordinator, which answers once they are committed in the
// group's `__consumer_offsets` partition (docs/kafka.md "Durable groups").
//
// Authorization (Kafka's rules): READ on the group, else every partition is answered
// GROUP_AUTHORIZATION_FAILED; READ on each topic, else its partitions TOPIC_AUTHORIZATION_FAILED.
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/group_errors.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/offset_commit.h"

namespace chronik::kafka {
namespace {

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_offset_commit_request(body, version);
  if (!req) {
    out.close("OffsetCommit: " + describe(req.error()));
    return;
  }
  offset_commit_response resp;
  // Every partition's answer, in request order; the ones still `none` go to the coordinator.
  const bool group_allowed = authorized_on_group(ctx, out, acl::operation::read, req->group_id);
  for (const auto& t : req->topics) {
    const auto topic = ctx.topic(t.name);
    const bool topic_allowed = authorized_on_topic(ctx, out, acl::operation::read, t.name);
    offset_commit_topic_response tr{t.name, {}};
    for (const auto& p : t.partitions) {
      const error_code e = !group_allowed                               ? error_code::group_authorization_failed
                           : !topic_allowed                             ? error_code::topic_authorization_failed
                           : partition_exists(topic, p.partition_index) ? error_code::none
                                                                        : error_code::unknown_topic_or_partition;
      tr.partitions.push_back({p.partition_index, e});
    }
    resp.topics.push_back(std::move(tr));
  }
  auto coordinator = coordinator_here(ctx, req->group_id);
  commit_params params{req->group_id, req->generation_id, req->member_id, {}, req->group_instance_id};
  for (std::size_t i = 0; i < req->topics.size(); ++i) {
    for (std::size_t j = 0; j < req->topics[i].partitions.size(); ++j) {
      if (resp.topics[i].partitions[j].error != error_code::none) continue;
      const auto& p = req->topics[i].partitions[j];
      params.offsets.push_back({{req->topics[i].name, p.partition_index},
                                {p.committed_offset, p.committed_leader_epoch, p.committed_metadata, 0}});
    }
  }
  // Hands each partition that went to the coordinator its outcome, in the same order.
  auto finish = [out, version, resp = std::move(resp)](
                    const std::expected<std::vector<group_errc>, error_code>& results) mutable {
    std::size_t next = 0;
    for (auto& t : resp.topics) {
      for (auto& p : t.partitions) {
        if (p.error != error_code::none) continue;
        if (!results) {
          p.error = results.error();
        } else if (next < results->size()) {
          p.error = to_error_code((*results)[next++]);
        }
      }
    }
    for (const auto& t : resp.topics)
      for (const auto& p : t.partitions) out.note_error(p.error);
    writer w;
    encode_offset_commit_response(resp, version, w);
    out.respond(std::move(w));
  };
  if (!coordinator) return finish(std::unexpected(coordinator.error()));
  if (params.offsets.empty()) return finish(std::vector<group_errc>{});
  (*coordinator)->commit_offsets(params, [finish = std::move(finish)](
                                             std::expected<std::vector<group_errc>, group_errc> r) mutable {
    if (!r) return finish(std::unexpected(to_error_code(r.error())));
    finish(*r);
  });
}

}  // namespace

const api_handler offset_commit_handler{api_key::offset_commit, offset_commit_versions, handle};

}  // namespace chronik::kafka
