// The daemon's log lines (daemon/logging.h): with log_format json every line is one JSON object
// that parses, whatever bytes the message carries; text lines keep their "[node N]" prefix.
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include "daemon/logging.h"

namespace chronik::daemon {
namespace {

std::string log_one(log_format format, const std::string& message) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("raft", sink);
  logger.set_formatter(make_log_formatter(gossip::node_id{3}, format));
  logger.warn("{}", message);
  logger.flush();
  return out.str();
}

TEST(Logging, JsonLinesParseWhateverTheMessageHolds) {
  const std::string hostile = "quote \" backslash \\ newline \n tab \t control \x01 invalid \xff\xfe utf-8 é";
  const std::string line = log_one(log_format::json, hostile);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line per message: " << line;
  const auto doc = nlohmann::json::parse(line, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << line;
  EXPECT_EQ(doc["level"], "warning");
  EXPECT_EQ(doc["module"], "raft");
  EXPECT_EQ(doc["node"], 3);
  EXPECT_EQ(doc["time"].get<std::string>().size(), std::string("2026-12-06T18:00:00.000").size());
  const std::string msg = doc["msg"];
  EXPECT_NE(msg.find("quote \" backslash \\ newline \n tab"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\xef\xbf\xbd"), std::string::npos) << "invalid UTF-8 is replaced: " << msg;
  EXPECT_NE(msg.find("é"), std::string::npos);
}

TEST(Logging, TextLinesNameTheNode) {
  const std::string line = log_one(log_format::text, "hello");
  EXPECT_NE(line.find("raft"), std::string::npos) << line;
  EXPECT_NE(line.find("[node 3] hello"), std::string::npos) << line;
}

}  // namespace
}  // namespace chronik::daemon
