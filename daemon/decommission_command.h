// `chronik-server node decommission` (docs/operations.md "Decommissioning a node"), the client of
// the admin endpoint's decommission routes (daemon/decommission_service.h):
//   node decommission N [--admin IP:PORT] [--timeout-s S]   starts taking node N out of the cluster
//     through any node's admin port, prints its progress as it changes (partitions left, moving,
//     stuck, its `__meta` membership), and returns once `__meta` records it done and it is out of
//     the `__meta` configuration (exit 0), or after
//     S seconds with one line saying what is left (exit 1; the decommission goes on);
//   node decommission N --cancel                            stops one still moving (the replicas
//     already moved stay where they went).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include "daemon/admin_client.h"

namespace chronik::daemon {

struct decommission_command_options {
  std::optional<std::uint64_t> node;
  bool cancel = false;
  std::string admin = "127.0.0.1:9644";
  admin_credentials creds;
  std::int64_t timeout_s = 1800;
  bool quiet = false;  // no progress lines, only the outcome
};

// One answer of GET /v1/nodes/<id>/decommission, checked.
struct decommission_report {
  std::string state;  // none, moving, done
  std::uint64_t partitions_left = 0;
  std::uint64_t moving = 0;
  std::uint64_t stuck = 0;
  std::uint64_t leaderships = 0;
  std::string meta_member;  // voter, learner, none
  bool operator==(const decommission_report&) const = default;
};
std::expected<decommission_report, std::string> parse_decommission_report(const nlohmann::json& body);
// "node 2: 5 partitions left (2 moving, 1 stuck: no broker can take them), leads 1, __meta voter"
std::string describe_decommission(std::uint64_t node, const decommission_report& r);

// Adds `decommission` under the `node` command; returns it (parsed() tells whether it ran).
CLI::App* add_decommission_command(CLI::App& node, decommission_command_options& opts);

// Returns the process exit code: 0 done, 1 timed out, refused or unreachable, 2 bad options.
int run_decommission_command(const decommission_command_options& opts);

}  // namespace chronik::daemon
