// CreatePartitions (key 37, KIP-195): grows topics to a new partition count. Any broker takes it:
// the broker context proposes one `__meta` record per topic from here (a follower forwards it to the
// `__meta` leader, as for CreateTopics) and the answer waits until it is applied here, refused, or
// the request's timeout passed (docs/kafka.md "Adding partitions").
//
// Before deciding, the broker catches up with `__meta` (a ReadIndex): a topic created or grown
// through another broker a moment ago is then known here, so the answer is not a stale
// UNKNOWN_TOPIC_OR_PARTITION or INVALID_PARTITIONS.
#include <algorithm>
#include <chrono>
#include <memory>
#include <set>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/topic_errors.h"
#include "kafka/protocol/messages/create_partitions.h"

namespace chronik::kafka {
namespace {

// Kafka's bound on a request's timeout, as CreateTopics caps it; negative means "do not wait".
constexpr std::int32_t max_timeout_ms = 300'000;

partitions_request to_request(const create_partitions_topic& t) {
  partitions_request r;
  r.name = t.name;
  r.count = t.count;
  if (t.assignments) {
    auto& rows = r.assignments.emplace();
    for (const auto& a : *t.assignments) {
      // The Kafka edge: a negative broker id is no node, which `__meta` refuses as a replica.
      auto& row = rows.emplace_back();
      for (std::int32_t id : a.broker_ids) row.push_back(node_id_from_kafka(id));
    }
  }
  return r;
}

create_partitions_response answer(const std::vector<std::string>& order, const std::multiset<std::string>& names,
                                  const std::set<std::string>& unauthorized,
                                  const std::vector<topic_result>& results) {
  create_partitions_response resp;
  for (const auto& name : order) {
    create_partitions_topic_result r;
    r.name = name;
    if (names.count(name) > 1) {
      // Kafka answers a topic named twice with INVALID_REQUEST for every mention, and does nothing.
      r.error = error_code::invalid_request;
      r.error_message = "topic named more than once in the request";
    } else if (unauthorized.contains(name)) {
      r.error = error_code::topic_authorization_failed;
    } else if (auto it = std::ranges::find(results, name, &topic_result::name); it != results.end()) {
      r.error = to_error_code(it->outcome);
      if (r.error != error_code::none && !it->message.empty()) r.error_message = it->message;
    } else {
      r.error = error_code::unknown_server_error;
    }
    resp.results.push_back(std::move(r));
  }
  return resp;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_create_partitions_request(body, version);
  if (!req) {
    out.close("CreatePartitions: " + describe(req.error()));
    return;
  }
  // Kept until the answer: what to propose, and the request's topics in order for the response.
  struct request_topics {
    std::vector<partitions_request> wanted;
    std::vector<std::string> order;
    std::multiset<std::string> names;
    std::set<std::string> unauthorized;  // no ALTER on the topic (Kafka's rule)
  };
  auto topics = std::make_shared<request_topics>();
  for (const auto& t : req->topics) topics->names.insert(t.name);
  for (const auto& t : req->topics) {
    topics->order.push_back(t.name);
    if (topics->names.count(t.name) != 1) continue;
    if (!authorized_on_topic(ctx, out, acl::operation::alter, t.name)) {
      topics->unauthorized.insert(t.name);
      continue;
    }
    topics->wanted.push_back(to_request(t));
  }
  const auto timeout = std::chrono::milliseconds(std::clamp(req->timeout_ms, 0, max_timeout_ms));
  const bool validate_only = req->validate_only;
  // The context outlives every request it is handed (it owns the dispatcher).
  ctx.catch_up([&ctx, out, version, validate_only, timeout, topics] {
    ctx.create_partitions(std::move(topics->wanted), validate_only, timeout,
                          [out, version, topics](std::vector<topic_result> results) {
                            writer w;
                            encode_create_partitions_response(answer(topics->order, topics->names, topics->unauthorized, results), version, w);
                            out.respond(std::move(w));
                          });
  });
}

}  // namespace

const api_handler create_partitions_handler{api_key::create_partitions, {0, 3}, handle};

}  // namespace chronik::kafka
