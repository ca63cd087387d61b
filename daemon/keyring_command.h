// `chronik-server keyring list|install|use|remove [KEY]`, in one of two modes
// (docs/security.md "Key rotation"):
//   --admin IP:PORT [--admin-token-file F | --data-dir D]   online: the node applies the action
//       and propagates it to every live member (daemon/keyring_service.h); prints one line per
//       node, and exits 1 if any node failed;
//   --data-dir D (without --admin)                          offline: edits a stopped node's
//       keyring file (daemon/gossip_keyring_store.h).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "daemon/gossip_keyring_store.h"

namespace chronik::daemon {

struct keyring_cli_options {
  keyring_action action = keyring_action::list;
  std::string key;  // base64; not for list
  std::optional<std::string> admin;
  std::optional<std::filesystem::path> admin_token_file;
  std::optional<std::filesystem::path> data_dir;
  bool json = false;  // online: print the JSON report
};

// The exit code: 0 every node succeeded, 1 some failed (or unreachable), 2 usage.
int run_keyring_cli(const keyring_cli_options& opts);

}  // namespace chronik::daemon
