#include "daemon/status_json.h"

#include <algorithm>
#include <tuple>

namespace chronik::daemon {
namespace {

std::vector<std::uint64_t> ids_of(const std::vector<chronik::node_id>& ids) {
  std::vector<std::uint64_t> out;
  out.reserve(ids.size());
  for (auto id : ids) out.push_back(id.value());
  return out;
}

nlohmann::json failed(const keyring_target& t, std::string error) {
  return {{"node_id", t.node_id}, {"admin_addr", t.admin_addr}, {"ok", false}, {"error", std::move(error)},
          {"stats", nullptr}};
}

}  // namespace

nlohmann::json partitions_json(const std::vector<kafka::topic_info>& topics) {
  struct row {
    const kafka::topic_info* t;
    const kafka::partition_info* p;
  };
  std::vector<row> rows;
  for (const auto& t : topics) {
    for (const auto& p : t.partitions) rows.push_back({&t, &p});
  }
  std::ranges::sort(rows, [](const row& a, const row& b) {
    return std::tie(a.t->name, a.p->partition) < std::tie(b.t->name, b.p->partition);
  });
  auto out = nlohmann::json::array();
  for (const auto& r : rows) {
    out.push_back({{"topic", r.t->name},
                   {"partition", r.p->partition},
                   {"internal", r.t->name.starts_with("__")},
                   {"leader", r.p->leader.value()},
                   {"leader_epoch", r.p->leader_epoch},
                   {"replicas", ids_of(r.p->replicas)},
                   {"isr", ids_of(r.p->isr)},
                   {"offline", ids_of(r.p->offline)}});
  }
  return out;
}

nlohmann::json node_stats_json(const node_stats_view& v) {
  auto rates = nlohmann::json::array();
  for (const auto& r : v.rates) {
    rates.push_back({{"t", r.wall_ms}, {"produce", r.produce_bytes_per_s}, {"fetch", r.fetch_bytes_per_s}});
  }
  bool truncated = false;
  auto leads = nlohmann::json::array();
  for (const auto& rep : v.replicas) {
    if (!rep.leader) continue;
    if (leads.size() >= max_listed_node_stats) {
      truncated = true;
      break;
    }
    leads.push_back({{"topic", rep.topic},
                     {"partition", rep.partition},
                     {"high_watermark", rep.high_watermark},
                     {"size_bytes", rep.size_bytes}});
  }
  auto lags = nlohmann::json::array();
  for (const auto& l : v.lags) {
    if (lags.size() >= max_listed_node_stats) {
      truncated = true;
      break;
    }
    lags.push_back({{"group", l.group}, {"topic", l.topic}, {"partition", l.partition}, {"lag", l.lag}});
  }
  return {{"node_id", v.node_id},
          {"uuid", v.uuid_hex},
          {"sample_interval_ms", v.sample_interval_ms},
          {"rates", std::move(rates)},
          {"leads", std::move(leads)},
          {"lags", std::move(lags)},
          {"truncated", truncated}};
}

nlohmann::json node_stats_entry(const keyring_target& target, std::optional<int> status, std::string_view body,
                                std::string_view transport_error) {
  if (!target.unusable.empty()) return failed(target, target.unusable);
  if (!status) return failed(target, "unreachable: " + std::string(transport_error));
  if (*status == 401) return failed(target, "it refused this node's admin token (every node needs the same admin_token_file)");
  if (*status != 200) return failed(target, "HTTP " + std::to_string(*status));
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return failed(target, "its answer is not a JSON object");
  const auto id = j.find("node_id");
  const auto uuid = j.find("uuid");
  if (id == j.end() || !id->is_number_unsigned() || uuid == j.end() || !uuid->is_string()) {
    return failed(target, "its answer names no node");
  }
  if (id->get<std::uint64_t>() != target.node_id || uuid->get<std::string>() != target.uuid_hex) {
    return failed(target, "another node answers at " + target.admin_addr + " (node " + std::to_string(id->get<std::uint64_t>()) + ")");
  }
  for (const char* key : {"rates", "leads", "lags"}) {
    if (!j.contains(key) || !j[key].is_array()) return failed(target, std::string("its answer has no ") + key);
  }
  return {{"node_id", target.node_id}, {"admin_addr", target.admin_addr}, {"ok", true}, {"error", nullptr},
          {"stats", std::move(j)}};
}

}  // namespace chronik::daemon
