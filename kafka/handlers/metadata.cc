// Metadata (key 3): brokers, controller, cluster id, and topics with their partitions' leaders,
// epochs and replicas. Unknown topics it is asked about are created when both the request
// (v4+) and the broker (auto_create_topics) allow it; like Kafka, this answer then reports
// LEADER_NOT_AVAILABLE for them and the client asks again.
//
// Creation is capped per request (broker_defaults::auto_create_max_per_request) and per second on
// the node (broker_context::auto_create_allowance). A topic over either cap is answered
// UNKNOWN_TOPIC_OR_PARTITION, what Kafka answers when it did not auto-create a topic: clients
// treat it as retriable (producers wait for metadata and ask again, consumers keep polling), so
// the topic is created by a later request once the window has room. THROTTLING_QUOTA_EXCEEDED
// (KIP-599) is not an answer old Metadata versions may give.
//
// From v10 every topic in the answer carries its id (KIP-516), the topic_info::id `__meta` gave it
// at creation, and a client may ask for topics by id. Kafka's own broker accepts ids only from v12
// (its MetadataRequest builder never puts them in v10-11); we look them up in any version that
// carries them.
//
// Authorization (Kafka's rules): a topic needs DESCRIBE. Listing all topics leaves out those the
// asker may not describe; a topic asked for by name or id that the asker may not describe is
// answered TOPIC_AUTHORIZATION_FAILED (whether or not it exists, so the answer does not tell). A
// topic that does not exist is auto-created only for an asker allowed CREATE on the cluster or on
// the topic; else it is answered TOPIC_AUTHORIZATION_FAILED.
#include <algorithm>
#include <optional>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/listener_endpoints.h"
#include "kafka/handlers/topic_errors.h"
#include "kafka/protocol/messages/metadata.h"

namespace chronik::kafka {
namespace {

// Kafka's legal topic names: 1..249 of [a-zA-Z0-9._-], not "." or "..".
bool legal_topic_name(const std::string& name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  return std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

metadata_topic describe_topic(const topic_info& t) {
  metadata_topic out;
  out.name = t.name;
  out.topic_id = t.id;
  out.is_internal = is_internal_topic(t.name);
  for (const auto& p : t.partitions) {
    metadata_partition mp;
    mp.partition_index = p.partition;
    mp.leader_id = kafka_id(p.leader);
    mp.leader_epoch = p.leader_epoch;
    for (auto r : p.replicas) mp.replica_nodes.push_back(kafka_id(r));
    for (auto r : p.isr) mp.isr_nodes.push_back(kafka_id(r));
    for (auto r : p.offline) mp.offline_replicas.push_back(kafka_id(r));
    mp.error = p.leader == no_node ? error_code::leader_not_available : error_code::none;
    out.partitions.push_back(std::move(mp));
  }
  return out;
}

bool by_id(const metadata_request_topic& asked) { return asked.topic_id != uuid{}; }

// A topic asked for by id (v10+, KIP-516), through `__meta`'s id index.
std::optional<topic_info> topic_by_id(const broker_context& ctx, const uuid& id) {
  auto name = ctx.topic_name(id);
  if (!name) return std::nullopt;
  return ctx.topic(*name);
}

// The topics a request names, in its order. A topic asked for by id is never created: an id only
// names a topic that existed; an unknown one is answered UNKNOWN_TOPIC_ID with a null name (v12;
// written empty before), as Kafka does. A topic asked for by name is created when both sides
// allow it, within the caps.
metadata_topic unauthorized(std::optional<std::string> name, const uuid& id) {
  metadata_topic t;
  t.name = std::move(name);
  t.topic_id = id;
  t.error = error_code::topic_authorization_failed;
  return t;
}

void describe_asked(broker_context& ctx, const metadata_request& req, const responder& out, metadata_response& resp) {
  const auto defaults = ctx.defaults();
  const bool create_on_cluster = authorized_on_cluster(ctx, out, acl::operation::create);
  const auto may_describe = [&](const std::string& name) {
    return authorized_on_topic(ctx, out, acl::operation::describe, name);
  };
  const auto may_create = [&](const std::string& name) {
    return create_on_cluster || authorized_on_topic(ctx, out, acl::operation::create, name);
  };
  // v0-v3 requests have no flag and Kafka treats them as allowing creation.
  const bool create = defaults.auto_create_topics && req.allow_auto_topic_creation;
  std::vector<topic_request> to_create;
  // Legal unknown names this request may create: its own cap, then the node's per-second cap.
  std::size_t wanted = 0;
  if (create) {
    for (const auto& asked : *req.topics) {
      const std::string name = asked.name.value_or("");
      if (!by_id(asked) && legal_topic_name(name) && !is_internal_topic(name) && !ctx.topic(name) &&
          may_describe(name) && may_create(name)) {
        ++wanted;
      }
    }
    wanted = std::min<std::size_t>(wanted, static_cast<std::size_t>(std::max(0, defaults.auto_create_max_per_request)));
  }
  std::size_t allowed = wanted > 0 ? ctx.auto_create_allowance(wanted) : 0;
  for (const auto& asked : *req.topics) {
    if (by_id(asked)) {
      if (auto t = topic_by_id(ctx, asked.topic_id)) {
        if (!may_describe(t->name)) {
          resp.topics.push_back(unauthorized(std::nullopt, asked.topic_id));
          continue;
        }
        resp.topics.push_back(describe_topic(*t));
      } else {
        resp.topics.push_back({.error = error_code::unknown_topic_id, .topic_id = asked.topic_id});
      }
      continue;
    }
    const std::string name = asked.name.value_or("");
    if (legal_topic_name(name) && !may_describe(name)) {
      resp.topics.push_back(unauthorized(asked.name, {}));
      continue;
    }
    if (auto t = ctx.topic(name)) {
      resp.topics.push_back(describe_topic(*t));
      continue;
    }
    metadata_topic missing;
    missing.name = asked.name;
    if (!legal_topic_name(name)) {
      missing.error = error_code::invalid_topic_exception;
    } else if (is_internal_topic(name)) {
      // Created by the brokers on the first FindCoordinator, never as an ordinary topic.
      missing.error = error_code::unknown_topic_or_partition;
    } else if (create && !may_create(name)) {
      missing.error = error_code::topic_authorization_failed;
    } else if (create && std::ranges::any_of(to_create, [&](const topic_request& t) { return t.name == name; })) {
      missing.error = error_code::leader_not_available;  // named twice: created once
    } else if (create && allowed > 0) {
      --allowed;
      missing.error = error_code::leader_not_available;
      to_create.push_back({name, -1, -1, {}, {}});
    } else {
      missing.error = error_code::unknown_topic_or_partition;
    }
    resp.topics.push_back(std::move(missing));
  }
  // Fire and forget: the client's next Metadata request sees the outcome.
  if (!to_create.empty()) ctx.create_topics(std::move(to_create), false, std::chrono::milliseconds(0), [](auto) {});
}

// Whether the request names topics (not all of them) and this node knows every one.
bool all_known_here(const broker_context& ctx, const metadata_request& req, std::int16_t version) {
  if (!req.topics || (version == 0 && req.topics->empty())) return false;
  return std::ranges::all_of(*req.topics, [&](const metadata_request_topic& asked) {
    return by_id(asked) ? ctx.topic_name(asked.topic_id).has_value() : ctx.has_topic(asked.name.value_or(""));
  });
}

void answer(broker_context& ctx, const metadata_request& req, const responder& out) {
  const std::int16_t version = out.header().api_version;
  metadata_response resp;
  // Each broker at its endpoint of the listener this request came in on (KIP-103).
  for (const auto& b : on_listener(ctx.brokers(), out.listener())) {
    resp.brokers.push_back({kafka_id(b.id), b.host, b.port, b.rack});
  }
  resp.cluster_id = ctx.cluster_id();
  resp.controller_id = kafka_id(ctx.controller_id());
  // v0 cannot send null and asks for all topics with an empty list; from v1 an empty list asks
  // for none (what Kafka's MetadataRequest.isAllTopics decides, in the broker, not the codec).
  if (!req.topics || (version == 0 && req.topics->empty())) {
    for (const auto& t : ctx.topics()) {
      if (authorized_on_topic(ctx, out, acl::operation::describe, t.name)) resp.topics.push_back(describe_topic(t));
    }
  } else {
    describe_asked(ctx, req, out, resp);
  }
  writer w;
  encode_metadata_response(resp, version, w);
  out.respond(std::move(w));
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  auto req = decode_metadata_request(body, out.header().api_version);
  if (!req) {
    out.close("Metadata: " + describe(req.error()));
    return;
  }
  // Read-your-writes across brokers: a client that created a topic through the controller and
  // asks another broker next must see it (what Kafka clients and their tests expect). That needs
  // a linearizable read of `__meta` only when an asked topic is missing here, or when every topic
  // is asked for. Topics known here are answered at once: their leaders come from this node's
  // replicas where it has one (fresher than `__meta`), and the read costs what a client can least
  // afford when it asks: right after a leadership change, when NOT_LEADER_OR_FOLLOWER sent it
  // here. During a drain the read took 150-470 ms, and every moved partition waited for it.
  // A broker that has not caught up since it started reads first whatever is asked: its view is
  // the one it stopped with, which may name it leader of partitions that moved on while it was down.
  if (ctx.caught_up_since_start() && all_known_here(ctx, *req, out.header().api_version)) {
    answer(ctx, *req, out);
    return;
  }
  ctx.catch_up([&ctx, req = std::move(*req), out] { answer(ctx, req, out); });
}

}  // namespace

const api_handler metadata_handler{api_key::metadata, {0, 12}, handle};

}  // namespace chronik::kafka
