#include "daemon/status_command.h"

#include <algorithm>
#include <array>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/admin_client.h"

namespace chronik::daemon {

namespace {

// A field of any JSON type as text; strings without their quotes, null and missing as "-".
std::string text(const nlohmann::json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    std::string out;
    for (const auto& v : *it) out += (out.empty() ? "" : ",") + (v.is_string() ? v.get<std::string>() : v.dump());
    return out.empty() ? "-" : out;
  }
  return it->dump();
}


}  // namespace

std::expected<std::string, std::string> format_cluster_status(const nlohmann::json& c) {
  if (!c.is_object()) return std::unexpected("expected a JSON object");
  const auto brokers = c.find("brokers");
  if (brokers == c.end() || !brokers->is_array()) return std::unexpected("expected a \"brokers\" array");
  const std::string leader = text(c, "meta_leader");
  std::string out;
  out += "cluster id:   " + text(c, "cluster_id") + "\n";
  out += "formation:    " + text(c, "formation") + "\n";
  // While forming: what the node waits for (daemon/formation_progress.h).
  if (const auto waiting = c.find("waiting"); waiting != c.end() && waiting->is_string()) {
    out += "waiting:      " + waiting->get<std::string>() + "\n";
  }
  out += "meta leader:  " + (leader == "0" ? std::string("none") : leader) + "\n";
  out += "term:         " + text(c, "term") + "\n";
  out += "commit:       " + text(c, "commit") + "\n";
  out += "voters:       " + text(c, "voters") + "\n";
  out += "learners:     " + text(c, "learners") + "\n";
  // Each node's formation state as gossip shows it (fresh, promised or member).
  if (const auto nodes = c.find("nodes"); nodes != c.end() && nodes->is_array()) {
    out += "nodes:        ";
    bool first = true;
    for (const auto& n : *nodes) {
      if (!n.is_object()) continue;
      out += (first ? "" : ", ") + text(n, "node_id") + " " + text(n, "state") + " " + text(n, "formation");
      first = false;
    }
    out += "\n";
  }
  out += "\n";
  constexpr std::size_t columns = 6;
  std::vector<std::array<std::string, columns>> rows;
  rows.push_back({"BROKER", "KAFKA ADDRESS", "RPC ADDRESS", "ROLE", "STATE", "UUID"});
  auto listed = [&c](const char* key, const std::string& id) {
    const auto it = c.find(key);
    if (it == c.end() || !it->is_array()) return false;
    return std::any_of(it->begin(), it->end(), [&id](const nlohmann::json& v) { return v.dump() == id; });
  };
  for (const auto& b : *brokers) {
    if (!b.is_object()) return std::unexpected("expected broker objects");
    const std::string id = text(b, "node_id");
    std::string role = listed("voters", id) ? "voter" : listed("learners", id) ? "learner" : "broker";
    if (id == leader) role = "leader";
    rows.push_back({id, text(b, "kafka_addr"), text(b, "rpc_addr"), role, text(b, "state"), text(b, "uuid")});
  }
  std::array<std::size_t, columns> width{};
  for (const auto& r : rows)
    for (std::size_t i = 0; i < columns; ++i) width[i] = std::max(width[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < columns; ++i) {
      line += r[i];
      if (i + 1 < columns) line.append(width[i] - r[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

int run_status_command(const status_command_options& opts) {
  return run_admin_query({opts.admin, opts.creds, "/v1/cluster", json_shape::object, opts.json, format_cluster_status});
}

}  // namespace chronik::daemon
