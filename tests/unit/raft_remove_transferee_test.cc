// A leader transferring leadership (Raft dissertation §3.10) to a follower whose acknowledgement
// commits the configuration change that removes it (§4.1). The commit applies the change and drops
// the follower's progress; the transfer check that followed read that freed progress (found by the
// sanitizer build of host_sim's MovesLoseNothing: heap-use-after-free in handle_append_response).
// The leader must neither touch it nor send the removed node timeout_now.
#include <gtest/gtest.h>

#include <algorithm>

#include "consensus/core/raft.h"
#include "tests/unit/raft_test_net.h"

namespace chronik::consensus {
namespace {

using testing::raft_net;

TEST(raft_remove_transferee, its_own_acknowledgement_commits_its_removal) {
  raft_net net(3);
  net.elect(1);
  ASSERT_TRUE(net.node(1).propose("before"));
  net.stabilize();
  net.cut(1, 3);  // node 2's acknowledgement is the one that commits
  ASSERT_TRUE(net.node(1).propose_conf_change({conf_change::kind::remove, node_id{2}}));
  ASSERT_TRUE(net.node(1).transfer_leadership(node_id{2}));
  bool timeout_now_to_2 = false;
  for (int step = 0; step < 100; ++step) {
    net.collect();
    if (net.queue().empty()) break;
    auto pending = std::move(net.queue());
    net.queue().clear();
    for (const auto& m : pending) {
      if (m.type == message_type::timeout_now && m.to == node_id{2}) timeout_now_to_2 = true;
      net.deliver(m);
    }
  }
  const auto st = net.node(1).status();
  EXPECT_EQ(std::ranges::count(st.conf.voters, node_id{2}), 0) << "the removal committed";
  EXPECT_FALSE(timeout_now_to_2) << "a removed node must not be asked to campaign";
  EXPECT_EQ(st.state, role::leader);
}

}  // namespace
}  // namespace chronik::consensus
