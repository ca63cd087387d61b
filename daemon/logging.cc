#include "daemon/logging.h"

#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace chronik::daemon {

namespace {

struct logging_state {
  std::mutex mu;
  spdlog::sink_ptr sink;
  std::vector<std::shared_ptr<spdlog::logger>> loggers;
  spdlog::level::level_enum level = spdlog::level::info;
  std::map<std::string, log_level, std::less<>> module_levels;
  log_format format = log_format::text;
  gossip::node_id node{0};
};

// A JSON string literal: quoted, escaped, invalid UTF-8 replaced by U+FFFD (a log line must parse
// whatever bytes a message carries).
std::string json_string(std::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// %* in the json pattern: the message as a JSON string literal.
class json_message_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string quoted = json_string(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<json_message_flag>(); }
};

// Caller holds state().mu.
void apply_format(const logging_state& s, spdlog::logger& logger) {
  const auto module = s.module_levels.find(logger.name());
  logger.set_level(module == s.module_levels.end() ? s.level : to_spdlog(module->second));
  logger.set_formatter(make_log_formatter(s.node, s.format));
}

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

void init_logging(gossip::node_id node, log_level level, log_format format,
                  const std::map<std::string, log_level, std::less<>>& module_levels) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  s.level = to_spdlog(level);
  s.module_levels = module_levels;
  s.format = format;
  s.node = node;
  for (auto& logger : s.loggers) apply_format(s, *logger);
}

std::unique_ptr<spdlog::formatter> make_log_formatter(gossip::node_id node, log_format format) {
  const std::string id = node.value() == 0 ? "-" : std::to_string(node.value());
  // ISO-8601 local time with milliseconds; the node id is baked into the pattern because every
  // process runs exactly one node, and grepping merged logs of a local cluster needs it.
  const std::string pattern =
      format == log_format::json
          ? R"({"time":"%Y-%m-%dT%H:%M:%S.%e","level":"%l","module":"%n","node":)" + (node.value() == 0 ? std::string("null") : id) +
                R"(,"msg":%*})"
          : "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %-7n [node " + id + "] %v";
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<json_message_flag>('*').set_pattern(pattern);
  return formatter;
}

std::shared_ptr<spdlog::logger> module_logger(const std::string& module) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  for (auto& logger : s.loggers) {
    if (logger->name() == module) return logger;
  }
  auto logger = std::make_shared<spdlog::logger>(module, shared_sink(s));
  apply_format(s, *logger);
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
