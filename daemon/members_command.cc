#include "daemon/members_command.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <iostream>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "daemon/config.h"

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
std::string describe(httplib::Error err) {
  switch (err) {
    case httplib::Error::Connection: return "connection failed (is the node running, is --admin right?)";
    case httplib::Error::ConnectionTimeout: return "connection timed out";
    case httplib::Error::Read: return "no answer (read failed or timed out)";
    default: break;
  }
  return httplib::to_string(err);
}

void print_error(const std::string& line) { std::cerr << "chronik-server: " << line << "\n"; }

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
  auto endpoint = parse_ipv4_endpoint(opts.admin);
  if (!endpoint) {
    print_error("--admin: \"" + opts.admin + "\": " + endpoint.error());
    return 2;
  }
  httplib::Client client(endpoint->ip, endpoint->port);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(5));
  auto res = client.Get("/v1/members");
  if (!res) {
    print_error("cannot reach admin endpoint " + opts.admin + ": " + describe(res.error()));
    return 1;
  }
  if (res->status != 200) {
    print_error("admin endpoint " + opts.admin + " answered HTTP " + std::to_string(res->status));
    return 1;
  }
  // parse() with allow_exceptions=false returns a discarded value instead of throwing.
  const auto members = nlohmann::json::parse(res->body, nullptr, false);
  if (members.is_discarded() || !members.is_array()) {
    print_error("admin endpoint " + opts.admin + " returned something other than a JSON array");
    return 1;
  }
  if (opts.json) {
    std::cout << members.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  auto table = format_members_table(members);
  if (!table) {
    print_error("admin endpoint " + opts.admin + ": " + table.error());
    return 1;
  }
  std::cout << *table;
  return 0;
}

}  // namespace chronik::daemon
