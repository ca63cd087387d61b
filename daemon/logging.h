// spdlog setup for the daemon: one logger per module ("daemon", "gossip", "admin", ...), all
// writing to one shared stderr sink so lines from different threads never interleave, each line
// prefixed with time, level, module and "[node N]" (docs/design.md "Logging"), or, with
// log_format json, one JSON object per line: {"time", "level", "module", "node", "msg"}, the
// message escaped (invalid UTF-8 replaced) so every line parses. A module may log at its own level
// (`[log_levels]`).
#pragma once

#include <map>
#include <memory>
#include <string>

#include <spdlog/formatter.h>
#include <spdlog/logger.h>

#include "base/log_sink.h"
#include "daemon/config.h"
#include "gossip/core/types.h"

namespace chronik::daemon {

spdlog::level::level_enum to_spdlog(log_level level);

// Sets the level, per-module levels, format and "[node N]" used by every module logger. Call once,
// before module_logger(); later calls (SIGHUP) re-apply them to loggers created so far.
void init_logging(gossip::node_id node, log_level level, log_format format = log_format::text,
                  const std::map<std::string, log_level, std::less<>>& module_levels = {});

// The formatter every module logger gets for `format` (exposed so tests can log through it).
std::unique_ptr<spdlog::formatter> make_log_formatter(gossip::node_id node, log_format format);

// The logger for one module, created on first use with the shared sink, level and pattern.
// Thread-safe.
std::shared_ptr<spdlog::logger> module_logger(const std::string& module);

// Adapts a spdlog logger to the sink a pure core logs through (base/log_sink.h), so cores
// stay free of spdlog.
chronik::log_sink make_log_sink(std::shared_ptr<spdlog::logger> logger);

}  // namespace chronik::daemon
