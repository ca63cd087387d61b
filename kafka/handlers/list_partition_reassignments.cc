// ListPartitionReassignments (key 46, KIP-455): the partitions whose replicas are moving, with
// every replica taking part and which of them are being added and removed. Any broker answers from
// its `__meta` state after a catch-up (a ReadIndex), so a move accepted through another broker a
// moment ago is listed (docs/kafka.md "Moving replicas"). As in Kafka, a partition named in the
// request without a move in progress, or unknown, is left out of the answer rather than refused.
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <utility>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/list_partition_reassignments.h"

namespace chronik::kafka {
namespace {

std::vector<std::int32_t> kafka_ids(const std::vector<chronik::node_id>& ids) {
  std::vector<std::int32_t> out;
  out.reserve(ids.size());
  for (const auto id : ids) out.push_back(kafka_id(id));
  return out;
}

// Builds the answer topic by topic; the index keeps adding one move O(log n).
class answer_builder {
 public:
  void add(const reassignment_info& m) {
    auto [it, fresh] = index_.try_emplace(m.topic, resp_.topics.size());
    if (fresh) resp_.topics.push_back({m.topic, {}});
    resp_.topics[it->second].partitions.push_back(
        {m.partition, kafka_ids(m.replicas), kafka_ids(m.adding), kafka_ids(m.removing)});
  }
  list_partition_reassignments_response take() { return std::move(resp_); }

 private:
  list_partition_reassignments_response resp_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

// Null topics: every move, in the context's order (by topic, then partition). Else the partitions
// named, in request order, each once.
list_partition_reassignments_response answer(const list_partition_reassignments_request& req,
                                             const std::vector<reassignment_info>& moves) {
  answer_builder out;
  if (!req.topics) {
    for (const auto& m : moves) out.add(m);
    return out.take();
  }
  // Looked up, not scanned: a request may name many partitions while many are moving.
  std::map<std::pair<std::string_view, std::int32_t>, const reassignment_info*> moving;
  for (const auto& m : moves) moving.emplace(std::pair<std::string_view, std::int32_t>{m.topic, m.partition}, &m);
  std::set<std::pair<std::string_view, std::int32_t>> seen;
  for (const auto& t : *req.topics) {
    for (std::int32_t p : t.partition_indexes) {
      if (!seen.emplace(t.name, p).second) continue;
      if (auto it = moving.find({t.name, p}); it != moving.end()) out.add(*it->second);
    }
  }
  return out.take();
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_list_partition_reassignments_request(body, version);
  if (!req) {
    out.close("ListPartitionReassignments: " + describe(req.error()));
    return;
  }
  if (!authorized_on_cluster(ctx, out, acl::operation::describe)) {  // DESCRIBE on the cluster (Kafka's rule)
    list_partition_reassignments_response resp;
    resp.error = error_code::cluster_authorization_failed;
    writer w;
    encode_list_partition_reassignments_response(resp, version, w);
    return out.respond(std::move(w));
  }
  // The context outlives every request it is handed (it owns the dispatcher).
  auto shared = std::make_shared<const list_partition_reassignments_request>(std::move(*req));
  ctx.catch_up([&ctx, shared, out, version] {
    writer w;
    encode_list_partition_reassignments_response(answer(*shared, ctx.reassignments()), version, w);
    out.respond(std::move(w));
  });
}

}  // namespace

const api_handler list_partition_reassignments_handler{api_key::list_partition_reassignments,
                                                       list_partition_reassignments_versions, handle};

}  // namespace chronik::kafka
