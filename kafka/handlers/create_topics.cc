// CreateTopics (key 19): proposes each topic to `__meta` through the broker context and answers
// once every one is applied, refused, or timed out (Kafka's timeout_ms).
//
// From v5 a topic created (or that validate_only would create) is answered with its partition
// count, replication factor and every config as DescribeConfigs would list it (KIP-525), and from
// v7 with its topic id (KIP-516), read from `__meta` once the creation is applied here. A refused
// topic keeps Kafka's defaults: -1, -1, null configs, the zero id.
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/cluster_defaults.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/topic_config_schema.h"
#include "kafka/handlers/topic_errors.h"
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/messages/create_topics.h"

namespace chronik::kafka {
namespace {

// Kafka's own bounds on a request's timeout: negative means "do not wait", which we cap low.
constexpr std::int32_t max_timeout_ms = 300'000;

topic_request to_request(const creatable_topic& t) {
  topic_request r;
  r.name = t.name;
  r.partitions = t.num_partitions;
  r.replication_factor = t.replication_factor;
  if (!t.assignments.empty()) {
    auto sorted = t.assignments;
    std::ranges::sort(sorted, {}, &creatable_replica_assignment::partition_index);
    for (const auto& a : sorted) {
      // The Kafka edge: a negative broker id is no node, which `__meta` refuses as a replica.
      auto& row = r.assignments.emplace_back();
      for (std::int32_t id : a.broker_ids) row.push_back(node_id_from_kafka(id));
    }
  }
  for (const auto& c : t.configs)
    if (c.value) r.configs[c.name] = *c.value;
  return r;
}

// A topic's configs as KIP-525 returns them: every key of the schema, set on the topic
// (DYNAMIC_TOPIC_CONFIG), else set cluster-wide (DYNAMIC_DEFAULT_BROKER_CONFIG,
// cluster_defaults.h), else its default (DEFAULT_CONFIG), as DescribeConfigs lists them.
std::vector<created_topic_config> configs_of(std::string_view topic, const std::map<std::string, std::string>& set,
                                             const std::map<std::string, std::string>& cluster) {
  std::vector<created_topic_config> out;
  for (const auto& k : topic_config_keys()) {
    created_topic_config c;
    c.name = std::string(k.name);
    if (auto it = set.find(c.name); it != set.end()) {
      c.value = it->second;
      c.config_source = config_source::dynamic_topic;
    } else if (const std::string* v = cluster_default_for(topic, k, cluster)) {
      c.value = *v;
      c.config_source = config_source::dynamic_default_broker;
    } else {
      c.value = std::string(k.default_value);
      c.config_source = config_source::default_config;
    }
    out.push_back(std::move(c));
  }
  return out;
}

// What a created topic's answer says of it (v5+): from `__meta` when it was created, from the
// request and the broker defaults when validate_only stopped short of creating it.
void describe_created(const broker_context& ctx, const topic_request& asked, bool validate_only,
                      const broker_defaults& defaults, created_topic_result& r) {
  if (validate_only) {
    const bool manual = !asked.assignments.empty();
    r.num_partitions = manual ? static_cast<std::int32_t>(asked.assignments.size())
                              : (asked.partitions < 0 ? defaults.partitions : asked.partitions);
    r.replication_factor = manual ? static_cast<std::int16_t>(asked.assignments.front().size())
                                  : (asked.replication_factor < 0 ? defaults.replication_factor
                                                                  : asked.replication_factor);
    r.configs = configs_of(asked.name, asked.configs, ctx.cluster_configs());
    return;
  }
  const auto t = ctx.topic(asked.name);
  if (!t) return;  // deleted again before this answer: nothing left to describe
  r.topic_id = t->id;
  r.num_partitions = static_cast<std::int32_t>(t->partitions.size());
  if (!t->partitions.empty()) r.replication_factor = static_cast<std::int16_t>(t->partitions.front().replicas.size());
  r.configs = configs_of(asked.name, t->configs, ctx.cluster_configs());
}

// What a request leaves for its answer, once `__meta` has decided every topic.
struct pending_request {
  std::vector<std::string> order;                     // the topics' names as asked
  std::multiset<std::string> names;                   // a name given twice is refused for both
  std::map<std::string, std::string> config_errors;   // refused before proposing: INVALID_CONFIG
  std::set<std::string> unauthorized;                 // no CREATE: TOPIC_AUTHORIZATION_FAILED
  std::map<std::string, topic_request> asked;         // proposed, by name
  bool validate_only = false;
  broker_defaults defaults;
};

void answer(const broker_context& ctx, const pending_request& p, const std::vector<topic_result>& results,
            const responder& out) {
  create_topics_response resp;
  for (const auto& name : p.order) {
    created_topic_result r;
    r.name = name;
    if (p.names.count(name) > 1) {
      r.error = error_code::invalid_request;
      r.error_message = "topic named more than once in the request";
    } else if (p.unauthorized.contains(name)) {
      r.error = error_code::topic_authorization_failed;
    } else if (auto bad = p.config_errors.find(name); bad != p.config_errors.end()) {
      r.error = error_code::invalid_config;
      r.error_message = bad->second;
    } else if (auto it = std::ranges::find(results, name, &topic_result::name); it != results.end()) {
      r.error = to_error_code(it->outcome);
      if (!it->message.empty()) r.error_message = it->message;
      if (r.error == error_code::none) describe_created(ctx, p.asked.at(name), p.validate_only, p.defaults, r);
    } else {
      r.error = error_code::unknown_server_error;
    }
    resp.topics.push_back(std::move(r));
  }
  writer w;
  encode_create_topics_response(resp, out.header().api_version, w);
  out.respond(std::move(w));
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  auto req = decode_create_topics_request(body, out.header().api_version);
  if (!req) {
    out.close("CreateTopics: " + describe(req.error()));
    return;
  }
  auto p = std::make_shared<pending_request>();
  p->validate_only = req->validate_only;
  p->defaults = ctx.defaults();
  for (const auto& t : req->topics) {
    p->names.insert(t.name);
    p->order.push_back(t.name);
  }
  std::vector<topic_request> wanted;
  // CREATE on the cluster, or on the topic (Kafka's rule).
  const bool create_on_cluster = authorized_on_cluster(ctx, out, acl::operation::create);
  // Configs are checked against the schema before anything is proposed (docs/kafka.md "Configs"):
  // an unknown key, a bad value or an unsupported one refuses the topic with INVALID_CONFIG.
  for (const auto& t : req->topics) {
    if (p->names.count(t.name) != 1) continue;
    if (!create_on_cluster && !authorized_on_topic(ctx, out, acl::operation::create, t.name)) {
      p->unauthorized.insert(t.name);
      continue;
    }
    auto r = to_request(t);
    if (auto ok = validate_topic_configs(r.configs); !ok) {
      p->config_errors[t.name] = ok.error();
      continue;
    }
    p->asked.emplace(t.name, r);
    wanted.push_back(std::move(r));
  }
  const auto timeout = std::chrono::milliseconds(std::clamp(req->timeout_ms, 0, max_timeout_ms));
  ctx.create_topics(std::move(wanted), p->validate_only, timeout,
                    [&ctx, p, out](std::vector<topic_result> results) { answer(ctx, *p, results, out); });
}

}  // namespace

const api_handler create_topics_handler{api_key::create_topics, {0, 7}, handle};

}  // namespace chronik::kafka
