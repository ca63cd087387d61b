// The transmit-limited piggyback queue (SWIM §4.1; memberlist queue.go).
#include <gtest/gtest.h>

#include "gossip/core/broadcast_queue.h"

namespace chronik::gossip {
namespace {

alive_msg alive(std::uint32_t id, std::uint64_t inc, std::size_t meta_bytes = 0) {
  return alive_msg{node_id{id}, incarnation{inc}, "u", "10.0.0.1:7946", std::string(meta_bytes, 'm')};
}

TEST(BroadcastQueue, RetiresAfterLimit) {
  broadcast_queue q;
  q.push(node_id{1}, alive(1, 0));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(q.take(1400, 3).size(), 1u);
  EXPECT_EQ(q.size(), 0u);
  EXPECT_TRUE(q.take(1400, 3).empty());
}

TEST(BroadcastQueue, NewerUpdateAboutSameMemberReplacesOlder) {
  broadcast_queue q;
  q.push(node_id{1}, alive(1, 0));
  q.push(node_id{1}, suspect_msg{node_id{1}, incarnation{0}, node_id{2}});
  auto out = q.take(1400, 5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<suspect_msg>(out[0]));
}

TEST(BroadcastQueue, LeastSentFirstAndBudgetRespected) {
  broadcast_queue q;
  q.push(node_id{1}, alive(1, 0, 600));
  (void)q.take(1400, 10);  // node 1 sent once
  q.push(node_id{2}, alive(2, 0, 600));
  q.push(node_id{3}, alive(3, 0, 600));
  // Budget fits two 600-byte updates: the two never sent go first, newest first.
  auto out = q.take(1400, 10);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<alive_msg>(out[0]).node, node_id{3});
  EXPECT_EQ(std::get<alive_msg>(out[1]).node, node_id{2});
  std::size_t total = 0;
  for (auto& m : out) total += encoded_size_bound(m);
  EXPECT_LE(total, 1400u);
  EXPECT_EQ(q.transmits(node_id{1}), 1u);
  EXPECT_EQ(q.transmits(node_id{3}), 1u);
  EXPECT_FALSE(q.transmits(node_id{9}).has_value());
}

TEST(BroadcastQueue, BoundedInSize) {
  broadcast_queue q;
  for (std::uint32_t i = 0; i < broadcast_queue::max_entries + 10; ++i) q.push(node_id{i}, alive(i, 0));
  EXPECT_EQ(q.size(), broadcast_queue::max_entries);
}

}  // namespace
}  // namespace chronik::gossip
