// daemon/leader_elections: preferred-leader elections from any broker through `__meta`
// (docs/kafka.md "Preferred leaders"), over three real partition replicas linked in memory
// (tests/unit/partition_test_util.h) and a meta_state the test applies `__meta` records to by hand.
// The asking node need not be a replica; the leader that applies the record transfers leadership
// (Raft dissertation §3.10); the asker answers once `__meta` shows the preferred replica leading;
// an expired record moves nothing and the asker times out; a refused record is
// UNKNOWN_TOPIC_OR_PARTITION; a proposal that cannot be made is NOT_CONTROLLER.
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/leader_elections.h"
#include "metadata/meta_commands.h"
#include "tests/unit/partition_test_util.h"

namespace chronik::daemon {
namespace {

using kafka::election_outcome;
namespace cmd = metadata::commands;

constexpr std::uint64_t group = 1024;  // the first partition group `__meta` allocates

class leader_elections_test : public ::testing::Test {
 protected:
  leader_elections_test() {
    for (std::uint32_t id = 1; id <= 4; ++id) {
      const std::string n = std::to_string(id);
      apply(cmd::register_broker({node_id{id}, "uuid-" + n, "127.0.0." + n + ":9092", "127.0.0." + n + ":7000", ""}));
    }
    cmd::topic_spec t;
    t.name = "t";
    t.id.bytes[0] = 0x42;
    t.assignments = {{node_id{1}, node_id{2}, node_id{3}}};  // preferred replica: 1
    apply(cmd::create_topic(t));
    topic_ = state_.topic("t")->id;
    EXPECT_EQ(state_.topic("t")->partitions[0].group.value, group);
    ref_ = cluster_.create("t", group, {node_id{1}, node_id{2}, node_id{3}});
    EXPECT_TRUE(cluster_.elect(consensus::group_id{group}, 1));  // node 2 leads, not the preferred 1
    report_leader();
  }

  std::expected<metadata::apply_result, metadata::meta_errc> apply(const std::string& command) {
    return state_.apply(consensus::log_index{next_index_++}, command);
  }

  // `node` (1-based) runs a leader_elections; the asker is node 4, which holds no replica.
  std::unique_ptr<leader_elections> make(std::uint32_t node) {
    leader_elections_meta m;
    m.state = [this]() -> const metadata::meta_state& { return state_; };
    m.propose = [this](std::string c) -> std::expected<void, std::string> {
      if (!can_propose_) return std::unexpected(std::string("no leader"));
      proposed_.push_back(std::move(c));
      return {};
    };
    m.wall_now_ms = [this] { return cluster_.clock().wall_ms; };
    return std::make_unique<leader_elections>(std::move(m), node_id{node}, cluster_.log());
  }

  // Commits every proposed record: applied to the state, then shown to every node's elections
  // (nodes 1-3 with their partition replicas, node 4 with none).
  void commit_proposals(std::vector<leader_elections*> nodes) {
    while (!proposed_.empty()) {
      const std::string c = proposed_.front();
      proposed_.pop_front();
      const auto r = apply(c);
      for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (i < 3) nodes[i]->on_applied(c, r, &cluster_.manager(i), &cluster_.host(i));
        else nodes[i]->on_applied(c, r, nullptr, nullptr);
      }
    }
  }

  // What partition_manager's leadership reports do in the daemon: the leader's (leader, term)
  // recorded in `__meta`.
  void report_leader() {
    for (std::size_t i = 0; i < 3; ++i) {
      auto s = cluster_.host(i).status(consensus::group_id{group});
      if (s && s->state == consensus::role::leader) {
        ASSERT_TRUE(apply(cmd::set_partition_leader(topic_, 0, s->id, s->term)));
        return;
      }
    }
  }

  node_id meta_leader() const { return state_.partition(topic_, 0)->leader; }

  kafka::testing::partition_cluster cluster_;
  metadata::meta_state state_;
  std::uint64_t next_index_ = 1;
  metadata::topic_id topic_;
  metadata::partition_ref ref_;
  std::deque<std::string> proposed_;
  bool can_propose_ = true;
};

TEST_F(leader_elections_test, a_broker_without_a_replica_gets_the_preferred_replica_elected) {
  auto n1 = make(1), n2 = make(2), n3 = make(3), asker = make(4);
  std::vector<leader_elections*> all = {n1.get(), n2.get(), n3.get(), asker.get()};
  std::optional<std::vector<election_outcome>> got;
  const auto now = std::chrono::steady_clock::now();
  asker->request({{"t", 0, node_id{1}}}, std::chrono::seconds(30), [&](auto o) { got = std::move(o); }, now);
  ASSERT_EQ(proposed_.size(), 1u) << "one record for the topic";
  commit_proposals(all);
  EXPECT_FALSE(got) << "applied, but __meta does not show the preferred replica leading yet";
  ASSERT_TRUE(cluster_.run_until([&] {
    auto s = cluster_.host(0).status(consensus::group_id{group});
    return s && s->state == consensus::role::leader;
  })) << "the leader (node 2) transferred leadership to node 1";
  report_leader();
  EXPECT_EQ(meta_leader(), node_id{1});
  asker->tick(now);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, std::vector<election_outcome>{election_outcome::elected});
}

// Maintenance mode (docs/operations.md "Maintenance: drain"): a drained preferred replica takes no
// leadership. The asker answers at once and proposes nothing.
TEST_F(leader_elections_test, a_drained_preferred_replica_is_not_elected) {
  ASSERT_TRUE(apply(cmd::set_broker_drained(node_id{1}, cmd::drain_state::drained)));
  auto asker = make(4);
  std::optional<std::vector<election_outcome>> got;
  asker->request({{"t", 0, node_id{1}}}, std::chrono::seconds(30), [&](auto o) { got = std::move(o); },
                 std::chrono::steady_clock::now());
  EXPECT_TRUE(proposed_.empty());
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, std::vector<election_outcome>{election_outcome::drained});
}

// The leader's half checks again: a record proposed before the drain applies after it and moves
// nothing, since the leader reads the drain from its own `__meta` replica.
TEST_F(leader_elections_test, a_leader_does_not_hand_leadership_to_a_node_drained_meanwhile) {
  auto n1 = make(1), n2 = make(2), n3 = make(3), asker = make(4);
  std::vector<leader_elections*> all = {n1.get(), n2.get(), n3.get(), asker.get()};
  std::optional<std::vector<election_outcome>> got;
  const auto now = std::chrono::steady_clock::now();
  asker->request({{"t", 0, node_id{1}}}, std::chrono::seconds(5), [&](auto o) { got = std::move(o); }, now);
  ASSERT_EQ(proposed_.size(), 1u);
  ASSERT_TRUE(apply(cmd::set_broker_drained(node_id{1}, cmd::drain_state::drained)));
  commit_proposals(all);
  EXPECT_FALSE(cluster_.run_until([] { return false; }, 60)) << "60 ticks: several election timeouts";
  auto s = cluster_.host(1).status(consensus::group_id{group});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, consensus::role::leader) << "node 2 still leads";
  asker->tick(now + std::chrono::seconds(5));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, std::vector<election_outcome>{election_outcome::timed_out});
}

TEST_F(leader_elections_test, an_expired_record_moves_nothing_and_the_asker_times_out) {
  auto n1 = make(1), n2 = make(2), n3 = make(3), asker = make(4);
  std::vector<leader_elections*> all = {n1.get(), n2.get(), n3.get(), asker.get()};
  std::optional<std::vector<election_outcome>> got;
  const auto now = std::chrono::steady_clock::now();
  asker->request({{"t", 0, node_id{1}}}, std::chrono::seconds(5), [&](auto o) { got = std::move(o); }, now);
  cluster_.clock().advance(std::chrono::seconds(6));  // applied after its expiry (a replay, say)
  commit_proposals(all);
  EXPECT_FALSE(cluster_.run_until([] { return false; }, 60)) << "60 ticks: several election timeouts";
  auto s = cluster_.host(1).status(consensus::group_id{group});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, consensus::role::leader) << "node 2 still leads";
  asker->tick(now + std::chrono::seconds(4));
  EXPECT_FALSE(got);
  asker->tick(now + std::chrono::seconds(5));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, std::vector<election_outcome>{election_outcome::timed_out});
}

TEST_F(leader_elections_test, a_refused_record_is_unknown_and_a_failed_proposal_not_controller) {
  auto asker = make(4);
  std::optional<std::vector<election_outcome>> got;
  const auto now = std::chrono::steady_clock::now();
  asker->request({{"t", 0, node_id{1}}, {"gone", 0, node_id{1}}}, std::chrono::seconds(30),
                 [&](auto o) { got = std::move(o); }, now);
  EXPECT_FALSE(got) << "'gone' is settled at once, 't' waits for its record";
  ASSERT_EQ(proposed_.size(), 1u);
  ASSERT_TRUE(apply(cmd::delete_topic(std::string("t"))));  // deleted before the record commits
  const std::string c = proposed_.front();
  proposed_.pop_front();
  const auto r = apply(c);
  ASSERT_FALSE(r);
  asker->on_applied(c, r, nullptr, nullptr);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (std::vector<election_outcome>{election_outcome::unknown, election_outcome::unknown}));

  cmd::topic_spec u;
  u.name = "u";
  u.id.bytes[0] = 0x43;
  u.assignments = {{node_id{3}, node_id{1}}};
  ASSERT_TRUE(apply(cmd::create_topic(u)));
  can_propose_ = false;  // no `__meta` leader reachable
  std::optional<std::vector<election_outcome>> refused;
  asker->request({{"u", 0, node_id{3}}}, std::chrono::seconds(30), [&](auto o) { refused = std::move(o); }, now);
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, std::vector<election_outcome>{election_outcome::not_controller});
}

}  // namespace
}  // namespace chronik::daemon
