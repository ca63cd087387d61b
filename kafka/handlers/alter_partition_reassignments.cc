// AlterPartitionReassignments (key 45, KIP-455; v1's allow_replication_factor_change, KIP-860):
// moves partitions' replicas to a new set, or cancels a move in progress (a null replica list).
// Any broker takes it, as Kafka's admin clients send it to the controller. After a `__meta`
// catch-up the handler refuses what is wrong with the request itself (the shape of each replica
// list, unknown partitions, a replica count change v1 forbids) and hands the rest to the broker
// context in one call; `__meta` checks the rest when it applies each record, and the partition's
// leader then moves the replicas as learner-first Raft membership changes (docs/kafka.md "Moving
// replicas"). The answer comes once every record is applied here, refused or timed out; it says the
// move was accepted, not that it finished (ListPartitionReassignments shows it running).
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <utility>

#include "base/assert.h"
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/alter_partition_reassignments.h"

namespace chronik::kafka {
namespace {

constexpr std::int32_t max_timeout_ms = 300'000;  // as CreateTopics caps a request's wait
// Partitions one request may name; a bigger one is refused before anything is looked up.
constexpr std::size_t max_partitions = 100'000;

// One partition of the request, in request order, with its answer once known.
struct slot {
  std::size_t topic_index = 0;  // into the request's topics: the answer mirrors them
  std::int32_t partition = 0;
  error_code error = error_code::none;
  std::string message;
  std::optional<std::size_t> handed;  // index into the context's request, when handed over
};

error_code error_of(reassignment_outcome o) {
  switch (o) {
    case reassignment_outcome::accepted: return error_code::none;
    case reassignment_outcome::unknown: return error_code::unknown_topic_or_partition;
    case reassignment_outcome::invalid_replicas: return error_code::invalid_replica_assignment;
    case reassignment_outcome::no_reassignment: return error_code::no_reassignment_in_progress;
    case reassignment_outcome::not_controller: return error_code::not_controller;
    case reassignment_outcome::timed_out: return error_code::request_timed_out;
  }
  return error_code::unknown_server_error;
}

// What is wrong with a replica list on its own, before looking at the cluster: Kafka's controller
// refuses an empty or duplicated list with INVALID_REPLICA_ASSIGNMENT, and so does an id that is
// no chronik node (a Kafka broker id <= 0 names none here).
std::optional<std::string> shape_error(const std::vector<std::int32_t>& replicas) {
  if (replicas.empty()) return "the replica list is empty";
  std::set<std::int32_t> seen;
  for (std::int32_t id : replicas) {
    if (id <= 0) return "broker id " + std::to_string(id) + " names no node";
    if (!seen.insert(id).second) return "broker " + std::to_string(id) + " is named twice";
  }
  return std::nullopt;
}

// The moves in progress by partition, looked up once per partition named.
using moves_index = std::map<std::pair<std::string_view, std::int32_t>, const reassignment_info*>;

// The partition's replica count before any move in progress (KIP-860 compares against it): the
// moving set minus the replicas being added, else the partition's replicas.
std::size_t current_replica_count(const partition_info& p, const moves_index& moves, std::string_view topic) {
  const auto it = moves.find({topic, p.partition});
  if (it == moves.end()) return p.replicas.size();
  const reassignment_info& m = *it->second;
  CHRONIK_ASSERT(m.adding.size() <= m.replicas.size(), "the replicas being added are among the moving set");
  return m.replicas.size() - m.adding.size();
}

// Partitions are listed in index order, so the index finds one at once; a scan is the fallback.
const partition_info* find_partition(const std::optional<topic_info>& t, std::int32_t partition) {
  if (!t || partition < 0) return nullptr;
  const auto at = static_cast<std::size_t>(partition);
  if (at < t->partitions.size() && t->partitions[at].partition == partition) return &t->partitions[at];
  auto it = std::ranges::find(t->partitions, partition, &partition_info::partition);
  return it == t->partitions.end() ? nullptr : &*it;
}

// Decides one partition from the request and this broker's caught-up view of its topic; what
// passes is queued for the context.
void classify(const alter_partition_reassignments_request& req, const std::optional<topic_info>& t,
              const alter_reassignments_partition& p, const moves_index& moves, slot& s,
              std::vector<reassignment_request>& wanted) {
  const auto& name = req.topics[s.topic_index].name;
  if (p.replicas) {
    if (auto why = shape_error(*p.replicas)) {
      s.error = error_code::invalid_replica_assignment;
      s.message = std::move(*why);
      return;
    }
  }
  const partition_info* info = find_partition(t, p.partition_index);
  if (info == nullptr) {
    s.error = error_code::unknown_topic_or_partition;
    s.message = "unknown topic or partition";
    return;
  }
  if (p.replicas && !req.allow_replication_factor_change) {
    const std::size_t now = current_replica_count(*info, moves, name);
    if (p.replicas->size() != now) {
      s.error = error_code::invalid_replication_factor;
      s.message = "the move would change the replication factor from " + std::to_string(now) + " to " +
                  std::to_string(p.replicas->size()) + ", which the request does not allow";
      return;
    }
  }
  reassignment_request r{name, p.partition_index, std::nullopt};
  if (p.replicas) {
    auto& ids = r.replicas.emplace();
    for (std::int32_t id : *p.replicas) ids.push_back(node_id_from_kafka(id));
  }
  s.handed = wanted.size();
  wanted.push_back(std::move(r));
}

alter_partition_reassignments_response answer(const alter_partition_reassignments_request& req,
                                              const std::vector<slot>& slots) {
  alter_partition_reassignments_response resp;
  resp.allow_replication_factor_change = req.allow_replication_factor_change;  // v1 echoes it (KIP-860)
  for (const auto& t : req.topics) resp.responses.push_back({t.name, {}});
  for (const auto& s : slots) {
    alter_reassignments_partition_result r;
    r.partition_index = s.partition;
    r.error = s.error;
    if (s.error != error_code::none) r.error_message = s.message;
    resp.responses[s.topic_index].partitions.push_back(std::move(r));
  }
  return resp;
}

void decide(broker_context& ctx, std::shared_ptr<const alter_partition_reassignments_request> req,
            const responder& out) {
  auto slots = std::make_shared<std::vector<slot>>();
  // A partition named twice would become two racing `__meta` records: every mention is refused.
  std::map<std::pair<std::string_view, std::int32_t>, int> mentions;
  for (const auto& t : req->topics)
    for (const auto& p : t.partitions) ++mentions[{t.name, p.partition_index}];
  const std::vector<reassignment_info> moving = ctx.reassignments();
  moves_index moves;
  for (const auto& m : moving) moves.emplace(std::pair<std::string_view, std::int32_t>{m.topic, m.partition}, &m);
  std::vector<reassignment_request> wanted;
  for (std::size_t i = 0; i < req->topics.size(); ++i) {
    const std::optional<topic_info> topic = ctx.topic(req->topics[i].name);  // once per topic, not per partition
    for (const auto& p : req->topics[i].partitions) {
      slot& s = slots->emplace_back(slot{i, p.partition_index});
      if (mentions[{req->topics[i].name, p.partition_index}] > 1) {
        s.error = error_code::invalid_request;
        s.message = "partition named more than once in the request";
        continue;
      }
      classify(*req, topic, p, moves, s, wanted);
    }
  }
  const std::int16_t version = out.header().api_version;
  const auto reply = [out, version, req](const std::vector<slot>& settled) {
    writer w;
    encode_alter_partition_reassignments_response(answer(*req, settled), version, w);
    out.respond(std::move(w));
  };
  if (wanted.empty()) {
    reply(*slots);
    return;
  }
  const std::size_t handed = wanted.size();
  const auto timeout = std::chrono::milliseconds(std::clamp(req->timeout_ms, 0, max_timeout_ms));
  ctx.alter_reassignments(std::move(wanted), timeout, [slots, reply, handed](std::vector<reassignment_result> results) {
    CHRONIK_ASSERT(results.size() == handed, "the context answers every reassignment it was handed, in order");
    for (auto& s : *slots) {
      if (!s.handed) continue;
      s.error = error_of(results[*s.handed].outcome);
      s.message = std::move(results[*s.handed].message);
    }
    reply(*slots);
  });
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_alter_partition_reassignments_request(body, version);
  if (!req) {
    out.close("AlterPartitionReassignments: " + describe(req.error()));
    return;
  }
  std::size_t named = 0;
  for (const auto& t : req->topics) named += t.partitions.size();
  const bool allowed = authorized_on_cluster(ctx, out, acl::operation::alter);  // Kafka's rule
  if (!allowed || named > max_partitions) {
    alter_partition_reassignments_response resp;
    resp.allow_replication_factor_change = req->allow_replication_factor_change;
    resp.error = allowed ? error_code::invalid_request : error_code::cluster_authorization_failed;
    if (allowed) resp.error_message = "more than " + std::to_string(max_partitions) + " partitions in one request";
    writer w;
    encode_alter_partition_reassignments_response(resp, version, w);
    out.respond(std::move(w));
    return;
  }
  // Decide on a view that includes every `__meta` change committed before the request: a topic
  // created, grown or moved through another broker a moment ago is then known here.
  auto shared = std::make_shared<const alter_partition_reassignments_request>(std::move(*req));
  ctx.catch_up([&ctx, shared, out] { decide(ctx, shared, out); });
}

}  // namespace

const api_handler alter_partition_reassignments_handler{api_key::alter_partition_reassignments,
                                                        alter_partition_reassignments_versions, handle};

}  // namespace chronik::kafka
