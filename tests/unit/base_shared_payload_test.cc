// base/shared_payload.h: copies share the bytes instead of copying them, and take() hands out a
// string to change without ever changing bytes that another copy still reads.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "base/shared_payload.h"

namespace chronik {
namespace {

TEST(SharedPayload, ACopySharesTheBytesOfTheOriginal) {
  std::string s(1 << 20, 'x');
  const char* buffer = s.data();
  const shared_payload a(std::move(s));
  const shared_payload b = a;  // NOLINT(performance-unnecessary-copy-initialization): the copy is the point
  EXPECT_EQ(a.data(), buffer) << "constructing from a string takes its buffer";
  EXPECT_EQ(b.data(), buffer) << "a copy points at the same bytes";
  EXPECT_EQ(a, b);
  EXPECT_EQ(b.size(), 1u << 20);
}

TEST(SharedPayload, TakeMovesTheBytesOutWhenNothingElseSharesThem) {
  std::string s(4096, 'y');
  const char* buffer = s.data();
  shared_payload a(std::move(s));
  std::string out = std::move(a).take();
  EXPECT_EQ(out.data(), buffer) << "the only holder gets the buffer itself";
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): take() leaves it empty, by contract
}

TEST(SharedPayload, TakeCopiesWhenAnotherHolderStillReadsTheBytes) {
  shared_payload a(std::string(4096, 'z'));
  const shared_payload reader = a;
  std::string out = std::move(a).take();
  ASSERT_NE(out.data(), reader.data());
  out[0] = 'c';
  EXPECT_EQ(reader.view(), std::string(4096, 'z')) << "the other holder's bytes never change";
}

TEST(SharedPayload, EmptyAndShortValuesBehaveAsStrings) {
  const shared_payload none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.view(), "");
  EXPECT_EQ(std::string(none.data()), "");
  const shared_payload word = "abc";
  EXPECT_EQ(word, "abc");
  EXPECT_EQ(word, std::string("abc"));
  EXPECT_EQ(word[1], 'b');
  EXPECT_EQ(word.front(), 'a');
  EXPECT_EQ(word.str(), "abc");
  EXPECT_FALSE(word == shared_payload("abd"));
}

}  // namespace
}  // namespace chronik
