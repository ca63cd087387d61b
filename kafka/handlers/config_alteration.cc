#include "kafka/handlers/config_alteration.h"

#include <chrono>
#include <map>
#include <memory>

#include "kafka/handlers/topic_errors.h"
#include "kafka/protocol/field_values.h"

namespace chronik::kafka {
namespace {

// The config APIs carry no timeout; clients wait 30 s by default (request.timeout.ms), so the
// answer comes well before they give up.
constexpr std::chrono::milliseconds apply_timeout{15'000};

// The first few keys, for an error message that stays one line however many a request names.
std::string joined(const std::vector<std::string>& keys) {
  constexpr std::size_t shown = 8;
  std::string out;
  for (std::size_t i = 0; i < keys.size() && i < shown; ++i) out += (i == 0 ? "" : ", ") + keys[i];
  if (keys.size() > shown) out += ", ... (" + std::to_string(keys.size()) + " keys)";
  return out;
}

// A key may be removed when the schema knows it, or when the topic holds it anyway (stored before
// values were checked): an operator must be able to clean such a key up.
std::expected<void, config_refusal> check_change(const topic_config_change& c, const topic_info& t) {
  if (auto ok = validate_topic_configs(c.set); !ok) return std::unexpected(config_refusal{error_code::invalid_config, ok.error()});
  for (const auto& k : c.remove) {
    if (find_topic_config(k) == nullptr && !t.configs.contains(k)) {
      return std::unexpected(config_refusal{error_code::invalid_config, "unknown topic config '" + k + "'"});
    }
  }
  return {};
}

// The outcome decided without `__meta`, or the change to propose.
std::expected<topic_config_change, config_refusal> plan(const broker_context& ctx, const config_alteration& r,
                                                        std::size_t named) {
  using enum error_code;
  if (r.unauthorized != none) return std::unexpected(config_refusal{r.unauthorized, std::nullopt});
  if (named > 1) return std::unexpected(config_refusal{invalid_request, "resource named more than once in the request"});
  if (r.resource_type == config_resource_type::broker) {
    if (r.keys.empty()) return std::unexpected(config_refusal{});
    // Kafka answers a change of a config that is not dynamically updatable with INVALID_REQUEST;
    // chronik reads every broker setting at start only.
    return std::unexpected(config_refusal{invalid_request, "broker configs cannot be changed dynamically: " + joined(r.keys)});
  }
  if (r.resource_type != config_resource_type::topic) {
    return std::unexpected(config_refusal{invalid_request, "unsupported resource type " + std::to_string(r.resource_type)});
  }
  const auto topic = ctx.topic(r.resource_name);
  if (!topic) return std::unexpected(config_refusal{unknown_topic_or_partition, "unknown topic '" + r.resource_name + "'"});
  auto change = r.change(*topic);
  if (!change) return change;
  change->topic = r.resource_name;
  if (auto ok = check_change(*change, *topic); !ok) return std::unexpected(ok.error());
  return change;
}

struct alteration_state {
  std::vector<config_refusal> outcomes;
  std::function<void(std::vector<config_refusal>)> done;
};

void run(broker_context& ctx, const std::vector<config_alteration>& resources, bool validate_only,
         const std::shared_ptr<alteration_state>& st) {
  std::vector<topic_config_change> changes;
  std::vector<std::size_t> slots;  // changes[i] answers outcomes[slots[i]]
  // Counted once, not per resource: a request may name millions of resources.
  std::map<std::pair<std::int8_t, std::string_view>, std::size_t> named;
  for (const auto& r : resources) ++named[{r.resource_type, r.resource_name}];
  for (std::size_t i = 0; i < resources.size(); ++i) {
    const auto& r = resources[i];
    auto change = plan(ctx, r, named[{r.resource_type, r.resource_name}]);
    if (!change) {
      st->outcomes[i] = change.error();
      continue;
    }
    if (validate_only || (change->set.empty() && change->remove.empty())) continue;
    changes.push_back(std::move(*change));
    slots.push_back(i);
  }
  if (changes.empty()) {
    st->done(std::move(st->outcomes));
    return;
  }
  ctx.alter_topic_configs(std::move(changes), apply_timeout, [st, slots](std::vector<topic_result> results) {
    for (std::size_t i = 0; i < slots.size() && i < results.size(); ++i) {
      auto& o = st->outcomes[slots[i]];
      o.error = to_error_code(results[i].outcome);
      if (o.error != error_code::none && !results[i].message.empty()) o.message = results[i].message;
    }
    st->done(std::move(st->outcomes));
  });
}

}  // namespace

void alter_configs(broker_context& ctx, std::vector<config_alteration> resources, bool validate_only,
                   std::function<void(std::vector<config_refusal>)> done) {
  auto st = std::make_shared<alteration_state>();
  st->outcomes.resize(resources.size());
  st->done = std::move(done);
  ctx.catch_up([&ctx, resources = std::move(resources), validate_only, st] { run(ctx, resources, validate_only, st); });
}

}  // namespace chronik::kafka
