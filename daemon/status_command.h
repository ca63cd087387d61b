// `chronik-server cluster status [--admin IP:PORT] [--json]`: asks a node's admin endpoint for
// /v1/cluster and prints the cluster id, the `__meta` leader, term, commit index and voters, and
// one row per registered broker; or, with --json, the /v1/cluster body itself.
#pragma once

#include <expected>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "daemon/admin_client.h"

namespace chronik::daemon {

struct status_command_options {
  std::string admin = "127.0.0.1:9644";
  admin_credentials creds;
  bool json = false;
};

// Returns the process exit code: 0 on success, 1 when the admin endpoint is unreachable or
// answers badly, 2 when --admin is not IP:PORT. Errors go to stderr as one line.
int run_status_command(const status_command_options& opts);

// The text printed without --json. Fails when `cluster` is not a /v1/cluster object.
std::expected<std::string, std::string> format_cluster_status(const nlohmann::json& cluster);

}  // namespace chronik::daemon
