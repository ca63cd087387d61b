#include "daemon/members_command.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/admin_client.h"

namespace chronik::daemon {

namespace {

constexpr std::size_t column_count = 7;
using row = std::array<std::string, column_count>;

// Renders a field of any JSON type as table text; strings without their quotes.
std::string cell(const nlohmann::json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::string render(const std::vector<row>& rows) {
  std::array<std::size_t, column_count> width{};
  for (const auto& r : rows) {
    for (std::size_t c = 0; c < column_count; ++c) width[c] = std::max(width[c], r[c].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t c = 0; c < column_count; ++c) {
      line += r[c];
      if (c + 1 < column_count) line.append(width[c] - r[c].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

// httplib names errors tersely ("Connection"); say what the operator should check.
}  // namespace

std::expected<std::string, std::string> format_members_table(const nlohmann::json& members) {
  if (!members.is_array()) return std::unexpected("expected a JSON array of members");
  std::vector<row> rows;
  rows.push_back({"NODE", "ADDRESS", "STATE", "INCARNATION", "LAST CHANGE", "FORMATION", "CLUSTER"});
  for (const auto& m : members) {
    if (!m.is_object()) return std::unexpected("expected a JSON array of objects");
    rows.push_back({cell(m, "node_id"), cell(m, "address"), cell(m, "state"), cell(m, "incarnation"),
                    cell(m, "last_change"), cell(m, "formation"), cell(m, "cluster_id")});
  }
  return render(rows);
}

int run_members_command(const members_command_options& opts) {
  return run_admin_query({opts.admin, opts.creds, "/v1/members", json_shape::array, opts.json, format_members_table});
}

}  // namespace chronik::daemon
