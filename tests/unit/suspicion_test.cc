// Suspicion arithmetic (Lifeguard §4.2; memberlist suspicion.go and state.go suspicionTimeout).
#include <gtest/gtest.h>

#include "gossip/core/suspicion.h"

namespace chronik::gossip {
namespace {

TEST(Suspicion, MinimumScalesWithLog10OfClusterSize) {
  // mult 4, probe 100 ticks: below 10 members the scale is 1.
  EXPECT_EQ(suspicion_min_ticks(4, 1, 100), 400u);
  EXPECT_EQ(suspicion_min_ticks(4, 8, 100), 400u);
  EXPECT_EQ(suspicion_min_ticks(4, 10, 100), 400u);
  EXPECT_EQ(suspicion_min_ticks(4, 100, 100), 800u);
  EXPECT_EQ(suspicion_min_ticks(4, 1000, 100), 1200u);
  EXPECT_EQ(suspicion_min_ticks(4, 0, 100), 400u);  // empty view still waits the minimum
}

TEST(Suspicion, MinimumTruncatesAsMemberlistDoes) {
  // memberlist: 4 * trunc(log10(n) * 1000) * 1 s / 1000 = 6.020 s at n = 32 and 4.816 s at n = 16.
  // In 10 ms ticks that is 602 and 481 (never a tick more than memberlist waits).
  EXPECT_EQ(suspicion_min_ticks(4, 32, 100), 602u);
  EXPECT_EQ(suspicion_min_ticks(4, 16, 100), 481u);
  EXPECT_EQ(suspicion_min_ticks(3, 32, 40), 180u);  // local preset: 3 * 1.505 * 40 = 180.6
  EXPECT_EQ(suspicion_min_ticks(4, 10000, 100), 1600u);
}

TEST(Suspicion, TimeoutShrinksLogarithmicallyWithConfirmations) {
  // k = 3, min 1000, max 6000: max - 5000 * log(c+1)/log(4).
  EXPECT_EQ(suspicion_timeout_ticks(3, 0, 1000, 6000), 6000u);
  EXPECT_EQ(suspicion_timeout_ticks(3, 1, 1000, 6000), 3500u);  // 6000 - 5000 * 0.5
  EXPECT_EQ(suspicion_timeout_ticks(3, 2, 1000, 6000), 2037u);  // 6000 - 5000 * 0.7925
  EXPECT_EQ(suspicion_timeout_ticks(3, 3, 1000, 6000), 1000u);
  EXPECT_EQ(suspicion_timeout_ticks(3, 10, 1000, 6000), 1000u);  // never below min
}

TEST(Suspicion, NoExpectedConfirmationsMeansMinimum) {
  EXPECT_EQ(suspicion_timeout_ticks(0, 0, 1000, 6000), 1000u);
  EXPECT_EQ(suspicion_timeout_ticks(2, 0, 1000, 1000), 1000u);
}

TEST(Suspicion, OnlyIndependentAccusersCount) {
  suspicion s(node_id{1}, 100, 2, 1000, 6000);
  EXPECT_EQ(s.deadline(), 100u + 6000u);
  EXPECT_FALSE(s.confirm(node_id{1}));  // the first accuser again
  EXPECT_TRUE(s.confirm(node_id{2}));
  EXPECT_FALSE(s.confirm(node_id{2}));  // a repeat
  EXPECT_EQ(s.confirmations(), 1u);
  EXPECT_EQ(s.deadline(), 100u + suspicion_timeout_ticks(2, 1, 1000, 6000));
  EXPECT_TRUE(s.confirm(node_id{3}));
  EXPECT_EQ(s.deadline(), 100u + 1000u);
  EXPECT_FALSE(s.confirm(node_id{4}));  // k reached: nothing more to shorten
}

}  // namespace
}  // namespace chronik::gossip
