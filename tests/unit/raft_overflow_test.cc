// Terms and log indexes never wrap (docs/raft.md "Values that cannot wrap"): a message carrying a
// value past max_term or max_log_index is dropped whole and counted, nothing of it is persisted,
// and the group keeps electing leaders. Before these checks one heartbeat at term 2^64 - 1 left a
// group leaderless for good: the follower adopted and persisted that term, and every later
// election needed term + 1, which wrapped to 0.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "tests/unit/raft_test_net.h"

namespace chronik::consensus::testing {
namespace {

constexpr std::uint64_t top = std::numeric_limits<std::uint64_t>::max();

message msg(message_type type, std::uint64_t from, std::uint64_t to, std::uint64_t term) {
  return message{type, nid(from), nid(to), term_id{term}};
}

// Steps `m` into node `id` and checks that it was dropped: counted, and no trace of it in the
// core's term, its hard state or anything it wants to persist or send.
void expect_dropped(raft_net& net, std::uint64_t id, const message& m) {
  raft& r = net.node(id);
  ASSERT_FALSE(r.has_ready());
  const raft_status before = r.status();
  r.step(m);
  const raft_status after = r.status();
  EXPECT_EQ(after.dropped_out_of_range, before.dropped_out_of_range + 1) << to_string(m.type);
  EXPECT_EQ(after.term, before.term) << to_string(m.type);
  EXPECT_EQ(after.vote, before.vote) << to_string(m.type);
  EXPECT_EQ(after.commit, before.commit) << to_string(m.type);
  EXPECT_EQ(after.last_index, before.last_index) << to_string(m.type);
  EXPECT_EQ(after.state, before.state) << to_string(m.type);
  EXPECT_FALSE(r.has_ready()) << to_string(m.type) << " left a ready behind";
}

// Every message type at term 2^64 - 1, into a follower and into the leader.
TEST(RaftOverflow, TermPastTheCeilingIsDroppedByEveryRole) {
  raft_net net(3);
  net.elect(1);
  ASSERT_EQ(net.node(1).state(), role::leader);
  const term_id term = net.node(2).term();
  const hard_state stored = net.disk(2).persisted_hard_state();
  for (int t = 0; t <= static_cast<int>(message_type::propose); ++t) {
    const auto type = static_cast<message_type>(t);
    expect_dropped(net, 2, msg(type, 1, 2, top));
    expect_dropped(net, 2, msg(type, 3, 2, max_term + 1));
    expect_dropped(net, 1, msg(type, 2, 1, top));
  }
  EXPECT_EQ(net.node(2).term(), term);
  EXPECT_EQ(net.disk(2).persisted_hard_state(), stored);
  EXPECT_EQ(net.node(2).status().dropped_out_of_range, 2u * (static_cast<int>(message_type::propose) + 1));
}

// Fields the core does arithmetic on, each past its ceiling in a message of the current term.
TEST(RaftOverflow, IndexesAndTermsInsideAMessageAreChecked) {
  raft_net net(3);
  net.elect(1);
  const std::uint64_t term = net.node(1).term().value;
  const log_index last = net.node(2).log().last_index();

  message append = msg(message_type::append, 1, 2, term);
  append.index = last;
  append.log_term = term_id{term};
  std::vector<message> bad;
  {
    message m = append;  // prev index + 1 wraps
    m.index = log_index{top};
    bad.push_back(m);
  }
  {
    message m = append;
    m.commit = log_index{top};
    bad.push_back(m);
  }
  {
    message m = append;
    m.log_term = term_id{top};
    bad.push_back(m);
  }
  {
    message m = append;  // index + entry count passes the ceiling
    m.index = log_index{max_log_index - 1};
    m.entries = {entry{term_id{term}, log_index{max_log_index}, entry_type::normal, "a"},
                 entry{term_id{term}, log_index{max_log_index + 1}, entry_type::normal, "b"}};
    bad.push_back(m);
  }
  {
    message m = append;  // entries that do not follow the prev index one by one
    m.entries = {entry{term_id{term}, log_index{last.value + 2}, entry_type::normal, "x"}};
    bad.push_back(m);
  }
  {
    message m = append;
    m.entries = {entry{term_id{top}, last.next(), entry_type::normal, "x"}};
    bad.push_back(m);
  }
  {
    message m = msg(message_type::snapshot_chunk, 1, 2, term);  // restore() sets offset to index + 1
    m.snap_meta.index = log_index{top};
    m.snap_meta.term = term_id{term};
    m.snap_done = true;
    bad.push_back(m);
  }
  {
    message m = msg(message_type::snapshot_chunk, 1, 2, term);
    m.snap_meta.index = last.next();
    m.snap_meta.term = term_id{top};
    bad.push_back(m);
  }
  {
    message m = msg(message_type::heartbeat, 1, 2, term);
    m.commit = log_index{top};
    bad.push_back(m);
  }
  for (const auto& m : bad) expect_dropped(net, 2, m);

  // The leader's side: an ack at 2^64 - 1 would set next = index + 1 = 0, and a rejection hint
  // of 2^64 - 1 would step next to hint + 1 = 0.
  message ack = msg(message_type::append_response, 2, 1, term);
  ack.index = log_index{top};
  expect_dropped(net, 1, ack);
  message nack = msg(message_type::append_response, 2, 1, term);
  nack.reject = true;
  nack.index = net.node(1).log().last_index();
  nack.reject_hint = log_index{top};
  expect_dropped(net, 1, nack);
  message hint_term = nack;
  hint_term.reject_hint = log_index{0};
  hint_term.hint_term = term_id{top};
  expect_dropped(net, 1, hint_term);

  // The group still replicates.
  ASSERT_TRUE(net.node(1).propose("after").has_value());
  net.stabilize();
  for (std::uint64_t id : {1, 2, 3}) EXPECT_EQ(net.applied_data(id), std::vector<std::string>{"after"});
}

// Ticks the given nodes together until one of them leads; false if none does within a bound.
bool elect_by_timeout(raft_net& net, std::initializer_list<std::uint64_t> ids) {
  for (int tick = 0; tick < 200; ++tick) {
    for (std::uint64_t id : ids) net.tick(id);
    net.stabilize();
    if (net.leader_count() == 1) return true;
  }
  return false;
}

// The reported outage: every node hears a heartbeat at 2^64 - 1, the leader dies, and the whole
// cluster restarts. A leader must still be elected, at an ordinary term.
TEST(RaftOverflow, GroupElectsAfterMaxTermAndAFullRestart) {
  raft_net net(3);
  net.elect(1);
  const term_id before = net.node(1).term();
  for (std::uint64_t id : {2, 3}) net.node(id).step(msg(message_type::heartbeat, 1, id, top));
  net.node(1).step(msg(message_type::heartbeat, 2, 1, top));
  net.stabilize();
  for (std::uint64_t id : {1, 2, 3}) EXPECT_EQ(net.node(id).status().dropped_out_of_range, 1u);

  net.crash(1);
  ASSERT_TRUE(elect_by_timeout(net, {2, 3}));
  // Ordinary terms: a few elections past the first (lock-step ticking may split a vote or two).
  const std::uint64_t ordinary = before.value + 10;
  for (std::uint64_t id : {2, 3}) EXPECT_LT(net.node(id).term().value, ordinary);

  for (std::uint64_t id : {1, 2, 3}) {
    net.crash(id);
    EXPECT_LT(net.disk(id).persisted_hard_state().term.value, ordinary);
  }
  for (std::uint64_t id : {1, 2, 3}) net.start(id);
  ASSERT_TRUE(elect_by_timeout(net, {1, 2, 3}));
  for (std::uint64_t id : {1, 2, 3}) EXPECT_LT(net.node(id).term().value, ordinary);
}

// At the boundary: max_term itself is a term a peer may introduce; one more is not. A node at
// max_term can still campaign, because its own increment has room above the ceiling.
TEST(RaftOverflow, CeilingItselfIsAcceptedAndCampaignFromItFits) {
  raft_net net(3);
  net.elect(1);
  ASSERT_FALSE(net.node(2).has_ready());
  net.node(2).step(msg(message_type::heartbeat, 1, 2, max_term));
  EXPECT_EQ(net.node(2).term().value, max_term);
  EXPECT_EQ(net.node(2).status().dropped_out_of_range, 0u);
  net.collect();
  net.drop_queued();
  EXPECT_EQ(net.disk(2).persisted_hard_state().term.value, max_term);
  expect_dropped(net, 2, msg(message_type::heartbeat, 1, 2, max_term + 1));

  raft_net solo(1);
  solo.disk(1).persist(hard_state{term_id{max_term}, node_id{}, log_index{1}}, std::nullopt, {});
  solo.start(1);
  solo.elect(1);
  EXPECT_EQ(solo.node(1).state(), role::leader);
  EXPECT_EQ(solo.node(1).term().value, max_term + 1);
}

// A term of 2^64 - 1 already on disk (persisted by a release without the ceiling) must not abort
// the node when it times out: the group stays leaderless, the process keeps running.
TEST(RaftOverflow, StoredTopTermNeverCampaignsOrAborts) {
  raft_net solo(1);
  solo.disk(1).persist(hard_state{term_id{top}, node_id{}, log_index{1}}, std::nullopt, {});
  solo.start(1);
  solo.elect(1);
  solo.tick(1, 50);
  solo.stabilize();
  EXPECT_EQ(solo.node(1).state(), role::follower);
  EXPECT_EQ(solo.node(1).term().value, top);
}

}  // namespace
}  // namespace chronik::consensus::testing
