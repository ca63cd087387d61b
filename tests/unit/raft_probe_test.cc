// Probing a follower that came back behind (Raft paper §5.3; the probe and replicate states of
// consensus/core/progress.h). Found in the rolling-restart bench (docs/performance.md "Rolling
// restart with drain"): a restarted follower answers heartbeats at once, but answers an append
// only once the entries are on its disk. Each heartbeat answer made the leader send the whole
// probe again, entries and all, so while the first probe's answer waited for the follower's disk
// the leader read and sent the same backlog once per heartbeat in every group; its event loop
// fell seconds behind and its groups elected other leaders. A repeat probe now goes out empty.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "consensus/core/raft.h"
#include "tests/unit/raft_test_net.h"

namespace chronik::consensus {
namespace {

using testing::raft_net;

constexpr std::uint64_t leader = 1;
constexpr std::uint64_t behind = 3;

// Node 1 leads and node 3 restarts having missed `missed` entries of `bytes` bytes each, which
// nodes 1 and 2 committed meanwhile. The leader still counts them in flight to node 3.
void restart_behind(raft_net& net, int missed, std::size_t bytes) {
  net.elect(leader);
  ASSERT_TRUE(net.node(leader).propose("before"));
  net.stabilize();
  net.cut(leader, behind);
  for (int i = 0; i < missed; ++i) ASSERT_TRUE(net.node(leader).propose(std::string(bytes, 'x')));
  net.stabilize();
  ASSERT_EQ(net.node(leader).status().commit, net.node(leader).status().last_index);
  net.crash(behind);
  net.start(behind);
  net.heal();
}

bool acknowledges(const message& m) {
  return m.type == message_type::append_response && !m.reject && m.from.value() == behind;
}

// One heartbeat round: the leader ticks once (heartbeat_ticks is 1), and messages flow until none
// is left. Acknowledgements from node 3 are put aside in `held` when `hold_acks` is set: node 3's
// disk is slow, so its answers to appends wait, while its heartbeat answers and its rejections
// (nothing to write) leave at once. Counts, per entry index, the appends that carried it to node 3.
void heartbeat_round(raft_net& net, bool hold_acks, std::vector<message>& held, std::map<std::uint64_t, int>& sent) {
  net.tick(leader);
  for (int step = 0; step < 1000; ++step) {
    net.collect();
    if (net.queue().empty()) return;
    auto pending = std::move(net.queue());
    net.queue().clear();
    for (const auto& m : pending) {
      if (m.type == message_type::append && m.to.value() == behind)
        for (const auto& e : m.entries) ++sent[e.index.value];
      if (hold_acks && acknowledges(m)) {
        held.push_back(m);
        continue;
      }
      net.deliver(m);
    }
  }
  FAIL() << "messages kept flowing within one heartbeat round";
}

TEST(raft_probe, a_follower_slow_to_acknowledge_gets_its_backlog_once) {
  raft_net net(3);
  restart_behind(net, 50, 1000);
  std::vector<message> held;
  std::map<std::uint64_t, int> sent;
  // Ten heartbeats while node 3 writes the probe's entries: before the fix, each one sent the
  // 50 entries again (about 50 KB a heartbeat per group).
  for (int round = 0; round < 10; ++round) heartbeat_round(net, true, held, sent);
  const log_index last = net.node(leader).status().last_index;
  ASSERT_FALSE(held.empty());
  for (std::uint64_t i = last.value - 49; i <= last.value; ++i) {
    ASSERT_TRUE(sent.contains(i)) << "entry " << i << " never went to node 3";
    EXPECT_EQ(sent[i], 1) << "entry " << i << " went to node 3 " << sent[i] << " times";
  }
  // Node 3's disk catches up: its answers arrive, and it ends with the leader's whole log
  // committed.
  for (const auto& m : held) net.deliver(m);
  held.clear();
  for (int round = 0; round < 5; ++round) heartbeat_round(net, false, held, sent);
  EXPECT_EQ(net.node(behind).status().last_index, last);
  EXPECT_EQ(net.node(behind).status().commit, last);
  EXPECT_EQ(net.node(leader).status().match.at(testing::nid(behind)), last);
}

// The probe that carried the entries is lost: the empty repeat's answer (at node 3's match, which
// it does not move) must still end probing, or node 3 would get empty probes forever.
TEST(raft_probe, a_lost_probe_is_recovered_through_an_empty_repeat) {
  raft_net net(3);
  restart_behind(net, 20, 100);
  const log_index last = net.node(leader).status().last_index;
  bool dropped = false;
  net.tick(leader);
  for (int step = 0; step < 1000 && !dropped; ++step) {
    net.collect();
    ASSERT_FALSE(net.queue().empty()) << "the leader never probed node 3 with its entries";
    auto pending = std::move(net.queue());
    net.queue().clear();
    for (const auto& m : pending) {
      if (!dropped && m.type == message_type::append && m.to.value() == behind && !m.entries.empty() &&
          m.index < last && m.entries.back().index == last) {
        dropped = true;  // the probe from node 3's match to our last entry
        continue;
      }
      net.deliver(m);
    }
  }
  ASSERT_TRUE(dropped);
  std::vector<message> held;
  std::map<std::uint64_t, int> sent;
  for (int round = 0; round < 5; ++round) heartbeat_round(net, false, held, sent);
  EXPECT_EQ(net.node(behind).status().last_index, last);
  EXPECT_EQ(net.node(behind).status().commit, last);
}

}  // namespace
}  // namespace chronik::consensus
