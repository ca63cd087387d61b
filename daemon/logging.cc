#include "daemon/logging.h"

#include <mutex>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace chronik::daemon {

namespace {

struct logging_state {
  std::mutex mu;
  spdlog::sink_ptr sink;
  std::vector<std::shared_ptr<spdlog::logger>> loggers;
  spdlog::level::level_enum level = spdlog::level::info;
  std::string pattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %-7n [node -] %v";
};

logging_state& state() {
  static logging_state s;
  return s;
}

// Caller holds state().mu.
spdlog::sink_ptr shared_sink(logging_state& s) {
  if (!s.sink) s.sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  return s.sink;
}

}  // namespace

spdlog::level::level_enum to_spdlog(log_level level) {
  switch (level) {
    case log_level::trace: return spdlog::level::trace;
    case log_level::debug: return spdlog::level::debug;
    case log_level::info: return spdlog::level::info;
    case log_level::warn: return spdlog::level::warn;
    case log_level::error: return spdlog::level::err;
    case log_level::critical: return spdlog::level::critical;
    case log_level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

void init_logging(gossip::node_id node, log_level level) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  s.level = to_spdlog(level);
  // ISO-8601 local time with milliseconds; the node id is baked into the pattern because every
  // process runs exactly one node, and grepping merged logs of a local cluster needs it.
  s.pattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %-7n [node " + std::to_string(node.value()) + "] %v";
  for (auto& logger : s.loggers) {
    logger->set_level(s.level);
    logger->set_pattern(s.pattern);
  }
}

std::shared_ptr<spdlog::logger> module_logger(const std::string& module) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  for (auto& logger : s.loggers) {
    if (logger->name() == module) return logger;
  }
  auto logger = std::make_shared<spdlog::logger>(module, shared_sink(s));
  logger->set_level(s.level);
  logger->set_pattern(s.pattern);
  // Warnings and errors are flushed at once: they are what an operator reads after a crash.
  logger->flush_on(spdlog::level::warn);
  s.loggers.push_back(logger);
  return logger;
}

chronik::log_sink make_log_sink(std::shared_ptr<spdlog::logger> logger) {
  return [logger = std::move(logger)](chronik::log_level level, std::string_view text) {
    switch (level) {
      case chronik::log_level::debug: logger->debug("{}", text); break;
      case chronik::log_level::info: logger->info("{}", text); break;
      case chronik::log_level::warn: logger->warn("{}", text); break;
      case chronik::log_level::error: logger->error("{}", text); break;
    }
  };
}

}  // namespace chronik::daemon
