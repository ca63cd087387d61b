#include "kafka/handlers/config_alteration.h"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "kafka/handlers/cluster_defaults.h"
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

// A key may be removed when the scope knows it, or when it is held anyway (a topic key stored
// before values were checked): an operator must be able to clean such a key up.
std::expected<void, config_refusal> check_removals(const topic_config_change& c, const config_scope& scope) {
  for (const auto& k : c.remove) {
    if (scope.find(k) == nullptr && !scope.configs.contains(k)) {
      return std::unexpected(config_refusal{error_code::invalid_config, "unknown config '" + k + "'"});
    }
  }
  return {};
}

std::expected<void, config_refusal> check_topic_change(const topic_config_change& c, const config_scope& scope) {
  if (auto ok = validate_topic_configs(c.set); !ok) return std::unexpected(config_refusal{error_code::invalid_config, ok.error()});
  return check_removals(c, scope);
}

// Kafka answers a key that cannot change at run time with INVALID_REQUEST, a bad value with
// INVALID_CONFIG.
std::expected<void, config_refusal> check_cluster_change(const topic_config_change& c, const config_scope& scope) {
  for (const auto& [key, value] : c.set) {
    if (auto ok = validate_cluster_default(key, value); !ok) {
      const auto e = find_cluster_default(key) == nullptr ? error_code::invalid_request : error_code::invalid_config;
      return std::unexpected(config_refusal{e, ok.error()});
    }
  }
  return check_removals(c, scope);
}

std::string built_in_default(const topic_config_key& k) { return std::string(k.default_value); }

// The cluster-wide broker defaults (a broker resource named ""), or why a broker resource is refused.
std::expected<topic_config_change, config_refusal> plan_broker(const config_alteration& r,
                                                               const std::map<std::string, std::string>& cluster) {
  if (r.keys.empty()) return std::unexpected(config_refusal{});
  if (!r.resource_name.empty()) {
    // Kafka would set these on that broker alone. A partition's replicas on different brokers must
    // enforce the same rules, so chronik keeps broker defaults for the whole cluster only.
    return std::unexpected(config_refusal{
        error_code::invalid_request,
        "broker " + r.resource_name + ": chronik has no per-broker dynamic configs; set the broker defaults of topic " +
            "configs for the whole cluster (kafka-configs --entity-type brokers --entity-default): " + joined(r.keys)});
  }
  const config_scope scope{cluster, find_cluster_default, built_in_default};
  auto change = r.change(scope);
  if (!change) return change;
  if (auto ok = check_cluster_change(*change, scope); !ok) return std::unexpected(ok.error());
  return change;
}

std::expected<topic_config_change, config_refusal> plan_topic(const broker_context& ctx, const config_alteration& r,
                                                              const std::map<std::string, std::string>& cluster) {
  const auto topic = ctx.topic(r.resource_name);
  if (!topic) return std::unexpected(config_refusal{error_code::unknown_topic_or_partition, "unknown topic '" + r.resource_name + "'"});
  const auto default_of = [&](const topic_config_key& k) {
    const std::string* v = cluster_default_for(r.resource_name, k, cluster);
    return v != nullptr ? *v : std::string(k.default_value);
  };
  const config_scope scope{topic->configs, find_topic_config, default_of};
  auto change = r.change(scope);
  if (!change) return change;
  change->topic = r.resource_name;
  if (auto ok = check_topic_change(*change, scope); !ok) return std::unexpected(ok.error());
  return change;
}

// The outcome decided without `__meta`, or the change to propose. `cluster`: the cluster-wide
// defaults, read once per request.
std::expected<topic_config_change, config_refusal> plan(const broker_context& ctx, const config_alteration& r,
                                                        std::size_t named, const std::map<std::string, std::string>& cluster) {
  using enum error_code;
  if (r.unauthorized != none) return std::unexpected(config_refusal{r.unauthorized, std::nullopt});
  if (named > 1) return std::unexpected(config_refusal{invalid_request, "resource named more than once in the request"});
  if (r.resource_type == config_resource_type::broker) return plan_broker(r, cluster);
  if (r.resource_type == config_resource_type::topic) return plan_topic(ctx, r, cluster);
  return std::unexpected(config_refusal{invalid_request, "unsupported resource type " + std::to_string(r.resource_type)});
}

struct alteration_state {
  std::vector<config_refusal> outcomes;
  std::size_t open = 0;  // proposals still to answer: the topics' (one call) and the cluster's
  std::function<void(std::vector<config_refusal>)> done;
};

void settle(config_refusal& o, const topic_result& r) {
  o.error = to_error_code(r.outcome);
  if (o.error != error_code::none && !r.message.empty()) o.message = r.message;
}

void finish_one(const std::shared_ptr<alteration_state>& st) {
  if (--st->open == 0) st->done(std::move(st->outcomes));
}

void run(broker_context& ctx, const std::vector<config_alteration>& resources, bool validate_only,
         const std::shared_ptr<alteration_state>& st) {
  std::vector<topic_config_change> changes;
  std::vector<std::size_t> slots;  // changes[i] answers outcomes[slots[i]]
  std::optional<std::pair<std::size_t, topic_config_change>> cluster_change;  // named at most once
  // Counted once, not per resource: a request may name millions of resources.
  std::map<std::pair<std::int8_t, std::string_view>, std::size_t> named;
  for (const auto& r : resources) ++named[{r.resource_type, r.resource_name}];
  const auto cluster = ctx.cluster_configs();  // once per request, however many resources it names
  for (std::size_t i = 0; i < resources.size(); ++i) {
    const auto& r = resources[i];
    auto change = plan(ctx, r, named[{r.resource_type, r.resource_name}], cluster);
    if (!change) {
      st->outcomes[i] = change.error();
      continue;
    }
    if (validate_only || (change->set.empty() && change->remove.empty())) continue;
    if (r.resource_type == config_resource_type::broker) {
      cluster_change.emplace(i, std::move(*change));
      continue;
    }
    changes.push_back(std::move(*change));
    slots.push_back(i);
  }
  st->open = 1 + (changes.empty() ? 0 : 1) + (cluster_change ? 1 : 0);  // the 1 is released below
  if (!changes.empty()) {
    ctx.alter_topic_configs(std::move(changes), apply_timeout, [st, slots](std::vector<topic_result> results) {
      for (std::size_t i = 0; i < slots.size() && i < results.size(); ++i) settle(st->outcomes[slots[i]], results[i]);
      finish_one(st);
    });
  }
  if (cluster_change) {
    const std::size_t slot = cluster_change->first;
    ctx.alter_cluster_configs(std::move(cluster_change->second), apply_timeout, [st, slot](topic_result result) {
      settle(st->outcomes[slot], result);
      finish_one(st);
    });
  }
  finish_one(st);
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
