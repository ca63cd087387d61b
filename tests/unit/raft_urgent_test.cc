// Messages that do not wait for the disk (docs/raft.md): heartbeats and their answers leave while
// a ready's write is still on its way to disk, but only once the term and vote they carry are
// durable; everything else still waits for the write.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/raft_test_net.h"

namespace chronik::consensus {
namespace {

using testing::nid;
using testing::raft_net;

bool all_of_type(const std::vector<message>& msgs, message_type t) {
  return !msgs.empty() && std::ranges::all_of(msgs, [t](const message& m) { return m.type == t; });
}

// The leader's append of one new entry `data` to `to`, right after what `to` holds.
message append_of(raft_net& net, std::uint64_t from, std::uint64_t to, const std::string& data) {
  const term_id term = net.node(from).term();
  message append{message_type::append, nid(from), nid(to), term};
  append.index = net.node(to).log().last_index();
  append.log_term = net.node(to).log().last_term();
  append.entries.push_back(entry{term, append.index.next(), entry_type::normal, data});
  return append;
}

TEST(raft_urgent, a_leader_heartbeats_while_its_write_is_in_flight) {
  raft_net net(3);
  net.elect(1);
  raft& leader = net.node(1);
  ASSERT_EQ(leader.state(), role::leader);
  ASSERT_TRUE(leader.propose("x").has_value());
  ready rd = leader.get_ready();  // the write of "x" starts; advance() waits for its fsync
  ASSERT_FALSE(rd.entries.empty());
  for (std::uint32_t i = 0; i < testing::test_config().heartbeat_ticks; ++i) leader.tick();
  ASSERT_TRUE(leader.has_urgent());
  const auto urgent = leader.take_urgent();
  EXPECT_TRUE(all_of_type(urgent, message_type::heartbeat));
  EXPECT_EQ(urgent.size(), 2u);
  EXPECT_FALSE(leader.has_urgent());
  // The entries' own appends still leave with the ready, after the write.
  EXPECT_TRUE(std::ranges::any_of(rd.messages, [](const message& m) { return m.type == message_type::append; }));
}

TEST(raft_urgent, a_follower_answers_heartbeats_while_its_write_is_in_flight) {
  raft_net net(3);
  net.elect(1);
  raft& follower = net.node(2);
  follower.step(append_of(net, 1, 2, "y"));
  ready rd = follower.get_ready();  // "y" on its way to disk
  ASSERT_EQ(rd.entries.size(), 1u);
  message hb{message_type::heartbeat, nid(1), nid(2), net.node(1).term()};
  follower.step(hb);
  const auto urgent = follower.take_urgent();
  EXPECT_TRUE(all_of_type(urgent, message_type::heartbeat_response));
  // The append's answer acknowledges "y": it waits for the write.
  EXPECT_TRUE(std::ranges::any_of(rd.messages, [](const message& m) { return m.type == message_type::append_response; }));
}

TEST(raft_urgent, a_term_not_yet_durable_holds_the_answer) {
  raft_net net(3);
  net.elect(1);
  raft& follower = net.node(3);
  // A heartbeat of a newer term: the follower adopts it, and its answer must wait until that
  // term is durable (a ready), not leave early.
  message hb{message_type::heartbeat, nid(2), nid(3), term_id{net.node(1).term().value + 5}};
  follower.step(hb);
  EXPECT_FALSE(follower.has_urgent());
  ready rd = follower.get_ready();
  ASSERT_TRUE(rd.hard_state_update.has_value());
  EXPECT_TRUE(all_of_type(rd.messages, message_type::heartbeat_response));
}

// Dissertation §10.2.1: the leader writes its log in parallel with sending it. Its appends head
// the ready and are counted in early_messages; it counts itself in a commit quorum only once its
// write is durable, so followers alone (a majority without it) may commit the entry.
TEST(raft_urgent, a_leaders_appends_may_leave_before_its_own_write) {
  raft_net net(3);
  net.elect(1);
  raft& leader = net.node(1);
  ASSERT_TRUE(leader.propose("x").has_value());
  ready rd = leader.get_ready();
  ASSERT_EQ(rd.entries.size(), 1u);
  ASSERT_EQ(rd.early_messages, 2u);
  for (std::size_t i = 0; i < rd.early_messages; ++i) {
    EXPECT_EQ(rd.messages[i].type, message_type::append);
    ASSERT_EQ(rd.messages[i].entries.size(), 1u);
    EXPECT_EQ(rd.messages[i].entries[0].data, "x");
  }
  const log_index x = rd.entries[0].index;
  // Both followers acknowledge before the leader's write is done: a majority holds "x".
  for (std::uint32_t f : {2u, 3u}) {
    message ack{message_type::append_response, nid(f), nid(1), leader.term()};
    ack.index = x;
    leader.step(ack);
  }
  EXPECT_EQ(leader.status().commit, x);
  EXPECT_EQ(leader.status().match.at(nid(1)), x.prev()) << "the leader counts itself only once durable";
}

TEST(raft_urgent, answers_and_votes_are_never_early) {
  raft_net net(3);
  net.elect(1);
  raft& follower = net.node(2);
  follower.step(append_of(net, 1, 2, "y"));
  ready rd = follower.get_ready();
  EXPECT_EQ(rd.early_messages, 0u);
  EXPECT_TRUE(all_of_type(rd.messages, message_type::append_response));
  // A candidate's vote requests rely on its new term and vote: nothing leaves before they are durable.
  raft_config cfg = testing::test_config();
  cfg.pre_vote = false;  // a real election at once: the term moves in this ready
  raft_net other(3, cfg);
  raft& candidate = other.node(3);
  candidate.campaign();
  ready vote = candidate.get_ready();
  ASSERT_TRUE(vote.hard_state_update.has_value());
  EXPECT_EQ(vote.early_messages, 0u);
  EXPECT_FALSE(vote.messages.empty());
}

TEST(raft_urgent, urgent_messages_not_taken_leave_with_the_next_ready) {
  raft_net net(3);
  net.elect(1);
  raft& leader = net.node(1);
  for (std::uint32_t i = 0; i < testing::test_config().heartbeat_ticks; ++i) leader.tick();
  ASSERT_TRUE(leader.has_urgent());
  ASSERT_TRUE(leader.has_ready());
  ready rd = leader.get_ready();
  EXPECT_TRUE(all_of_type(rd.messages, message_type::heartbeat));
  EXPECT_FALSE(leader.has_urgent());
}

}  // namespace
}  // namespace chronik::consensus
