// OffsetFetch (key 9): a group's committed positions, -1 where nothing is committed (the client
// then applies auto.offset.reset). A null topic list (v2+) asks for every committed offset. The
// offsets are read once the coordinator confirmed it still leads the group's partition
// (broker_context::confirm_group_coordinator), so no answer is older than an acknowledged commit.
// v7+ with require_stable (KIP-447; librdkafka sets it for read_committed consumers): a partition
// with transactional offsets still waiting for their marker answers UNSTABLE_OFFSET_COMMIT instead
// of an offset, and the client asks again (docs/kafka.md "Transactional offsets").
//
// Authorization (Kafka's rules): DESCRIBE on the group, else GROUP_AUTHORIZATION_FAILED; DESCRIBE
// on each topic: a topic asked for that the asker may not describe is answered
// TOPIC_AUTHORIZATION_FAILED per partition, and one the asker did not name is left out.
#include <map>
#include <memory>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/group_errors.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/offset_fetch.h"

namespace chronik::kafka {
namespace {

offset_fetch_partition_response to_partition(std::int32_t index, const std::optional<committed_offset>& c) {
  offset_fetch_partition_response p;
  p.partition_index = index;
  // Kafka answers "no metadata" as an empty string, never null.
  p.metadata = "";
  if (c) {
    p.committed_offset = c->offset;
    p.committed_leader_epoch = c->leader_epoch;
    p.metadata = c->metadata.value_or("");
  }
  return p;
}

void fill(offset_fetch_response& resp, const group_coordinator& coordinator, const offset_fetch_request& req) {
  if (!req.topics) {
    std::map<std::string, offset_fetch_topic_response> by_topic;
    for (const auto& [key, value] : coordinator.all_committed(req.group_id)) {
      auto& t = by_topic[key.topic];
      t.name = key.topic;
      t.partitions.push_back(to_partition(key.partition, value));
      if (req.require_stable && coordinator.has_pending_txn_offsets(req.group_id, key)) {
        t.partitions.back() = to_partition(key.partition, std::nullopt);
        t.partitions.back().error = error_code::unstable_offset_commit;
      }
    }
    for (auto& [name, t] : by_topic) resp.topics.push_back(std::move(t));
    return;
  }
  for (const auto& t : *req.topics) {
    offset_fetch_topic_response tr{t.name, {}};
    for (const std::int32_t index : t.partition_indexes) {
      const offset_key key{t.name, index};
      if (req.require_stable && coordinator.has_pending_txn_offsets(req.group_id, key)) {
        auto p = to_partition(index, std::nullopt);
        p.error = error_code::unstable_offset_commit;
        tr.partitions.push_back(std::move(p));
        continue;
      }
      tr.partitions.push_back(to_partition(index, coordinator.committed(req.group_id, key)));
    }
    resp.topics.push_back(std::move(tr));
  }
}

void answer(broker_context& ctx, const offset_fetch_request& req, std::int16_t version, const responder& out,
            bool confirmed) {
  offset_fetch_response resp;
  std::expected<group_coordinator*, error_code> coordinator = std::unexpected(error_code::not_coordinator);
  if (!authorized_on_group(ctx, out, acl::operation::describe, req.group_id)) {
    coordinator = std::unexpected(error_code::group_authorization_failed);
  } else if (confirmed) {
    coordinator = coordinator_here(ctx, req.group_id);
  }
  if (coordinator) {
    fill(resp, **coordinator, req);
    std::erase_if(resp.topics, [&](offset_fetch_topic_response& t) {
      if (authorized_on_topic(ctx, out, acl::operation::describe, t.name)) return false;
      if (!req.topics) return true;
      for (auto& p : t.partitions) {
        p = to_partition(p.partition_index, std::nullopt);
        p.error = error_code::topic_authorization_failed;
      }
      return false;
    });
  } else if (version >= 2) {
    resp.error = coordinator.error();
  } else {
    // v0-1 have no top-level error: every partition carries it.
    for (const auto& t : req.topics.value_or(std::vector<offset_fetch_topic>{})) {
      offset_fetch_topic_response tr{t.name, {}};
      for (const std::int32_t index : t.partition_indexes) {
        auto p = to_partition(index, std::nullopt);
        p.error = coordinator.error();
        tr.partitions.push_back(std::move(p));
      }
      resp.topics.push_back(std::move(tr));
    }
  }
  writer w;
  encode_offset_fetch_response(resp, version, w);
  out.respond(std::move(w));
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_offset_fetch_request(body, version);
  if (!req) {
    out.close("OffsetFetch: " + describe(req.error()));
    return;
  }
  if (!authorized_on_group(ctx, out, acl::operation::describe, req->group_id) || !coordinator_here(ctx, req->group_id)) {
    return answer(ctx, *req, version, out, true);  // its error
  }
  // Read only after this node confirmed it still leads the group's partition (ReadIndex): a
  // coordinator cut off and not yet aware of it would answer offsets a newer one moved past.
  auto shared = std::make_shared<offset_fetch_request>(std::move(*req));
  ctx.confirm_group_coordinator(shared->group_id, [&ctx, shared, version, out](bool confirmed) {
    answer(ctx, *shared, version, out, confirmed);
  });
}

}  // namespace

const api_handler offset_fetch_handler{api_key::offset_fetch, offset_fetch_versions, handle};

}  // namespace chronik::kafka
