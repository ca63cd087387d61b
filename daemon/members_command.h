// `chronik-server cluster members [--admin IP:PORT] [--json]`: asks a node's admin endpoint for
// its member list and prints it as a table or as JSON.
#pragma once

#include <expected>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "daemon/admin_client.h"

namespace chronik::daemon {

struct members_command_options {
  std::string admin = "127.0.0.1:9644";
  admin_credentials creds;
  bool json = false;
};

// Returns the process exit code: 0 on success, 1 when the admin endpoint is unreachable or
// answers badly, 2 when --admin is not IP:PORT. Errors go to stderr as one line.
int run_members_command(const members_command_options& opts);

// The aligned table printed without --json: NODE, ADDRESS, STATE, INCARNATION, LAST CHANGE.
// Fails when `members` is not an array of objects.
std::expected<std::string, std::string> format_members_table(const nlohmann::json& members);

}  // namespace chronik::daemon
