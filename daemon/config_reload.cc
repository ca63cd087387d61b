#include "daemon/config_reload.h"

namespace chronik::daemon {

namespace {

// "raft=debug gossip=warn", or "none".
std::string describe(const std::map<std::string, log_level, std::less<>>& modules) {
  std::string out;
  for (const auto& [module, level] : modules) out += (out.empty() ? "" : " ") + module + "=" + std::string(to_string(level));
  return out.empty() ? "none" : out;
}

}  // namespace

reload_decision decide_reload(log_level running, reload_config_file file,
                              const std::expected<node_config, std::string>& reloaded,
                              const std::map<std::string, log_level, std::less<>>& running_modules) {
  reload_decision d;
  const std::string source = file == reload_config_file::given ? "the --config file" : "the command line (no --config file)";
  if (!reloaded) {
    d.error = true;
    d.line = "SIGHUP: " + source + " no longer loads, nothing changed: " + reloaded.error();
    return d;
  }
  const bool modules_changed = reloaded->module_levels != running_modules;
  if (reloaded->level == running && !modules_changed) {
    d.line = "SIGHUP: reloaded " + source + ": nothing reloadable changed (log level " +
             std::string(to_string(running)) + "; other keys take effect at the next start)";
    return d;
  }
  d.new_level = reloaded->level;
  d.new_module_levels = reloaded->module_levels;
  d.line = "SIGHUP: reloaded " + source + ":";
  if (reloaded->level != running)
    d.line += " log level: " + std::string(to_string(running)) + " -> " + std::string(to_string(reloaded->level));
  if (modules_changed)
    d.line += std::string(reloaded->level != running ? ";" : "") + " log_levels: " + describe(running_modules) + " -> " +
              describe(reloaded->module_levels);
  return d;
}

}  // namespace chronik::daemon
