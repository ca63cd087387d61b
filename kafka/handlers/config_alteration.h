// What AlterConfigs (key 33) and IncrementalAlterConfigs (key 44) share: the checks of each named
// resource, the topic config schema, validate_only, and proposing the changes to `__meta` through
// the broker context (docs/kafka.md "Configs"). Each API only says how its request turns a
// resource's current configs into a change. The resources are topics, and the cluster-wide broker
// defaults (a broker resource named "", kafka/handlers/cluster_defaults.h); a named broker's own
// settings are read at start only.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kafka/handlers/broker_context.h"
#include "kafka/protocol/error_code.h"

namespace chronik::kafka {

struct config_refusal {
  error_code error = error_code::none;
  std::optional<std::string> message;
};

// What a resource's change is computed from.
struct config_scope {
  const std::map<std::string, std::string>& configs;  // the keys set now (on the topic, or cluster-wide)
  // The schema key a name means here (a topic key, or the topic key a broker default stands for),
  // or nullptr when the name means none.
  std::function<const topic_config_key*(std::string_view)> find;
  // The value in effect for a key of the schema not in `configs` (an APPEND's starting list).
  std::function<std::string(const topic_config_key&)> default_of;
};

// One resource of the request.
struct config_alteration {
  std::int8_t resource_type = 0;
  std::string resource_name;
  std::vector<std::string> keys;  // the keys the request names, for a broker's refusal
  // Set by the API when ALTER_CONFIGS is refused (kafka/handlers/authorization.h): the resource is
  // answered with it and nothing else is looked at.
  error_code unauthorized = error_code::none;
  // The resource's change from its current configs, or why there is none. Set values are checked
  // against the schema afterwards, by alter_configs().
  std::function<std::expected<topic_config_change, config_refusal>(const config_scope& scope)> change;
};

// Answers `done` with one outcome per resource, in order, once every change is applied, refused or
// timed out. Reads the configs after catching up with `__meta` (broker_context::catch_up), so a
// change computed from them starts from every earlier committed change.
void alter_configs(broker_context& ctx, std::vector<config_alteration> resources, bool validate_only,
                   std::function<void(std::vector<config_refusal>)> done);

}  // namespace chronik::kafka
