#include "daemon/cluster_health.h"

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "daemon/config.h"
#include "daemon/formation_progress.h"

namespace chronik::daemon {

namespace {

// At most this many partitions are named in one problem line; the count covers all of them.
constexpr std::size_t named_partitions = 5;

std::string str(const nlohmann::json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A JSON number that is a whole number >= 0 (the node writes unsigned ones; a signed one reads
// the same), else nullopt.
std::optional<std::uint64_t> whole(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  return std::nullopt;
}

std::uint64_t num(const nlohmann::json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() ? whole(*it).value_or(0) : 0;
}

std::vector<std::uint64_t> ids(const nlohmann::json& obj, const char* key) {
  std::vector<std::uint64_t> out;
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (const auto id = whole(v)) out.push_back(*id);
  }
  return out;
}

std::string id_list(const std::vector<std::uint64_t>& v) {
  std::string out;
  for (auto id : v) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out.empty() ? "none" : out;
}

// One node as the report sees it: gossip's state and formation, `__meta`'s broker state.
struct node_facts {
  std::string gossip;     // alive, suspect, dead, left; empty: gossip does not list it
  std::string formation;  // fresh, promised, member
  std::string broker;     // alive, dead, left, draining; empty: not a registered broker
  bool fenced = false;
};

std::map<std::uint64_t, node_facts> collect_nodes(const nlohmann::json& c) {
  std::map<std::uint64_t, node_facts> nodes;
  if (const auto it = c.find("nodes"); it != c.end() && it->is_array()) {
    for (const auto& n : *it) {
      if (!n.is_object()) continue;
      auto& f = nodes[num(n, "node_id")];
      f.gossip = str(n, "state");
      f.formation = str(n, "formation");
    }
  }
  for (const auto& b : c.at("brokers")) {
    if (b.is_object()) nodes[num(b, "node_id")].broker = str(b, "state");
  }
  for (auto id : ids(c, "fenced")) nodes[id].fenced = true;
  nodes.erase(0);
  return nodes;
}

void check_nodes(const std::map<std::uint64_t, node_facts>& nodes, health_report& r) {
  for (const auto& [id, f] : nodes) {
    const std::string who = "node " + std::to_string(id);
    if (f.gossip == "left" || f.broker == "left") {
      r.notes.push_back(who + " left the cluster gracefully" +
                        (f.broker.empty() ? "" : " (still a registered broker; its replicas are offline)"));
      continue;
    }
    if (f.gossip == "suspect" || f.gossip == "dead") {
      r.problems.push_back(who + " is " + f.gossip + " in gossip" + (f.broker == "dead" ? " and dead in __meta" : ""));
    } else if (f.broker == "dead") {
      r.problems.push_back(who + " is dead in __meta" + (f.gossip.empty() ? " (gossip no longer lists it)" : ""));
    } else if (f.gossip == "alive" && !f.formation.empty() && f.formation != "member") {
      r.problems.push_back(who + " is alive but not a member of the cluster yet (" + f.formation + ")");
    } else if (f.gossip == "alive" && f.formation == "member" && f.broker.empty()) {
      r.problems.push_back(who + " is a member but not registered as a broker yet");
    }
    if (f.fenced) r.problems.push_back(who + " is fenced: its WAL failed (docs/storage.md \"Disk faults\")");
    if (f.broker == "draining") r.notes.push_back(who + " is draining");
  }
}

void check_meta(const nlohmann::json& c, const std::map<std::uint64_t, node_facts>& nodes, health_report& r) {
  if (str(c, "read") != "linearizable") {
    r.problems.push_back("this node cannot reach a __meta leader: the status is its own last view (read local)");
  }
  const auto leader = num(c, "meta_leader");
  if (leader == 0) r.problems.push_back("__meta has no leader");
  const auto voters = ids(c, "voters");
  std::vector<std::uint64_t> down;
  for (auto v : voters) {
    const auto it = nodes.find(v);
    const bool up = it != nodes.end() && (it->second.gossip == "alive" || it->second.gossip.empty()) &&
                    (it->second.broker == "alive" || it->second.broker == "draining") && !it->second.fenced;
    if (!up) down.push_back(v);
  }
  const std::size_t alive = voters.size() - down.size();
  if (voters.empty()) {
    r.problems.push_back("__meta has no voters listed");
  } else if (alive * 2 <= voters.size()) {
    r.problems.push_back("__meta quorum lost: " + std::to_string(alive) + " of " + std::to_string(voters.size()) +
                         " voters alive (voters " + id_list(voters) + ", down " + id_list(down) + ")");
  } else if (!down.empty()) {
    r.problems.push_back("__meta voter" + std::string(down.size() == 1 ? " " : "s ") + id_list(down) +
                         " down: the quorum holds with " + std::to_string(alive) + " of " +
                         std::to_string(voters.size()));
  }
}

std::string partition_name(const nlohmann::json& p) {
  return str(p, "topic") + ":" + std::to_string(num(p, "partition"));
}

void check_partitions(const nlohmann::json& c, health_report& r) {
  std::vector<std::string> leaderless;
  std::vector<std::string> under;
  if (const auto it = c.find("partition_problems"); it != c.end() && it->is_array()) {
    for (const auto& p : *it) {
      if (!p.is_object()) continue;
      if (p.value("leaderless", false) && leaderless.size() < named_partitions) {
        leaderless.push_back(partition_name(p) + " (replicas " + id_list(ids(p, "replicas")) + ")");
      }
      if (p.value("under_replicated", false) && under.size() < named_partitions) {
        auto isr = ids(p, "isr");
        std::ranges::sort(isr);
        under.push_back(partition_name(p) + " (in sync " + id_list(isr) + " of " +
                        id_list(ids(p, "replicas")) + ")");
      }
    }
  }
  auto line = [](std::uint64_t count, const char* what, const std::vector<std::string>& named) {
    std::string out = std::to_string(count) + " " + what + (count == 1 ? "" : "s");
    if (!named.empty()) out += ": " + join_with_and(named) + (count > named.size() ? ", ..." : "");
    return out;
  };
  if (const auto n = num(c, "leaderless_partitions"); n > 0) r.problems.push_back(line(n, "leaderless partition", leaderless));
  if (const auto n = num(c, "under_replicated_partitions"); n > 0) {
    r.problems.push_back(line(n, "under-replicated partition", under));
  }
}

std::string summary_of(const nlohmann::json& c, const std::map<std::uint64_t, node_facts>& nodes,
                       const health_report& r) {
  const auto alive = std::ranges::count_if(nodes, [](const auto& kv) {
    return kv.second.gossip == "alive" && kv.second.broker == "alive";
  });
  const auto leader = num(c, "meta_leader");
  std::string figures = std::to_string(alive) + " of " + std::to_string(nodes.size()) + " nodes alive, __meta leader " +
                        (leader == 0 ? std::string("none") : std::to_string(leader)) + ", " +
                        std::to_string(num(c, "partitions")) + " partitions";
  if (r.problems.empty()) return "healthy: " + figures;
  return "unhealthy (" + std::to_string(r.problems.size()) + (r.problems.size() == 1 ? " problem" : " problems") +
         "): " + figures;
}

void check_readiness(const std::vector<node_readiness>& readiness, health_report& r) {
  for (const auto& n : readiness) {
    const std::string who = "node " + std::to_string(n.node_id);
    if (n.state == node_readiness::answer::not_ready) r.problems.push_back(who + " is not ready: " + n.detail);
    if (n.state == node_readiness::answer::unknown) r.notes.push_back(who + "'s readiness is unknown: " + n.detail);
  }
}

}  // namespace

std::expected<health_report, std::string> assess_cluster_health(const nlohmann::json& c,
                                                                const std::vector<node_readiness>& readiness) {
  if (!c.is_object()) return std::unexpected("expected a JSON object");
  if (const auto b = c.find("brokers"); b == c.end() || !b->is_array()) {
    return std::unexpected("expected a \"brokers\" array");
  }
  health_report r;
  const std::string formation = str(c, "formation");
  if (!formation.starts_with("member")) {
    const std::string waiting = str(c, "waiting");
    r.problems.push_back("this node is not a member of a cluster yet (" + formation.substr(0, formation.find(' ')) +
                         ")" + (waiting.empty() ? "" : ": " + waiting));
    r.summary = "unhealthy: the cluster has not formed";
    return r;
  }
  const auto nodes = collect_nodes(c);
  check_meta(c, nodes, r);
  check_nodes(nodes, r);
  check_readiness(readiness, r);
  check_partitions(c, r);
  r.healthy = r.problems.empty();
  r.summary = summary_of(c, nodes, r);
  return r;
}

std::string format_health_report(const health_report& r) {
  std::string out = r.summary + "\n";
  for (const auto& p : r.problems) out += "  problem: " + p + "\n";
  for (const auto& n : r.notes) out += "  note: " + n + "\n";
  return out;
}

nlohmann::json health_report_json(const health_report& r) {
  return {{"healthy", r.healthy}, {"summary", r.summary}, {"problems", r.problems}, {"notes", r.notes}};
}

namespace {

// GET /ready at `admin_addr` (no token: the probe is open), expecting node `id` to answer.
node_readiness ask_ready(std::uint64_t id, const std::string& admin_addr) {
  node_readiness out{id, node_readiness::answer::unknown, {}};
  const auto endpoint = parse_ipv4_endpoint(admin_addr);
  if (!endpoint) {
    out.detail = "it gossips no usable admin address (\"" + admin_addr + "\")";
    return out;
  }
  httplib::Client client(endpoint->ip, endpoint->port);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(5));
  const auto res = client.Get("/ready");
  if (!res) {
    out.detail = "its admin endpoint " + admin_addr + " cannot be reached from here";
    return out;
  }
  const auto body = nlohmann::json::parse(res->body, nullptr, false);
  if (!body.is_object() || num(body, "node_id") != id) {
    // A loopback admin address names whichever node runs on this host.
    out.detail = "its admin address " + admin_addr + " answers for another node";
    return out;
  }
  if (res->status == 200) {
    out.state = node_readiness::answer::ready;
  } else if (res->status == 503) {
    out.state = node_readiness::answer::not_ready;
    out.detail = body.value("reason", std::string("no reason given"));
  } else {
    out.detail = admin_addr + " answered /ready with HTTP " + std::to_string(res->status);
  }
  return out;
}

// Every node gossip shows alive, asked for /ready at the admin address it announces.
std::vector<node_readiness> ask_every_node(const health_command_options& opts) {
  std::vector<node_readiness> out;
  auto res = admin_request(opts.admin, opts.creds, "/v1/members");
  if (!res || res->status != 200) return out;
  const auto members = nlohmann::json::parse(res->body, nullptr, false);
  if (!members.is_array()) return out;
  for (const auto& m : members) {
    if (!m.is_object() || str(m, "state") != "alive" || str(m, "admin_addr").empty()) continue;
    out.push_back(ask_ready(num(m, "node_id"), str(m, "admin_addr")));
  }
  return out;
}

}  // namespace

int run_health_command(const health_command_options& opts) {
  auto fail = [](const std::string& line, int code) {
    std::cerr << "chronik-server: " << line << "\n";
    return code;
  };
  if (auto endpoint = parse_ipv4_endpoint(opts.admin); !endpoint) {
    return fail("--admin: \"" + opts.admin + "\": " + endpoint.error(), 2);
  }
  auto res = admin_request(opts.admin, opts.creds, "/v1/cluster");
  if (!res) return fail(res.error(), 1);
  if (res->status != 200) return fail("admin endpoint " + opts.admin + " answered HTTP " + std::to_string(res->status), 1);
  const auto doc = nlohmann::json::parse(res->body, nullptr, false);
  const bool formed = doc.is_object() && str(doc, "formation").starts_with("member");
  auto report = assess_cluster_health(doc, formed ? ask_every_node(opts) : std::vector<node_readiness>{});
  if (!report) return fail("admin endpoint " + opts.admin + ": " + report.error(), 1);
  if (opts.json) {
    std::cout << health_report_json(*report).dump(2) << "\n";
  } else {
    std::cout << format_health_report(*report);
  }
  return report->healthy ? 0 : 1;
}

}  // namespace chronik::daemon
