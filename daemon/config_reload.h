// What a SIGHUP applies to a running node (docs/operations.md "Reloading the configuration"): the
// node re-reads its configuration the way it started (the --config file, then the command line,
// which still wins) and this decides what changes. The log level and the per-module levels
// ([log_levels]) are reloadable; every other key takes effect at the next start. A configuration that no longer loads changes nothing. Pure:
// the node (daemon/node.cc) loads the file, applies the decision and logs its line.
#pragma once

#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "daemon/config.h"

namespace chronik::daemon {

enum class reload_config_file : bool { none, given };

struct reload_decision {
  // The level and per-module levels to apply (both set together); none: keep the running ones.
  std::optional<log_level> new_level;
  std::optional<std::map<std::string, log_level, std::less<>>> new_module_levels;
  // The one log line saying what was reloaded (or why nothing was); `error` says whether it is an
  // error (a configuration that no longer loads) or information.
  std::string line;
  bool error = false;
};

// How the node loads its configuration again: load_node_config with the same file and flags.
struct config_reloader {
  reload_config_file file = reload_config_file::none;
  std::function<std::expected<node_config, std::string>()> load;
};

// `running`: the level in effect, `running_modules` the per-module levels; `reloaded`: the
// configuration loaded again, or its error line.
reload_decision decide_reload(log_level running, reload_config_file file,
                              const std::expected<node_config, std::string>& reloaded,
                              const std::map<std::string, log_level, std::less<>>& running_modules = {});

}  // namespace chronik::daemon
