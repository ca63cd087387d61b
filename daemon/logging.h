// spdlog setup for the daemon: one logger per module ("daemon", "gossip", "admin", ...), all
// writing to one shared stderr sink so lines from different threads never interleave, each line
// prefixed with time, level, module and "[node N]" (docs/design.md "Logging").
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "base/log_sink.h"
#include "daemon/config.h"
#include "gossip/core/types.h"

namespace chronik::daemon {

spdlog::level::level_enum to_spdlog(log_level level);

// Sets the level and the "[node N]" prefix used by every module logger. Call once, before
// module_logger(); later calls re-apply the level and pattern to loggers created so far.
void init_logging(gossip::node_id node, log_level level);

// The logger for one module, created on first use with the shared sink, level and pattern.
// Thread-safe.
std::shared_ptr<spdlog::logger> module_logger(const std::string& module);

// Adapts a spdlog logger to the sink a pure core logs through (base/log_sink.h), so cores
// stay free of spdlog.
chronik::log_sink make_log_sink(std::shared_ptr<spdlog::logger> logger);

}  // namespace chronik::daemon
