// What a forming node says it waits for (daemon/formation_progress.h), the line `cluster status`
// prints while the cluster forms: seeds not reached, fresh nodes still missing, a peer with another
// bootstrap_expect, a promise outstanding, a join in progress; nothing for a member.
#include "daemon/formation_progress.h"

#include <gtest/gtest.h>

namespace chronik::daemon {
namespace {

using kind = metadata::formation::kind;

formation_peer fresh_peer(std::uint64_t id, std::string addr, std::uint32_t expect = 3) {
  formation_peer p;
  p.node_id = id;
  p.address = std::move(addr);
  p.alive = true;
  p.announced = true;
  p.bootstrap_expect = expect;
  return p;
}

formation_progress_input alone() {
  formation_progress_input in;
  in.self_id = 1;
  in.bootstrap_expect = 3;
  in.seeds = {"127.0.0.2:7946", "127.0.0.3:7946"};
  return in;
}

TEST(formation_progress_test, a_lone_node_names_the_seeds_it_has_not_reached) {
  EXPECT_EQ(formation_waiting(alone()),
            "sees 1 of 3 expected nodes: seeds 127.0.0.2:7946 and 127.0.0.3:7946 not reached yet");
}

TEST(formation_progress_test, a_reached_seed_is_no_longer_named) {
  auto in = alone();
  in.peers.push_back(fresh_peer(2, "127.0.0.2:7946"));
  EXPECT_EQ(formation_waiting(in), "sees 2 of 3 expected nodes: seed 127.0.0.3:7946 not reached yet");
}

TEST(formation_progress_test, a_dead_peer_at_a_seed_does_not_count_as_reached) {
  auto in = alone();
  auto p = fresh_peer(2, "127.0.0.2:7946");
  p.alive = false;
  in.peers.push_back(p);
  EXPECT_EQ(formation_waiting(in),
            "sees 1 of 3 expected nodes: seeds 127.0.0.2:7946 and 127.0.0.3:7946 not reached yet");
}

TEST(formation_progress_test, every_seed_reached_but_too_few_nodes_waits_for_more) {
  auto in = alone();
  in.seeds = {"127.0.0.2:7946"};
  in.peers.push_back(fresh_peer(2, "127.0.0.2:7946"));
  EXPECT_EQ(formation_waiting(in), "sees 2 of 3 expected nodes: every seed reached, waiting for 1 more fresh node to start");
}

TEST(formation_progress_test, enough_nodes_waits_for_the_set_to_settle) {
  auto in = alone();
  in.peers = {fresh_peer(2, "127.0.0.2:7946"), fresh_peer(3, "127.0.0.3:7946")};
  EXPECT_EQ(formation_waiting(in),
            "sees 3 of 3 expected nodes: enough, waiting for the set to stay stable before the lowest node proposes "
            "the cluster");
}

TEST(formation_progress_test, a_peer_expecting_another_size_is_not_counted_and_named) {
  auto in = alone();
  in.peers = {fresh_peer(2, "127.0.0.2:7946", 5), fresh_peer(3, "127.0.0.3:7946")};
  EXPECT_EQ(formation_waiting(in),
            "sees 2 of 3 expected nodes: every seed reached, waiting for 1 more fresh node to start; node 2 expects 5 "
            "nodes, this node 3: not counted (set the same bootstrap_expect everywhere)");
}

TEST(formation_progress_test, a_peer_still_starting_is_not_counted) {
  auto in = alone();
  auto p = fresh_peer(2, "127.0.0.2:7946");
  p.announced = false;
  in.peers = {p, fresh_peer(3, "127.0.0.3:7946")};
  EXPECT_EQ(formation_waiting(in), "sees 2 of 3 expected nodes: every seed reached, waiting for 1 more fresh node to start");
}

TEST(formation_progress_test, a_founder_names_the_voters_that_have_not_promised) {
  auto in = alone();
  in.self.state = kind::promised;
  in.self.cluster_id = "c1";
  in.self.founder = {chronik::node_id{1}, "u1"};
  in.self.voters = {{chronik::node_id{1}, "u1"}, {chronik::node_id{2}, "u2"}, {chronik::node_id{3}, "u3"}};
  auto p2 = fresh_peer(2, "127.0.0.2:7946");
  p2.formation = kind::promised;
  p2.cluster_id = "c1";
  in.peers = {p2, fresh_peer(3, "127.0.0.3:7946")};
  EXPECT_EQ(formation_waiting(in), "promised to node 1 for cluster c1: waiting for the promises of node 3");
  in.peers[1].formation = kind::promised;
  in.peers[1].cluster_id = "c1";
  EXPECT_EQ(formation_waiting(in), "promised to node 1 for cluster c1: every voter promised, starting the cluster");
  in.self_id = 2;
  EXPECT_EQ(formation_waiting(in), "promised to node 1 for cluster c1: waiting for the founder to start the cluster");
}

TEST(formation_progress_test, a_joining_node_waits_for_the_controller) {
  auto in = alone();
  in.joining = "c9";
  EXPECT_EQ(formation_waiting(in), "joining cluster c9: waiting for its controller to add this node");
}

TEST(formation_progress_test, a_member_waits_for_nothing) {
  auto in = alone();
  in.self.state = kind::member;
  EXPECT_EQ(formation_waiting(in), "");
}

TEST(formation_progress_test, join_with_and_reads_like_a_sentence) {
  EXPECT_EQ(join_with_and({}), "");
  EXPECT_EQ(join_with_and({"a"}), "a");
  EXPECT_EQ(join_with_and({"a", "b"}), "a and b");
  EXPECT_EQ(join_with_and({"a", "b", "c"}), "a, b and c");
}

}  // namespace
}  // namespace chronik::daemon
