// AlterConfigs (key 33): replaces the whole set of configs of a topic, or of the cluster-wide
// broker defaults. Every key the request leaves out goes back to its default, as in Kafka; the
// values are checked against the topic config schema and the change goes through `__meta`
// (config_alteration.h, docs/kafka.md "Configs").
#include <set>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/config_alteration.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/alter_configs.h"

namespace chronik::kafka {
namespace {

config_alteration to_alteration(const alter_configs_resource& r) {
  config_alteration a;
  a.resource_type = r.resource_type;
  a.resource_name = r.resource_name;
  for (const auto& c : r.configs) a.keys.push_back(c.name);
  a.change = [configs = r.configs](const config_scope& scope) -> std::expected<topic_config_change, config_refusal> {
    topic_config_change change;
    for (const auto& c : configs) {
      if (!c.value) return std::unexpected(config_refusal{error_code::invalid_request, "null value for '" + c.name + "'"});
      if (!change.set.emplace(c.name, *c.value).second) {
        return std::unexpected(config_refusal{error_code::invalid_request, "config '" + c.name + "' named more than once"});
      }
    }
    for (const auto& [name, value] : scope.configs)
      if (!change.set.contains(name)) change.remove.push_back(name);
    return change;
  };
  return a;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_alter_configs_request(body, version);
  if (!req) {
    out.close("AlterConfigs: " + describe(req.error()));
    return;
  }
  std::vector<config_alteration> resources;
  for (const auto& r : req->resources) {
    resources.push_back(to_alteration(r));
    resources.back().unauthorized =
        config_authorization(ctx, out, acl::operation::alter_configs, r.resource_type, r.resource_name);
  }
  alter_configs(ctx, std::move(resources), req->validate_only,
                [out, version, named = req->resources](std::vector<config_refusal> outcomes) {
                  alter_configs_response resp;
                  for (std::size_t i = 0; i < named.size(); ++i) {
                    alter_configs_resource_response r;
                    r.resource_type = named[i].resource_type;
                    r.resource_name = named[i].resource_name;
                    r.error = outcomes[i].error;
                    r.error_message = outcomes[i].message;
                    resp.responses.push_back(std::move(r));
                  }
                  writer w;
                  encode_alter_configs_response(resp, version, w);
                  out.respond(std::move(w));
                });
}

}  // namespace

const api_handler alter_configs_handler{api_key::alter_configs, {0, 2}, handle};

}  // namespace chronik::kafka
