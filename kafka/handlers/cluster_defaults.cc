#include "kafka/handlers/cluster_defaults.h"

#include "kafka/handlers/broker_context.h"

namespace chronik::kafka {

const topic_config_key* find_cluster_default(std::string_view broker_key) {
  if (broker_key.empty()) return nullptr;
  for (const auto& k : topic_config_keys())
    if (k.broker_synonym == broker_key) return &k;
  return nullptr;
}

std::expected<void, std::string> validate_cluster_default(std::string_view broker_key, std::string_view value) {
  const topic_config_key* k = find_cluster_default(broker_key);
  if (k == nullptr) {
    // Kafka answers a key it cannot change at run time with INVALID_REQUEST and this wording;
    // chronik reads every other broker setting at start only.
    return std::unexpected("cannot update config '" + std::string(broker_key) +
                           "' dynamically: only the broker defaults of topic configs (log.retention.ms, ...) can be set "
                           "cluster-wide");
  }
  if (auto ok = validate_topic_config(k->name, value); !ok) {
    return std::unexpected(ok.error() + " (as the cluster default '" + std::string(broker_key) + "')");
  }
  return {};
}

const std::string* cluster_default_for(std::string_view name, const topic_config_key& k,
                                       const std::map<std::string, std::string>& cluster) {
  if (k.broker_synonym.empty() || is_internal_topic(name)) return nullptr;
  auto it = cluster.find(std::string(k.broker_synonym));
  return it != cluster.end() ? &it->second : nullptr;
}

std::map<std::string, std::string> topic_configs_in_effect(std::string_view name,
                                                            const std::map<std::string, std::string>& own,
                                                            const std::map<std::string, std::string>& cluster) {
  std::map<std::string, std::string> out = own;
  if (cluster.empty()) return out;
  for (const auto& k : topic_config_keys()) {
    if (const std::string* v = cluster_default_for(name, k, cluster)) out.emplace(std::string(k.name), *v);  // own wins
  }
  return out;
}

}  // namespace chronik::kafka
