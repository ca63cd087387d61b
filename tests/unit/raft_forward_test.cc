// Proposals from any replica (raft::propose_anywhere): a follower forwards normal entries to the
// leader it knows, as etcd raft forwards MsgProp; the leader appends them; nothing is promised back.
#include <algorithm>

#include <gtest/gtest.h>

#include "tests/unit/raft_test_net.h"

namespace chronik::consensus {
namespace {

using testing::raft_net;

bool applied_data(raft_net& net, std::uint64_t id, const std::string& data) {
  const auto& a = net.applied(id);
  return std::ranges::any_of(a, [&](const entry& e) { return e.type == entry_type::normal && e.data == data; });
}

TEST(RaftForward, AFollowersProposalIsCommittedThroughTheLeader) {
  raft_net net(3);
  net.elect(1);
  ASSERT_TRUE(net.node(2).propose_anywhere("from-2"));
  net.stabilize();
  for (std::uint64_t id : {1, 2, 3}) EXPECT_TRUE(applied_data(net, id, "from-2")) << "node " << id;
}

TEST(RaftForward, TheLeaderItselfAppendsAtOnce) {
  raft_net net(3);
  net.elect(1);
  ASSERT_TRUE(net.node(1).propose_anywhere("from-1"));
  net.stabilize();
  EXPECT_TRUE(applied_data(net, 3, "from-1"));
}

TEST(RaftForward, WithoutAKnownLeaderItIsRefused) {
  raft_net net(3);
  auto r = net.node(2).propose_anywhere("nobody");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), raft_errc::not_leader);
}

TEST(RaftForward, AForwardThatReachesANonLeaderIsDropped) {
  raft_net net(3);
  net.elect(1);
  ASSERT_TRUE(net.node(2).propose_anywhere("lost"));  // addressed to 1
  net.collect();
  // Node 1 hands leadership to node 3 before the forward arrives.
  auto forwards = std::move(net.queue());
  net.queue().clear();
  ASSERT_TRUE(net.node(1).transfer_leadership(testing::nid(3)));
  net.stabilize();
  ASSERT_EQ(net.node(3).state(), role::leader);
  for (auto& m : forwards) net.deliver(m);  // a stale-term forward to a follower
  net.stabilize();
  for (std::uint64_t id : {1, 2, 3}) EXPECT_FALSE(applied_data(net, id, "lost")) << "node " << id;
}

}  // namespace
}  // namespace chronik::consensus
