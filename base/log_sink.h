// How a pure core logs without a logging library (docs/design.md "Logging"): the shell passes a
// sink, the core calls it with a level and a line. The daemon adapts it to spdlog
// (daemon/logging.h); tests collect the lines or drop them. An empty sink is allowed: cores check
// it before formatting.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace chronik {

enum class log_level : std::uint8_t { debug, info, warn, error };

using log_sink = std::function<void(log_level, std::string_view)>;

}  // namespace chronik
