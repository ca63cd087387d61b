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
#include "kafka/protocol/txn_marker.h"
#include "tests/unit/partition_test_util.h"

namespace chronik::kafka {
namespace {

using testing::partition_cluster;

const std::vector<node_id> three{node_id{1}, node_id{2}, node_id{3}};
constexpr group_id g{2048};
constexpr std::int64_t wall_ms = 1'700'000'000'000;

// One node's coordinator core and its shell.
struct node_groups {
  group_coordinator core;
  daemon::group_store store;
  explicit node_groups(std::size_t i, group_config cfg = group_config::local())
      : core(cfg), store(core, chronik::node_id{static_cast<std::uint32_t>(i + 1)},
              std::make_shared<spdlog::logger>("group_store_test", std::make_shared<spdlog::sinks::null_sink_mt>())) {}
};

struct fixture {
  partition_cluster c;
  std::vector<std::unique_ptr<node_groups>> nodes;
  explicit fixture(group_config cfg = group_config::local()) {
    c.create(std::string(offsets_topic_name), g.value, three);
    for (std::size_t i = 0; i < 3; ++i) nodes.push_back(std::make_unique<node_groups>(i, cfg));
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
  std::optional<std::expected<std::vector<group_errc>, group_errc>> commit(std::size_t i, std::int64_t offset,
                                                                           std::int32_t partition = 0) {
    std::optional<std::expected<std::vector<group_errc>, group_errc>> got;
    core(i).commit_offsets({"grp", -1, "", {{{"t", partition}, {offset, -1, "meta", 0}}}},
                           [&](std::expected<std::vector<group_errc>, group_errc> r) { got = std::move(r); });
    nodes[i]->store.flush(&c.manager(i), wall_ms);
    EXPECT_TRUE(c.settle());
    return got;
  }
  // TxnOffsetCommit on node i's core for producer 500 (epoch `epoch`), appended at once.
  std::optional<std::expected<std::vector<group_errc>, group_errc>> txn_commit(std::size_t i, std::int64_t offset,
                                                                               std::int16_t epoch = 1) {
    std::optional<std::expected<std::vector<group_errc>, group_errc>> got;
    txn_commit_params p;
    p.group_id = "grp";
    p.producer_id = 500;
    p.producer_epoch = epoch;
    p.offsets = {{{"t", 0}, {offset, -1, "txn", 0}}};
    core(i).commit_txn_offsets(p, [&](std::expected<std::vector<group_errc>, group_errc> r) { got = std::move(r); });
    nodes[i]->store.flush(&c.manager(i), wall_ms);
    EXPECT_TRUE(c.settle());
    return got;
  }
  // The transaction coordinator's marker for producer 500, written into node i's replica.
  bool marker(std::size_t i, bool commit, std::int16_t epoch = 1) {
    bool ok = false;
    c.manager(i).find(g)->write_marker(500, epoch, txn_marker{commit, 1}, c.clock().steady + std::chrono::seconds(30),
                                       [&](std::expected<produce_ack, produce_error> r) { ok = r.has_value(); });
    EXPECT_TRUE(c.settle());
    return ok;
  }
  std::optional<std::int64_t> offset(std::size_t i) {
    auto got = core(i).committed("grp", {"t", 0});
    if (!got) return std::nullopt;
    return got->offset;
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

// Transactional offsets (docs/kafka.md "Transactional offsets"): the write is the producer's
// transactional batch, so the offsets partition holds the transaction open; the marker the
// transaction coordinator writes there reaches the core at the next tick; the next leader loads
// the same outcome.
TEST(group_store, transactional_offsets_wait_for_the_commit_marker_in_the_log) {
  fixture f;
  ASSERT_TRUE(f.c.elect(g, 0));
  f.tick();
  ASSERT_TRUE(f.commit(0, 3));
  auto answer = f.txn_commit(0, 40);
  ASSERT_TRUE(answer && *answer);
  EXPECT_EQ(**answer, std::vector<group_errc>{group_errc::none});
  auto& rep = *f.c.manager(0).find(g);
  EXPECT_TRUE(rep.transaction_open(500));
  EXPECT_LT(rep.last_stable_offset(), rep.high_watermark()) << "the offsets partition's transaction is open";
  EXPECT_EQ(f.offset(0), 3);
  EXPECT_TRUE(f.core(0).has_pending_txn_offsets("grp", {"t", 0}));
  ASSERT_TRUE(f.marker(0, true));
  EXPECT_EQ(rep.last_stable_offset(), rep.high_watermark());
  f.tick();  // the shell reads the marker
  EXPECT_EQ(f.offset(0), 40);
  EXPECT_FALSE(f.core(0).has_pending_txn_offsets("grp", {"t", 0}));
  ASSERT_TRUE(f.c.elect(g, 1));
  f.tick();
  EXPECT_EQ(f.offset(1), 40);
}

TEST(group_store, an_abort_marker_drops_them_here_and_at_the_next_leader) {
  fixture f;
  ASSERT_TRUE(f.c.elect(g, 0));
  f.tick();
  ASSERT_TRUE(f.commit(0, 3));
  ASSERT_TRUE(f.txn_commit(0, 40));
  ASSERT_TRUE(f.marker(0, false));
  f.tick();
  EXPECT_EQ(f.offset(0), 3);
  EXPECT_FALSE(f.core(0).has_pending_txn_offsets("grp", {"t", 0}));
  ASSERT_TRUE(f.c.elect(g, 2));
  f.tick();
  EXPECT_EQ(f.offset(2), 3);
  EXPECT_FALSE(f.core(2).has_pending_txn_offsets("grp", {"t", 0}));
}

TEST(group_store, a_pending_transaction_moves_with_the_partition_and_a_fenced_epoch_is_refused) {
  fixture f;
  ASSERT_TRUE(f.c.elect(g, 0));
  f.tick();
  ASSERT_TRUE(f.txn_commit(0, 40, 2));
  ASSERT_TRUE(f.c.elect(g, 1));
  f.tick();
  EXPECT_TRUE(f.core(1).has_pending_txn_offsets("grp", {"t", 0})) << "loaded as pending";
  // The producer's older epoch is fenced by the partition's producer state.
  auto zombie = f.txn_commit(1, 41, 1);
  ASSERT_TRUE(zombie);
  EXPECT_EQ(*zombie, std::unexpected(group_errc::invalid_producer_epoch));
  ASSERT_TRUE(f.marker(1, true, 2));
  f.tick();
  EXPECT_EQ(f.offset(1), 40);
}

TEST(group_store, a_commit_written_after_an_unread_marker_is_applied_after_it) {
  fixture f;
  ASSERT_TRUE(f.c.elect(g, 0));
  f.tick();
  ASSERT_TRUE(f.txn_commit(0, 40));
  ASSERT_TRUE(f.marker(0, true));
  // No tick between: the shell reads the marker before it reports this commit, so the core applies
  // them in the log's order and the later commit stands, as the next leader's load will have it.
  ASSERT_TRUE(f.commit(0, 50));
  EXPECT_EQ(f.offset(0), 50);
  EXPECT_FALSE(f.core(0).has_pending_txn_offsets("grp", {"t", 0})) << "the marker was read first";
  f.tick();
  EXPECT_EQ(f.offset(0), 50);
  ASSERT_TRUE(f.c.elect(g, 2));
  f.tick();
  EXPECT_EQ(f.offset(2), 50);
}

TEST(group_store, a_checkpoint_built_before_an_unread_marker_is_built_again) {
  group_config cfg = group_config::local();
  cfg.checkpoint_min_records = 6;
  fixture f(cfg);
  ASSERT_TRUE(f.c.elect(g, 0));
  f.tick();
  ASSERT_TRUE(f.commit(0, 1));
  ASSERT_TRUE(f.txn_commit(0, 40));
  // The marker commits, but no tick reads it yet; commits of another partition without ticks
  // make a checkpoint due, built while the core still holds the transaction open and t-0 at 1.
  ASSERT_TRUE(f.marker(0, true));
  for (int i = 2; i < 12; ++i) ASSERT_TRUE(f.commit(0, i, 1));
  f.tick();
  f.tick();  // the trim of the checkpoint that was appended
  EXPECT_GT(f.c.manager(0).find(g)->log_start_offset(), 0) << "a checkpoint was written and trimmed to";
  EXPECT_EQ(f.offset(0), 40);
  // Appended after the marker, that checkpoint would have restated t-0 = 1 and the next leader's
  // load would end there; the shell refused it and the core built it again knowing the marker.
  ASSERT_TRUE(f.c.elect(g, 1));
  f.tick();
  EXPECT_EQ(f.offset(1), 40);
  EXPECT_EQ(f.core(1).committed("grp", {"t", 1})->offset, 11);
}

}  // namespace
}  // namespace chronik::kafka
