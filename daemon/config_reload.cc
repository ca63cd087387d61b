#include "daemon/config_reload.h"

namespace chronik::daemon {

reload_decision decide_reload(log_level running, reload_config_file file,
                              const std::expected<node_config, std::string>& reloaded) {
  reload_decision d;
  const std::string source = file == reload_config_file::given ? "the --config file" : "the command line (no --config file)";
  if (!reloaded) {
    d.error = true;
    d.line = "SIGHUP: " + source + " no longer loads, nothing changed: " + reloaded.error();
    return d;
  }
  if (reloaded->level == running) {
    d.line = "SIGHUP: reloaded " + source + ": nothing reloadable changed (log level " +
             std::string(to_string(running)) + "; other keys take effect at the next start)";
    return d;
  }
  d.new_level = reloaded->level;
  d.line = "SIGHUP: reloaded " + source + ": log level: " + std::string(to_string(running)) + " -> " +
           std::string(to_string(reloaded->level));
  return d;
}

}  // namespace chronik::daemon
