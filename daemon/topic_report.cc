#include "daemon/topic_report.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "daemon/group_report.h"
#include "kafka/protocol/field_values.h"

namespace chronik::daemon {

namespace {

std::string text_or_dash(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "-"; }

nlohmann::json json_or_null(const std::optional<std::int64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

std::expected<config_pairs, std::string> parse_config_assignments(const std::vector<std::string>& args) {
  config_pairs out;
  for (const auto& arg : args) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos) return std::unexpected("--config \"" + arg + "\": expected NAME=VALUE");
    std::string name = arg.substr(0, eq);
    if (name.empty()) return std::unexpected("--config \"" + arg + "\": empty config name");
    if (std::ranges::any_of(out, [&name](const auto& kv) { return kv.first == name; })) {
      return std::unexpected("--config: " + name + " is given twice");
    }
    out.emplace_back(std::move(name), arg.substr(eq + 1));
  }
  return out;
}

std::string config_source_name(std::int8_t source) {
  namespace cs = kafka::config_source;
  switch (source) {
    case cs::dynamic_topic: return "topic";
    case cs::dynamic_broker: return "dynamic-broker";
    case cs::dynamic_default_broker: return "dynamic-default-broker";
    case cs::static_broker: return "broker";
    case cs::default_config: return "default";
    default: break;
  }
  return "unknown";
}

std::string format_ids(const std::vector<std::int32_t>& ids) {
  std::string out;
  for (auto id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out.empty() ? "-" : out;
}

std::string format_topic_list(const std::vector<topic_summary>& topics) {
  std::vector<std::vector<std::string>> rows{{"TOPIC", "PARTITIONS", "REPLICATION-FACTOR", "INTERNAL"}};
  for (const auto& t : topics) {
    rows.push_back({t.name, std::to_string(t.partitions), std::to_string(t.replication_factor),
                    t.internal ? "yes" : "no"});
  }
  return render_table(rows);
}

nlohmann::json topic_list_json(const std::vector<topic_summary>& topics) {
  auto out = nlohmann::json::array();
  for (const auto& t : topics) {
    out.push_back({{"topic", t.name},
                   {"partitions", t.partitions},
                   {"replication_factor", t.replication_factor},
                   {"internal", t.internal}});
  }
  return out;
}

std::string format_topic_description(const topic_description& d) {
  std::int32_t rf = 0;
  for (const auto& p : d.partitions) rf = std::max(rf, static_cast<std::int32_t>(p.replicas.size()));
  std::string out = "TOPIC " + d.name + "  ID " + (d.topic_id.empty() ? "-" : d.topic_id) + "  PARTITIONS " +
                    std::to_string(d.partitions.size()) + "  REPLICATION-FACTOR " + std::to_string(rf) +
                    (d.internal ? "  INTERNAL" : "") + "\n\n";
  std::vector<std::vector<std::string>> rows{
      {"PARTITION", "LEADER", "REPLICAS", "ISR", "OFFLINE", "LOG-START-OFFSET", "LOG-END-OFFSET"}};
  for (const auto& p : d.partitions) {
    rows.push_back({std::to_string(p.partition), p.leader < 0 ? "-" : std::to_string(p.leader), format_ids(p.replicas),
                    format_ids(p.isr), format_ids(p.offline), text_or_dash(p.log_start), text_or_dash(p.log_end)});
  }
  out += render_table(rows);
  // Like Kafka's kafka-topics --describe, the table shows what is not a built-in default; the JSON
  // lists every config.
  std::vector<std::vector<std::string>> configs{{"CONFIG", "VALUE", "SOURCE"}};
  std::size_t defaults = 0;
  for (const auto& c : d.configs) {
    if (c.source == "default") {
      ++defaults;
      continue;
    }
    configs.push_back({c.name, c.value.value_or("-"), c.source});
  }
  if (configs.size() > 1) out += "\n" + render_table(configs);
  if (defaults > 0) {
    out += "\n" + std::to_string(defaults) + (defaults == 1 ? " config is" : " configs are") +
           " at the default (--json lists every config)\n";
  }
  return out;
}

nlohmann::json topic_description_json(const topic_description& d) {
  auto partitions = nlohmann::json::array();
  for (const auto& p : d.partitions) {
    partitions.push_back({{"partition", p.partition},
                          {"leader", p.leader < 0 ? nlohmann::json(nullptr) : nlohmann::json(p.leader)},
                          {"replicas", p.replicas},
                          {"isr", p.isr},
                          {"offline", p.offline},
                          {"log_start_offset", json_or_null(p.log_start)},
                          {"log_end_offset", json_or_null(p.log_end)}});
  }
  auto configs = nlohmann::json::array();
  for (const auto& c : d.configs) {
    configs.push_back({{"name", c.name},
                       {"value", c.value ? nlohmann::json(*c.value) : nlohmann::json(nullptr)},
                       {"source", c.source},
                       {"read_only", c.read_only}});
  }
  return {{"topic", d.name},
          {"topic_id", d.topic_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.topic_id)},
          {"internal", d.internal},
          {"partitions", std::move(partitions)},
          {"configs", std::move(configs)}};
}

}  // namespace chronik::daemon
