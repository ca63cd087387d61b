// The group coordinator's shell (daemon/group_store.h; docs/kafka.md "Durable groups") over real
// partition replicas on a three-node in-process cluster: it loads the offsets partition this
// node leads, appends the core's writes with acks=all so a commit is answered once committed,
// gives the partition up when leadership goes, and refuses a write decided on a state loaded in
// an earlier term (a node that lost and won back leadership between two ticks).
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "daemon/group_store.h"
#include "kafka/groups/group_coordinator.h"
#include "tests/unit/partition_test_util.h"

namespace chronik::kafka {
namespace {

using testing::partition_cluster;

const std::vector<node_id> three{node_id{1}, node_id{2}, node_id{3}};
constexpr group_id g{2048};
constexpr std::int64_t wall_ms = 1'700'000'000'000;

// One node's coordinator core and its shell.
struct node_groups {
  group_coordinator core{group_config::local()};
  daemon::group_store store;
  explicit node_groups(std::size_t i)
      : store(core, chronik::node_id{static_cast<std::uint32_t>(i + 1)},
              std::make_shared<spdlog::logger>("group_store_test", std::make_shared<spdlog::sinks::null_sink_mt>())) {}
};

struct fixture {
  partition_cluster c;
  std::vector<std::unique_ptr<node_groups>> nodes;
  fixture() {
    c.create(std::string(offsets_topic_name), g.value, three);
    for (std::size_t i = 0; i < 3; ++i) nodes.push_back(std::make_unique<node_groups>(i));
  }
  // One tick of every node's core and shell over the one-partition offsets topic, as the daemon
  // runs them, then the cluster settles.
  void tick() {
    for (std::size_t i = 0; i < 3; ++i) {
      nodes[i]->core.tick(0, wall_ms);
      nodes[i]->store.tick(&c.manager(i), 1, wall_ms);
    }
    ASSERT_TRUE(c.settle());
  }
  group_coordinator& core(std::size_t i) { return nodes[i]->core; }
  // OffsetCommit on node i's core, its write appended at once as the daemon does after a request.
  std::optional<std::expected<std::vector<group_errc>, group_errc>> commit(std::size_t i, std::int64_t offset) {
    std::optional<std::expected<std::vector<group_errc>, group_errc>> got;
    core(i).commit_offsets({"grp", -1, "", {{{"t", 0}, {offset, -1, "meta", 0}}}},
                           [&](std::expected<std::vector<group_errc>, group_errc> r) { got = std::move(r); });
    nodes[i]->store.flush(&c.manager(i), wall_ms);
    EXPECT_TRUE(c.settle());
    return got;
  }
};

TEST(group_store, a_commit_is_answered_once_committed_and_the_next_leader_loads_it) {
  fixture f;
  ASSERT_TRUE(f.c.elect(g, 0));
  f.tick();
  EXPECT_EQ(f.core(0).serves("grp"), group_errc::none);
  EXPECT_EQ(f.core(1).serves("grp"), group_errc::not_coordinator);
  auto answer = f.commit(0, 11);
  ASSERT_TRUE(answer && *answer);
  EXPECT_EQ(**answer, std::vector<group_errc>{group_errc::none});
  ASSERT_TRUE(f.core(0).committed("grp", {"t", 0}));

  ASSERT_TRUE(f.c.elect(g, 1));
  f.tick();
  EXPECT_EQ(f.core(0).serves("grp"), group_errc::not_coordinator);
  ASSERT_EQ(f.core(1).serves("grp"), group_errc::none);
  const auto loaded = f.core(1).committed("grp", {"t", 0});
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->offset, 11);
  EXPECT_EQ(loaded->metadata, "meta");
  EXPECT_EQ(loaded->commit_time_ms, wall_ms);
}

// Node 1 leads and loads in one term, then loses leadership and wins it back before its shell
// ticks again: its core still serves the state of the first term, which lacks what node 2
// acknowledged in between. A write decided on it is refused (not_leader drops the partition) and
// the next tick loads the partition again, with node 2's commit.
TEST(group_store, a_write_decided_in_a_term_the_core_did_not_load_is_refused) {
  fixture f;
  ASSERT_TRUE(f.c.elect(g, 0));
  f.tick();
  ASSERT_EQ(f.core(0).serves("grp"), group_errc::none);
  ASSERT_TRUE(f.c.elect(g, 1));
  f.nodes[1]->store.tick(&f.c.manager(1), 1, wall_ms);  // only node 2's shell follows
  ASSERT_TRUE(f.c.settle());
  auto between = f.commit(1, 20);
  ASSERT_TRUE(between && *between);
  ASSERT_TRUE(f.c.elect(g, 0));

  ASSERT_EQ(f.core(0).serves("grp"), group_errc::none) << "node 1's shell has not ticked";
  auto stale = f.commit(0, 15);
  ASSERT_TRUE(stale);
  ASSERT_FALSE(*stale);
  EXPECT_EQ(stale->error(), group_errc::not_coordinator);
  EXPECT_EQ(f.core(0).serves("grp"), group_errc::not_coordinator);

  f.tick();
  ASSERT_EQ(f.core(0).serves("grp"), group_errc::none);
  EXPECT_EQ(f.core(0).committed("grp", {"t", 0})->offset, 20);
}

}  // namespace
}  // namespace chronik::kafka
