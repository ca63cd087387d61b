// `chronik-server node drain|undrain` (docs/operations.md "Maintenance: drain"), the client of the
// admin endpoint's drain routes (daemon/drain_service.h):
//   node drain N [--admin IP:PORT] [--timeout-s S]   drains node N through any node's admin port,
//     prints the leaderships left on N as they go, and returns once N leads nothing (exit 0), or
//     after S seconds with one line naming what N still leads (exit 1; N stays drained);
//   node drain --self --config FILE                 the same for the node FILE configures, through
//     its own admin endpoint and token (for a service manager's stop command);
//   node undrain N | --self --config FILE           lets N lead again; returns once `__meta` shows it.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include "daemon/admin_client.h"

namespace chronik::daemon {

enum class drain_action : std::uint8_t { drain, undrain };

struct drain_command_options {
  std::optional<std::uint64_t> node;  // the node id to drain; or --self
  bool self = false;
  std::optional<std::filesystem::path> config_file;  // with --self: the node's TOML config
  std::string admin = "127.0.0.1:9644";
  admin_credentials creds;
  std::int64_t timeout_s = 300;
  bool quiet = false;  // no progress lines, only the outcome
};

// One answer of GET /v1/nodes/<id>/drain, checked.
struct drain_progress {
  bool drained = false;
  std::uint64_t partitions_led = 0;
  bool meta_leader = false;
  std::string partitions;  // "a-0, b-3" (as many as the node named), or empty
  std::uint64_t leaderships() const { return partitions_led + (meta_leader ? 1 : 0); }
};
std::expected<drain_progress, std::string> parse_drain_progress(const nlohmann::json& body);
// "3 leaderships left on node 2: 2 partitions (a-0, b-3) and __meta"
std::string describe_drain_progress(std::uint64_t node, const drain_progress& p);

// Adds `node drain|undrain` to the command line; `action` tells which one parsed. Returns `node`.
CLI::App* add_node_command(CLI::App& app, drain_command_options& opts, drain_action& action);

// Returns the process exit code: 0 done, 1 timed out, refused or unreachable, 2 bad options.
int run_drain_command(const drain_command_options& opts, drain_action action);

}  // namespace chronik::daemon
