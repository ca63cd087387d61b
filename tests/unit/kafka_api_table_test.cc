// docs/kafka-apis.md lists every Kafka API key with the versions chronik serves. This keeps that
// column true: it must name exactly the handlers the dispatcher has (kafka/handlers/dispatcher.cc),
// with their versions, since ApiVersions advertises those and users read the table to know what
// their client can do.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <string>

#include "kafka/handlers/handler.h"

namespace chronik::kafka {
namespace {

std::string range_text(version_range v) {
  return v.min == v.max ? std::to_string(v.min) : std::to_string(v.min) + "-" + std::to_string(v.max);
}

TEST(KafkaApiTable, TheChronikColumnIsExactlyTheDispatchersHandlers) {
  std::ifstream in(std::string(CHRONIK_SOURCE_DIR) + "/docs/kafka-apis.md");
  ASSERT_TRUE(in) << "docs/kafka-apis.md is missing";
  // | key | API | chronik | ...
  const std::regex row(R"(^\| (\d+) \| ([^|]+?) \| ([^|]+?) \|.*)");
  std::map<int, std::string> documented;
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, row) && m[3] != "—") documented[std::stoi(m[1])] = m[3];
  }
  std::map<int, std::string> served;
  for (const api_handler& h : all_handlers()) served[static_cast<int>(h.key)] = range_text(h.versions);
  EXPECT_EQ(documented, served);
}

}  // namespace
}  // namespace chronik::kafka
