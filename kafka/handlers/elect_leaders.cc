// ElectLeaders (key 43, KIP-183; election types KIP-460): preferred-leader election as a Raft
// leadership transfer (Raft dissertation §3.10). Any broker takes it, as Kafka's admin clients send
// it to the controller: after a `__meta` catch-up the handler sorts out what needs no transfer
// (already led by the preferred replica, preferred replica not in sync, unknown partitions) and
// hands the rest to the broker context, which asks each partition's leader through `__meta` and
// answers once `__meta` shows the preferred replica leading (docs/kafka.md "Preferred leaders").
//
// An unclean election (type 1) is refused with INVALID_REQUEST: a Raft group only ever elects a
// replica holding every committed entry (Raft paper §5.4.1), so there is no unclean leader to pick.
#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string_view>
#include <utility>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/elect_leaders.h"

namespace chronik::kafka {
namespace {

constexpr std::int8_t preferred_election = 0;
constexpr std::int32_t max_timeout_ms = 300'000;  // as CreateTopics caps a request's wait
// Partitions one request may name; a bigger one is refused before anything is looked up.
constexpr std::size_t max_partitions = 100'000;

struct slot {
  std::string topic;
  std::int32_t partition = 0;
  error_code error = error_code::none;
  std::string message;
  std::optional<std::size_t> election;  // index into the context's request, when handed over
};

error_code error_of(election_outcome o) {
  switch (o) {
    case election_outcome::elected: return error_code::none;
    case election_outcome::not_needed: return error_code::election_not_needed;
    case election_outcome::unavailable: return error_code::preferred_leader_not_available;
    case election_outcome::unknown: return error_code::unknown_topic_or_partition;
    case election_outcome::not_controller: return error_code::not_controller;
    case election_outcome::timed_out: return error_code::request_timed_out;
    case election_outcome::drained: return error_code::preferred_leader_not_available;
  }
  return error_code::unknown_server_error;
}

std::string_view message_of(election_outcome o) {
  switch (o) {
    case election_outcome::elected: return {};
    case election_outcome::not_needed: return "the preferred replica is already the leader";
    case election_outcome::unavailable: return "the preferred replica is not in sync at the leader";
    case election_outcome::unknown: return "the partition no longer exists";
    case election_outcome::not_controller: return "this broker cannot reach __meta now";
    case election_outcome::timed_out: return "the leadership transfer did not finish within the timeout";
    case election_outcome::drained: return "the preferred replica's node is drained (maintenance mode)";
  }
  return {};
}

// The partitions named (each once, in request order), or every partition of the cluster when the
// list is null.
std::vector<slot> partitions_of(const broker_context& ctx, const elect_leaders_request& req) {
  std::vector<slot> out;
  if (!req.topic_partitions) {
    for (const auto& t : ctx.topics())
      for (const auto& p : t.partitions) out.push_back({t.name, p.partition});
    return out;
  }
  // A set, not a scan of `out`: a hostile request naming max_partitions would cost n^2 on the io thread.
  std::set<std::pair<std::string_view, std::int32_t>> seen;
  for (const auto& t : *req.topic_partitions) {
    for (std::int32_t p : t.partitions) {
      if (seen.emplace(t.topic, p).second) out.push_back({t.topic, p});
    }
  }
  return out;
}

// What needs no transfer is decided here, from this broker's caught-up view of `__meta`.
void classify(const broker_context& ctx, std::int8_t type, slot& s) {
  if (type != preferred_election) {
    s.error = error_code::invalid_request;
    s.message = "only preferred elections: a Raft group never elects an unclean leader";
    return;
  }
  const auto t = ctx.topic(s.topic);
  const partition_info* p = nullptr;
  if (t) {
    auto it = std::ranges::find(t->partitions, s.partition, &partition_info::partition);
    if (it != t->partitions.end()) p = &*it;
  }
  if (p == nullptr || p->replicas.empty()) {
    s.error = error_code::unknown_topic_or_partition;
    s.message = "unknown topic or partition";
  } else if (p->leader == p->replicas.front()) {
    s.error = error_code::election_not_needed;
    s.message = std::string(message_of(election_outcome::not_needed));
  } else if (std::ranges::find(p->isr, p->replicas.front()) == p->isr.end()) {
    s.error = error_code::preferred_leader_not_available;
    s.message = "the preferred replica " + std::to_string(kafka_id(p->replicas.front())) + " is not alive and in sync";
  }
}

elect_leaders_response answer(const std::vector<slot>& slots) {
  elect_leaders_response resp;
  for (const auto& s : slots) {
    auto it = std::ranges::find(resp.results, s.topic, &elect_leaders_topic_result::topic);
    if (it == resp.results.end()) {
      resp.results.push_back({s.topic, {}});
      it = std::prev(resp.results.end());
    }
    elect_leaders_partition_result r;
    r.partition_id = s.partition;
    r.error = s.error;
    if (s.error != error_code::none) r.error_message = s.message;
    it->partitions.push_back(std::move(r));
  }
  return resp;
}

void decide(broker_context& ctx, const elect_leaders_request& req, const responder& out) {
  auto slots = std::make_shared<std::vector<slot>>(partitions_of(ctx, req));
  const std::int16_t version = out.header().api_version;
  const auto reply = [out, version](const std::vector<slot>& s) {
    writer w;
    encode_elect_leaders_response(answer(s), version, w);
    out.respond(std::move(w));
  };
  std::vector<election_request> wanted;
  for (auto& s : *slots) {
    classify(ctx, req.election_type, s);
    if (s.error != error_code::none) continue;
    const auto t = ctx.topic(s.topic);
    const auto p = std::ranges::find(t->partitions, s.partition, &partition_info::partition);
    s.election = wanted.size();
    wanted.push_back({s.topic, s.partition, p->replicas.front()});
  }
  if (wanted.empty()) {
    reply(*slots);
    return;
  }
  const auto timeout = std::chrono::milliseconds(std::clamp(req.timeout_ms, 0, max_timeout_ms));
  ctx.elect_preferred_leaders(std::move(wanted), timeout, [slots, reply](std::vector<election_outcome> outcomes) {
    for (auto& s : *slots) {
      if (!s.election) continue;
      const auto o = *s.election < outcomes.size() ? outcomes[*s.election] : election_outcome::timed_out;
      s.error = error_of(o);
      s.message = std::string(message_of(o));
    }
    reply(*slots);
  });
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_elect_leaders_request(body, version);
  if (!req) {
    out.close("ElectLeaders: " + describe(req.error()));
    return;
  }
  if (!authorized_on_cluster(ctx, out, acl::operation::alter)) {  // ALTER on the cluster (Kafka's rule)
    elect_leaders_response resp;
    resp.error = error_code::cluster_authorization_failed;
    writer w;
    encode_elect_leaders_response(resp, version, w);
    return out.respond(std::move(w));
  }
  std::size_t named = 0;
  if (req->topic_partitions)
    for (const auto& t : *req->topic_partitions) named += t.partitions.size();
  if (named > max_partitions) {
    elect_leaders_response resp;
    resp.error = error_code::invalid_request;
    writer w;
    encode_elect_leaders_response(resp, version, w);
    out.respond(std::move(w));
    return;
  }
  // Decide on a view that includes every `__meta` change committed before the request, so a
  // leadership moved through another broker a moment ago is not moved again.
  ctx.catch_up([&ctx, req = std::make_shared<elect_leaders_request>(std::move(*req)), out] { decide(ctx, *req, out); });
}

}  // namespace

const api_handler elect_leaders_handler{api_key::elect_leaders, elect_leaders_versions, handle};

}  // namespace chronik::kafka
