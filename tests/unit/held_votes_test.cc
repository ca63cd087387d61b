// The holding area for vote requests to groups not running yet (consensus/groups/held_votes.h):
// newest request per group and sender, a bound on how many, and an age limit in host ticks.
#include <gtest/gtest.h>

#include "consensus/groups/held_votes.h"

namespace chronik::consensus {
namespace {

message request(std::uint32_t from, std::uint64_t term, message_type type = message_type::pre_vote) {
  message m;
  m.type = type;
  m.from = node_id{from};
  m.to = node_id{1};
  m.term = term_id{term};
  return m;
}

TEST(held_votes, only_vote_requests_are_held) {
  EXPECT_TRUE(held_votes::holds(message_type::pre_vote));
  EXPECT_TRUE(held_votes::holds(message_type::vote));
  for (auto t : {message_type::pre_vote_response, message_type::vote_response, message_type::append,
                 message_type::append_response, message_type::heartbeat})
    EXPECT_FALSE(held_votes::holds(t)) << to_string(t);
}

TEST(held_votes, the_newest_request_per_sender_is_taken_for_its_group_only) {
  held_votes h;
  ASSERT_TRUE(h.hold(group_id{7}, request(3, 2), 0));
  ASSERT_TRUE(h.hold(group_id{7}, request(2, 2), 0));
  ASSERT_TRUE(h.hold(group_id{7}, request(3, 3, message_type::vote), 1));  // supersedes 3's pre-vote
  ASSERT_TRUE(h.hold(group_id{8}, request(2, 5), 1));
  EXPECT_EQ(h.size(), 3u);
  const auto taken = h.take(group_id{7});
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].from, node_id{2});
  EXPECT_EQ(taken[1].from, node_id{3});
  EXPECT_EQ(taken[1].type, message_type::vote);
  EXPECT_EQ(taken[1].term, term_id{3});
  EXPECT_TRUE(h.take(group_id{7}).empty());
  EXPECT_EQ(h.size(), 1u);
}

TEST(held_votes, requests_expire_after_hold_ticks) {
  held_votes h;
  ASSERT_TRUE(h.hold(group_id{7}, request(2, 2), 5));
  ASSERT_TRUE(h.hold(group_id{8}, request(2, 2), 6));
  h.expire(5 + held_votes::hold_ticks - 1);
  EXPECT_EQ(h.size(), 2u);
  h.expire(5 + held_votes::hold_ticks);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_TRUE(h.take(group_id{7}).empty());
  EXPECT_EQ(h.take(group_id{8}).size(), 1u);
}

// A peer asking for groups that never come costs bounded memory: past max_held, new requests are
// refused (the caller drops them), while a held one may still be superseded.
TEST(held_votes, at_most_max_held_are_held) {
  held_votes h;
  for (std::uint64_t g = 0; g < held_votes::max_held; ++g) ASSERT_TRUE(h.hold(group_id{g}, request(2, 2), 0));
  EXPECT_FALSE(h.hold(group_id{held_votes::max_held}, request(2, 2), 0));
  EXPECT_TRUE(h.hold(group_id{0}, request(2, 3), 0));
  EXPECT_EQ(h.size(), held_votes::max_held);
}

}  // namespace
}  // namespace chronik::consensus
