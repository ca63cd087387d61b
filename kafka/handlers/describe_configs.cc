// DescribeConfigs (key 32): a topic's configs, each either set on the topic or Kafka's default
// (topic_configs.h); broker resources answer with no entries, as a broker without dynamic
// configs would.
#include <algorithm>

#include "kafka/handlers/handler.h"
#include "kafka/handlers/topic_configs.h"
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/messages/describe_configs.h"

namespace chronik::kafka {
namespace {

// Kafka's ConfigSource values (v1+).
constexpr std::int8_t source_topic = 1;    // DYNAMIC_TOPIC_CONFIG
constexpr std::int8_t source_default = 5;  // DEFAULT_CONFIG

bool wanted(const describe_configs_resource& r, std::string_view name) {
  if (!r.configuration_keys) return true;
  return std::ranges::find(*r.configuration_keys, name) != r.configuration_keys->end();
}

describe_configs_result describe_topic(const broker_context& ctx, const describe_configs_resource& r) {
  describe_configs_result out;
  out.resource_type = r.resource_type;
  out.resource_name = r.resource_name;
  const auto topic = ctx.topic(r.resource_name);
  if (!topic) {
    out.error = error_code::unknown_topic_or_partition;
    out.error_message = "unknown topic '" + r.resource_name + "'";
    return out;
  }
  for (const auto& d : topic_config_defaults) {
    if (!wanted(r, d.name)) continue;
    describe_configs_entry e;
    e.name = std::string(d.name);
    auto set = topic->configs.find(e.name);
    const bool explicit_value = set != topic->configs.end();
    e.value = explicit_value ? set->second : std::string(d.value);
    e.is_default = !explicit_value;
    e.config_source = explicit_value ? source_topic : source_default;
    out.configs.push_back(std::move(e));
  }
  // Configs set on the topic that chronik does not interpret are still reported as set.
  for (const auto& [name, value] : topic->configs) {
    const bool known = std::ranges::any_of(topic_config_defaults, [&](const auto& d) { return d.name == name; });
    if (known || !wanted(r, name)) continue;
    describe_configs_entry e;
    e.name = name;
    e.value = value;
    e.config_source = source_topic;
    out.configs.push_back(std::move(e));
  }
  return out;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_describe_configs_request(body, version);
  if (!req) {
    out.close("DescribeConfigs: " + describe(req.error()));
    return;
  }
  describe_configs_response resp;
  for (const auto& r : req->resources) {
    if (r.resource_type == config_resource_type::topic) {
      resp.results.push_back(describe_topic(ctx, r));
    } else if (r.resource_type == config_resource_type::broker) {
      describe_configs_result b;
      b.resource_type = r.resource_type;
      b.resource_name = r.resource_name;
      resp.results.push_back(std::move(b));
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

}  // namespace

const api_handler describe_configs_handler{api_key::describe_configs, {0, 4}, handle};

}  // namespace chronik::kafka
