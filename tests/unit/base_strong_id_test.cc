// base/strong_id.h and base/node_id.h: ids of different kinds do not mix, compare and hash by
// value, and node ids cross the 64-bit and Kafka int32 edges only through checked conversions.
#include "base/node_id.h"
#include "base/strong_id.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <set>
#include <type_traits>
#include <unordered_set>

namespace chronik {
namespace {

using apple_id = strong_id<struct apple_tag, std::uint64_t>;
using pear_id = strong_id<struct pear_tag, std::uint64_t>;

// The point of the type: no implicit way in, no way across kinds.
static_assert(!std::is_convertible_v<std::uint64_t, apple_id>);
static_assert(std::is_constructible_v<apple_id, std::uint64_t>);
static_assert(!std::is_convertible_v<apple_id, pear_id>);
static_assert(!std::is_constructible_v<pear_id, apple_id>);
static_assert(!std::is_convertible_v<apple_id, std::uint64_t>);
static_assert(std::is_trivially_copyable_v<apple_id> && sizeof(apple_id) == sizeof(std::uint64_t));

TEST(base_strong_id, value_compare_and_default) {
  constexpr apple_id a{3}, b{5};
  static_assert(a.value() == 3);
  EXPECT_EQ(apple_id{}.value(), 0u);
  EXPECT_EQ(a, apple_id{3});
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);
  EXPECT_GE(b, a);
  std::set<apple_id> ordered{b, a, apple_id{4}};
  EXPECT_EQ(ordered.begin()->value(), 3u);
}

TEST(base_strong_id, hashes_by_value) {
  std::unordered_set<apple_id> s{apple_id{1}, apple_id{2}, apple_id{1}};
  EXPECT_EQ(s.size(), 2u);
  EXPECT_TRUE(s.contains(apple_id{2}));
  EXPECT_EQ(std::hash<apple_id>{}(apple_id{9}), std::hash<std::uint64_t>{}(9));
}

TEST(base_node_id, none_is_zero) {
  EXPECT_EQ(no_node, node_id{0});
  EXPECT_NE(node_id{1}, no_node);
}

TEST(base_node_id, wide_values_that_do_not_fit_are_refused) {
  EXPECT_EQ(node_id_from_u64(7), node_id{7});
  EXPECT_EQ(node_id_from_u64(std::numeric_limits<std::uint32_t>::max()),
            node_id{std::numeric_limits<std::uint32_t>::max()});
  EXPECT_EQ(node_id_from_u64(std::uint64_t{1} << 32), std::nullopt);  // not truncated to node 0
  EXPECT_EQ(node_id_from_u64((std::uint64_t{1} << 32) + 3), std::nullopt);  // nor to node 3
}

TEST(base_node_id, kafka_broker_id_edge) {
  EXPECT_EQ(kafka_broker_id(node_id{12}), 12);
  EXPECT_EQ(kafka_broker_id(node_id{0x7fffffff}), 0x7fffffff);
  EXPECT_EQ(kafka_broker_id(node_id{0x80000000u}), std::nullopt);  // Kafka cannot name it
  EXPECT_EQ(node_id_from_kafka(12), node_id{12});
  EXPECT_EQ(node_id_from_kafka(-1), no_node);
}

}  // namespace
}  // namespace chronik
