// IncrementalAlterConfigs (key 44, KIP-339): sets, deletes, appends to or subtracts from single
// configs of a topic or of the cluster-wide broker defaults, leaving the others as they are. APPEND
// and SUBTRACT work on list configs only, from the value set or else the one in effect. Values are
// checked against the topic config schema and the change goes through `__meta`
// (config_alteration.h, docs/kafka.md "Configs").
#include <algorithm>
#include <set>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/config_alteration.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/messages/incremental_alter_configs.h"

namespace chronik::kafka {
namespace {

using change_result = std::expected<topic_config_change, config_refusal>;

config_refusal refuse(error_code e, std::string why) { return config_refusal{e, std::move(why)}; }

// APPEND adds the items not there yet; SUBTRACT removes every item named. The value is what this
// node's view gives, for the schema's checks; the edit itself goes to `__meta`, which applies it to
// the value current when the record applies (config_list_edit).
std::expected<std::string, config_refusal> edit_list(const incremental_alterable_config& c, const config_scope& scope,
                                                     topic_config_change& change) {
  const topic_config_key* k = scope.find(c.name);
  if (k == nullptr || k->type != config_type::list) {
    return std::unexpected(refuse(error_code::invalid_config, "'" + c.name + "' is not a list config: APPEND and SUBTRACT need one"));
  }
  config_list_edit e{c.name, c.config_operation == config_operation::append, config_list::split(*c.value),
                     scope.default_of(*k)};
  auto it = scope.configs.find(c.name);
  auto items = config_list::split(it != scope.configs.end() ? std::string_view(it->second) : e.base);
  for (const auto& item : e.items) {
    if (e.append) {
      if (std::ranges::find(items, item) == items.end()) items.push_back(item);
    } else {
      std::erase(items, item);
    }
  }
  change.edits.push_back(std::move(e));
  return config_list::join(items);
}

change_result to_change(const std::vector<incremental_alterable_config>& configs, const config_scope& scope) {
  topic_config_change change;
  std::set<std::string> seen;
  for (const auto& c : configs) {
    if (!seen.insert(c.name).second) return std::unexpected(refuse(error_code::invalid_request, "config '" + c.name + "' named more than once"));
    switch (c.config_operation) {
      case config_operation::remove:
        change.remove.push_back(c.name);
        continue;
      case config_operation::set:
      case config_operation::append:
      case config_operation::subtract:
        break;
      default:
        return std::unexpected(refuse(error_code::invalid_request, "unknown config operation " + std::to_string(c.config_operation)));
    }
    if (!c.value) return std::unexpected(refuse(error_code::invalid_request, "null value for '" + c.name + "'"));
    if (c.config_operation == config_operation::set) {
      change.set[c.name] = *c.value;
      continue;
    }
    auto edited = edit_list(c, scope, change);
    if (!edited) return std::unexpected(edited.error());
    change.set[c.name] = std::move(*edited);
  }
  return change;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_incremental_alter_configs_request(body, version);
  if (!req) {
    out.close("IncrementalAlterConfigs: " + describe(req.error()));
    return;
  }
  std::vector<config_alteration> resources;
  for (const auto& r : req->resources) {
    config_alteration a;
    a.resource_type = r.resource_type;
    a.resource_name = r.resource_name;
    for (const auto& c : r.configs) a.keys.push_back(c.name);
    a.change = [configs = r.configs](const config_scope& scope) { return to_change(configs, scope); };
    a.unauthorized = config_authorization(ctx, out, acl::operation::alter_configs, r.resource_type, r.resource_name);
    resources.push_back(std::move(a));
  }
  alter_configs(ctx, std::move(resources), req->validate_only,
                [out, version, named = req->resources](std::vector<config_refusal> outcomes) {
                  incremental_alter_configs_response resp;
                  for (std::size_t i = 0; i < named.size(); ++i) {
                    incremental_alter_configs_resource_response r;
                    r.resource_type = named[i].resource_type;
                    r.resource_name = named[i].resource_name;
                    r.error = outcomes[i].error;
                    r.error_message = outcomes[i].message;
                    resp.responses.push_back(std::move(r));
                  }
                  writer w;
                  encode_incremental_alter_configs_response(resp, version, w);
                  out.respond(std::move(w));
                });
}

}  // namespace

const api_handler incremental_alter_configs_handler{api_key::incremental_alter_configs, {0, 1}, handle};

}  // namespace chronik::kafka
