// base/log_sink.h: a core hands its lines and levels to whatever the shell plugged in.
#include "base/log_sink.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace chronik {
namespace {

// What a core does: check the sink is set, then call it.
void emit(const log_sink& sink, log_level level, std::string_view text) {
  if (sink) sink(level, text);
}

TEST(base_log_sink, lines_reach_the_sink_with_their_level) {
  std::vector<std::pair<log_level, std::string>> got;
  const log_sink sink = [&](log_level l, std::string_view t) { got.emplace_back(l, std::string(t)); };
  emit(sink, log_level::warn, "suspect 3");
  emit(sink, log_level::debug, "tick");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(log_level::warn, std::string("suspect 3")));
  EXPECT_EQ(got[1].first, log_level::debug);
}

TEST(base_log_sink, an_empty_sink_is_allowed) {
  const log_sink none;
  EXPECT_FALSE(static_cast<bool>(none));
  emit(none, log_level::error, "dropped");
}

TEST(base_log_sink, levels_are_ordered_by_severity) {
  EXPECT_LT(log_level::debug, log_level::info);
  EXPECT_LT(log_level::info, log_level::warn);
  EXPECT_LT(log_level::warn, log_level::error);
}

}  // namespace
}  // namespace chronik
