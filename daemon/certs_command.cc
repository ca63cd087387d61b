#include "daemon/certs_command.h"

#include <iostream>

namespace chronik::daemon {

CLI::App* add_certs_command(CLI::App& app, certs_options& opts) {
  auto* cmd = app.add_subcommand(
      "certs", "create a development CA (DIR/ca.crt, ca.key) if missing and node certificates DIR/node-<id>.crt/.key");
  cmd->add_option("--dir", opts.dir, "directory for the CA and the node files")->required();
  cmd->add_option("--node", opts.nodes, "node id to issue a certificate for (repeatable)")
      ->check(CLI::Range(1u, 4294967295u));
  cmd->add_option("--data-dir", opts.data_dir,
                  "with one --node: bind the certificate to the node_uuid of this data directory (created if missing)");
  cmd->add_option("--days", opts.days, "validity of node certificates in days (the CA gets 4x)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 36500u));
  cmd->add_flag("--force", opts.force, "replace existing node certificates (rotation); the CA is always kept");
  return cmd;
}

int run_certs_command(const certs_options& opts) {
  auto lines = make_certs(opts);
  if (!lines) {
    std::cerr << "certs: " << lines.error() << "\n";
    return 1;
  }
  for (const auto& line : *lines) std::cout << line << "\n";
  return 0;
}

}  // namespace chronik::daemon
