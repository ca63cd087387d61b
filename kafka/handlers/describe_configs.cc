// DescribeConfigs (key 32): a topic's configs, every key of the topic config schema
// (topic_config_schema.h), each set on the topic (DYNAMIC_TOPIC_CONFIG), else set cluster-wide
// under its broker synonym (DYNAMIC_DEFAULT_BROKER_CONFIG, cluster_defaults.h), else Kafka's
// default (DEFAULT_CONFIG); the cluster-wide broker defaults (a broker resource named ""); and this
// broker's settings (broker_context::broker_configs), each set by the operator
// (STATIC_BROKER_CONFIG), cluster-wide (the broker defaults of topic configs, the only ones that
// change while the node runs) or a default. docs/kafka.md "Configs".
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/cluster_defaults.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/topic_config_schema.h"
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/messages/describe_configs.h"

namespace chronik::kafka {
namespace {

// Kafka's ConfigSource values (v1+), kafka/protocol/field_values.h.
constexpr std::int8_t source_topic = config_source::dynamic_topic;
constexpr std::int8_t source_cluster = config_source::dynamic_default_broker;
constexpr std::int8_t source_static_broker = config_source::static_broker;
constexpr std::int8_t source_default = config_source::default_config;

using config_map = std::map<std::string, std::string>;  // the cluster-wide defaults, by broker key

// The keys a resource asks for; nullopt: all. A set, so the cost stays O(k log k) however many
// keys a request names.
using key_filter = std::optional<std::set<std::string_view>>;

key_filter filter_of(const describe_configs_resource& r) {
  if (!r.configuration_keys) return std::nullopt;
  return std::set<std::string_view>(r.configuration_keys->begin(), r.configuration_keys->end());
}

bool wanted(const key_filter& keys, std::string_view name) { return !keys || keys->contains(name); }

describe_configs_entry topic_entry(const topic_config_key& k, const topic_info& topic, const config_map& cluster,
                                   bool synonyms, bool docs) {
  describe_configs_entry e;
  e.name = std::string(k.name);
  auto set = topic.configs.find(e.name);
  const bool explicit_value = set != topic.configs.end();
  const std::string* cluster_value = cluster_default_for(topic.name, k, cluster);
  if (explicit_value) {
    e.value = set->second;
    e.config_source = source_topic;
  } else if (cluster_value != nullptr) {
    e.value = *cluster_value;
    e.config_source = source_cluster;
  } else {
    e.value = std::string(k.default_value);
    e.config_source = source_default;
  }
  e.is_default = e.config_source == source_default;
  e.config_type = static_cast<std::int8_t>(k.type);
  if (docs) e.documentation = std::string(k.doc);
  if (synonyms) {
    // Most specific first, as Kafka lists them: the topic's own value, the cluster-wide default,
    // then the built-in one.
    if (explicit_value) e.synonyms.push_back({e.name, set->second, source_topic});
    const std::string_view default_name = k.broker_synonym.empty() ? k.name : k.broker_synonym;
    if (cluster_value != nullptr) e.synonyms.push_back({std::string(default_name), *cluster_value, source_cluster});
    e.synonyms.push_back({std::string(default_name), std::string(k.default_value), source_default});
  }
  return e;
}

describe_configs_result describe_topic(const broker_context& ctx, const describe_configs_resource& r,
                                       const config_map& cluster, bool synonyms, bool docs) {
  describe_configs_result out;
  out.resource_type = r.resource_type;
  out.resource_name = r.resource_name;
  const auto topic = ctx.topic(r.resource_name);
  if (!topic) {
    out.error = error_code::unknown_topic_or_partition;
    out.error_message = "unknown topic '" + r.resource_name + "'";
    return out;
  }
  const key_filter keys = filter_of(r);
  for (const auto& k : topic_config_keys()) {
    if (wanted(keys, k.name)) out.configs.push_back(topic_entry(k, *topic, cluster, synonyms, docs));
  }
  // Keys stored before values were checked, and unknown to the schema, are still reported as set.
  for (const auto& [name, value] : topic->configs) {
    if (find_topic_config(name) != nullptr || !wanted(keys, name)) continue;
    describe_configs_entry e;
    e.name = name;
    e.value = value;
    e.config_source = source_topic;
    if (synonyms) e.synonyms.push_back({name, value, source_topic});
    out.configs.push_back(std::move(e));
  }
  return out;
}

// The cluster-wide broker defaults that are set (Kafka lists only those for the default entity).
describe_configs_result describe_cluster_defaults(const describe_configs_resource& r, const config_map& cluster,
                                                  bool synonyms) {
  describe_configs_result out;
  out.resource_type = r.resource_type;
  const key_filter keys = filter_of(r);
  for (const auto& [name, value] : cluster) {
    if (!wanted(keys, name)) continue;
    describe_configs_entry e;
    e.name = name;
    e.value = value;
    e.config_source = source_cluster;
    const topic_config_key* k = find_cluster_default(name);
    e.config_type = static_cast<std::int8_t>(k != nullptr ? k->type : config_type::string);
    if (synonyms) e.synonyms.push_back({name, value, source_cluster});
    out.configs.push_back(std::move(e));
  }
  return out;
}

describe_configs_result describe_broker(const broker_context& ctx, const describe_configs_resource& r,
                                        const config_map& cluster, bool synonyms) {
  if (r.resource_name.empty()) return describe_cluster_defaults(r, cluster, synonyms);
  describe_configs_result out;
  out.resource_type = r.resource_type;
  out.resource_name = r.resource_name;
  if (r.resource_name != std::to_string(kafka_id(ctx.node_id()))) {
    // Kafka answers a broker's configs only on that broker; clients send the request there.
    out.error = error_code::invalid_request;
    out.error_message = "broker " + std::to_string(kafka_id(ctx.node_id())) + " cannot describe broker '" +
                        r.resource_name + "'";
    return out;
  }
  const key_filter keys = filter_of(r);
  for (const auto& c : ctx.broker_configs()) {
    if (!wanted(keys, c.name)) continue;
    describe_configs_entry e;
    e.name = c.name;
    e.config_type = static_cast<std::int8_t>(c.type);
    // The broker defaults of topic configs change cluster-wide; every other setting is read at start.
    e.read_only = find_cluster_default(c.name) == nullptr;
    const std::int8_t own_source = c.operator_set ? source_static_broker : source_default;
    if (auto it = cluster.find(c.name); it != cluster.end()) {
      e.value = it->second;
      e.config_source = source_cluster;
      if (synonyms) e.synonyms.push_back({c.name, it->second, source_cluster});
    } else {
      e.value = c.value;
      e.config_source = own_source;
    }
    e.is_default = e.config_source == source_default;
    if (synonyms) e.synonyms.push_back({c.name, c.value, own_source});
    out.configs.push_back(std::move(e));
  }
  return out;
}

void answer(const broker_context& ctx, const describe_configs_request& req, const responder& out) {
  const std::int16_t version = out.header().api_version;
  describe_configs_response resp;
  const config_map cluster = ctx.cluster_configs();  // once per request, however many resources it names
  for (const auto& r : req.resources) {
    // DESCRIBE_CONFIGS on the topic, or on the cluster for a broker (Kafka's rules).
    if (auto e = config_authorization(ctx, out, acl::operation::describe_configs, r.resource_type, r.resource_name);
        e != error_code::none) {
      describe_configs_result refused;
      refused.resource_type = r.resource_type;
      refused.resource_name = r.resource_name;
      refused.error = e;
      resp.results.push_back(std::move(refused));
      continue;
    }
    if (r.resource_type == config_resource_type::topic) {
      resp.results.push_back(describe_topic(ctx, r, cluster, req.include_synonyms, req.include_documentation));
    } else if (r.resource_type == config_resource_type::broker) {
      resp.results.push_back(describe_broker(ctx, r, cluster, req.include_synonyms));
    } else {
      describe_configs_result bad;
      bad.resource_type = r.resource_type;
      bad.resource_name = r.resource_name;
      bad.error = error_code::invalid_request;
      bad.error_message = "unsupported resource type";
      resp.results.push_back(std::move(bad));
    }
  }
  writer w;
  encode_describe_configs_response(resp, version, w);
  out.respond(std::move(w));
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  auto req = decode_describe_configs_request(body, out.header().api_version);
  if (!req) {
    out.close("DescribeConfigs: " + describe(req.error()));
    return;
  }
  // After a `__meta` read barrier, so a change acknowledged by any broker is seen here too.
  ctx.catch_up([&ctx, req = std::move(*req), out] { answer(ctx, req, out); });
}

}  // namespace

const api_handler describe_configs_handler{api_key::describe_configs, {0, 4}, handle};

}  // namespace chronik::kafka
