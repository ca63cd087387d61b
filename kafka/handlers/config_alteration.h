// What AlterConfigs (key 33) and IncrementalAlterConfigs (key 44) share: the checks of each named
// resource, the topic config schema, validate_only, and proposing the changes to `__meta` through
// the broker context (docs/kafka.md "Configs"). Each API only says how its request turns a topic's
// current configs into a change.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
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

// One resource of the request.
struct config_alteration {
  std::int8_t resource_type = 0;
  std::string resource_name;
  std::vector<std::string> keys;  // the keys the request names, for a broker's refusal
  // Set by the API when ALTER_CONFIGS is refused (kafka/handlers/authorization.h): the resource is
  // answered with it and nothing else is looked at.
  error_code unauthorized = error_code::none;
  // The topic's change from its current configs (`topic.configs`), or why there is none. Set
  // values are checked against the schema afterwards, by alter_configs().
  std::function<std::expected<topic_config_change, config_refusal>(const topic_info& topic)> change;
};

// Answers `done` with one outcome per resource, in order, once every topic change is applied,
// refused or timed out. Reads the topics after catching up with `__meta` (broker_context::catch_up),
// so a change computed from a topic's configs starts from every earlier committed change.
void alter_configs(broker_context& ctx, std::vector<config_alteration> resources, bool validate_only,
                   std::function<void(std::vector<config_refusal>)> done);

}  // namespace chronik::kafka
