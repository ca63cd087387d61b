// base/assert.h: a passing check does nothing; a failing one prints one line naming the kind of
// contract, the rule and the condition, then aborts, whatever the build type.
#include "base/assert.h"

#include <gtest/gtest.h>

namespace chronik {
namespace {

int checked_half(int even) {
  CHRONIK_EXPECTS(even % 2 == 0, "the argument is even");
  const int half = even / 2;
  CHRONIK_ENSURES(half * 2 == even, "halving is exact");
  return half;
}

TEST(base_assert, passing_checks_do_nothing) {
  EXPECT_EQ(checked_half(8), 4);
  CHRONIK_ASSERT(1 + 1 == 2, "arithmetic works");
}

TEST(base_assert, each_kind_prints_one_line_and_aborts) {
  // The regexes pin file:line, the kind, the rule in words and the condition text, in that order.
  EXPECT_DEATH(CHRONIK_ASSERT(1 > 2, "one exceeds two"),
               R"(base_assert_test\.cc:[0-9]+: invariant broken: one exceeds two \(1 > 2\))");
  EXPECT_DEATH(checked_half(3), R"(base_assert_test\.cc:[0-9]+: precondition broken: the argument is even \(even % 2 == 0\))");
  EXPECT_DEATH(CHRONIK_ENSURES(false, "a promise"), R"(postcondition broken: a promise \(false\))");
}

TEST(base_assert, the_condition_is_evaluated_once) {
  int calls = 0;
  CHRONIK_ASSERT(++calls == 1, "counted once");
  EXPECT_EQ(calls, 1);
}

TEST(base_assert, usable_as_a_single_statement) {
  // The do/while form keeps an unbraced if/else meaning what it says.
  bool took_else = false;
  if (false)
    CHRONIK_ASSERT(false, "never reached");
  else
    took_else = true;
  EXPECT_TRUE(took_else);
}

}  // namespace
}  // namespace chronik
