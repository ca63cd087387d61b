// CreatePartitions in the `__meta` state machine (metadata/partition_growth.h, MetaCreatePartitions
// in proto/meta.proto): a topic grows by new Raft groups placed exactly as CreateTopic places a
// topic's, a count that does not grow the topic is refused (so a repeated record adds nothing),
// manual assignments are checked, snapshots carry the grown topic, and replicas agree.
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "meta.pb.h"
#include "metadata/meta_commands.h"
#include "metadata/meta_state.h"
#include "metadata/partition_growth.h"
#include "metadata/replica_assignment.h"

namespace chronik::metadata {
namespace {

namespace cmd = commands;

struct machine {
  meta_state s;
  std::uint64_t next_index = 1;
  std::expected<apply_result, meta_errc> run(const std::string& bytes) { return s.apply(log_index{next_index++}, bytes); }
};

topic_id make_id(std::uint8_t n) {
  topic_id t;
  t.bytes[0] = 0xcd;
  t.bytes[15] = n;
  return t;
}

cmd::broker_registration broker(std::uint64_t id, std::string rack = "") {
  const std::string n = std::to_string(id);
  return {node_id{static_cast<std::uint32_t>(id)}, "uuid-" + n, "127.0.0." + n + ":9092", "127.0.0." + n + ":7000",
          std::move(rack)};
}

cmd::topic_spec topic(std::string name, std::uint8_t id, std::int32_t partitions, std::int32_t rf) {
  cmd::topic_spec t;
  t.name = std::move(name);
  t.id = make_id(id);
  t.partitions = partitions;
  t.replication_factor = rf;
  return t;
}

std::string grow(const std::string& name, std::int32_t count, replica_assignment rows = {}, std::uint64_t nonce = 1) {
  return cmd::create_partitions(cmd::topic_ref{name}, count, rows, nonce);
}

std::vector<node_id> ids(std::initializer_list<std::uint32_t> raw) {
  std::vector<node_id> out;
  for (auto r : raw) out.push_back(node_id{r});
  return out;
}

// Five brokers and a topic "t" of 3 partitions, replication factor 2.
machine five_brokers_and_a_topic() {
  machine m;
  for (std::uint64_t id = 1; id <= 5; ++id) EXPECT_TRUE(m.run(cmd::register_broker(broker(id))));
  EXPECT_TRUE(m.run(cmd::create_topic(topic("t", 1, 3, 2))));
  return m;
}

TEST(MetaPartitions, NewPartitionsAreNewGroupsOfThisRecord) {
  machine m = five_brokers_and_a_topic();
  const group_id next = m.s.data().next_group;
  const log_index at{m.next_index};
  auto r = m.run(grow("t", 5));
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(r->kind, command_kind::create_partitions);
  ASSERT_EQ(r->created.size(), 2u);
  const topic_record* t = m.s.topic("t");
  ASSERT_EQ(t->partitions.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(t->partitions[i].partition, static_cast<std::int32_t>(i));
  for (std::size_t i = 0; i < 2; ++i) {
    const partition_ref& ref = r->created[i];
    EXPECT_EQ(ref.topic, make_id(1));
    EXPECT_EQ(ref.partition, static_cast<std::int32_t>(3 + i));
    EXPECT_EQ(ref.group, group_id{next.value + i});  // from the counter, never reused
    EXPECT_EQ(ref.inc, incarnation{at.value});     // this record's index, not the topic's
    EXPECT_EQ(ref.replicas.size(), 2u);
    EXPECT_EQ(std::set<node_id>(ref.replicas.begin(), ref.replicas.end()).size(), 2u);
    EXPECT_EQ(ref.replicas, t->partitions[3 + i].replicas);
    EXPECT_EQ(t->partitions[3 + i].leader, no_node);
  }
  EXPECT_EQ(m.s.data().next_group, group_id{next.value + 2});
  // The old partitions are untouched; every broker's groups include its new replicas.
  EXPECT_EQ(t->partitions[0].inc, incarnation{t->created_index.value});
  std::size_t listed = 0;
  for (std::uint32_t b = 1; b <= 5; ++b) listed += m.s.groups_for(node_id{b}).size();
  EXPECT_EQ(listed, 5u * 2u);
}

// "Placed like CreateTopics places them": the same function over the same live brokers with the
// same seed, so the new partitions get exactly the replicas a new topic of that many partitions
// would get from the same state.
TEST(MetaPartitions, PlacedExactlyAsANewTopicWouldBe) {
  machine grown = five_brokers_and_a_topic();
  machine created = five_brokers_and_a_topic();
  // A dead broker gets nothing new in either.
  ASSERT_TRUE(grown.run(cmd::set_broker_state(node_id{2}, "uuid-2", broker_state::dead)));
  ASSERT_TRUE(created.run(cmd::set_broker_state(node_id{2}, "uuid-2", broker_state::dead)));
  auto g = grown.run(grow("t", 7));
  auto c = created.run(cmd::create_topic(topic("u", 2, 4, 2)));
  ASSERT_TRUE(g && c);
  ASSERT_EQ(g->created.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(g->created[i].replicas, c->created[i].replicas) << i;
    EXPECT_EQ(g->created[i].group, c->created[i].group) << i;
    for (node_id r : g->created[i].replicas) EXPECT_NE(r, node_id{2});
  }
}

TEST(MetaPartitions, ACountThatDoesNotGrowTheTopicIsRefused) {
  machine m = five_brokers_and_a_topic();
  const meta_data before = m.s.data();
  const auto unchanged = [&] {
    meta_data now = m.s.data();
    now.applied = before.applied;
    return now == before;
  };
  EXPECT_EQ(m.run(grow("t", 3)).error(), meta_errc::invalid_partitions);  // the count it has
  EXPECT_EQ(m.run(grow("t", 2)).error(), meta_errc::invalid_partitions);
  EXPECT_EQ(m.run(grow("t", -1)).error(), meta_errc::invalid_partitions);
  EXPECT_EQ(m.run(grow("t", max_partitions_per_topic + 1)).error(), meta_errc::invalid_partitions);
  EXPECT_TRUE(unchanged());
  EXPECT_EQ(m.run(grow("nope", 9)).error(), meta_errc::unknown_topic);
  EXPECT_EQ(m.run(cmd::create_partitions(cmd::topic_ref{make_id(9)}, 9, {}, 1)).error(), meta_errc::unknown_topic);
  EXPECT_TRUE(unchanged());

  // The same record twice (a client's retry, a proposal forwarded twice) grows the topic once.
  const std::string twice = grow("t", 4);
  ASSERT_TRUE(m.run(twice));
  const meta_data once = m.s.data();
  EXPECT_EQ(m.run(twice).error(), meta_errc::invalid_partitions);
  meta_data after = m.s.data();
  after.applied = once.applied;
  EXPECT_EQ(after, once);
  EXPECT_EQ(m.s.topic("t")->partitions.size(), 4u);
}

TEST(MetaPartitions, TooFewLiveBrokersForTheReplicationFactor) {
  machine m = five_brokers_and_a_topic();
  for (std::uint32_t b = 2; b <= 5; ++b) {
    ASSERT_TRUE(m.run(cmd::set_broker_state(node_id{b}, "uuid-" + std::to_string(b), broker_state::dead)));
  }
  EXPECT_EQ(m.run(grow("t", 4)).error(), meta_errc::invalid_replication_factor);
  EXPECT_EQ(m.s.topic("t")->partitions.size(), 3u);
}

TEST(MetaPartitions, ManualAssignmentsAreTakenAsGivenOrRefused) {
  machine m = five_brokers_and_a_topic();
  ASSERT_TRUE(m.run(cmd::set_broker_state(node_id{5}, "uuid-5", broker_state::dead)));
  const auto bad = [&](replica_assignment rows, std::int32_t count = 5) {
    auto r = m.run(grow("t", count, std::move(rows)));
    return r ? std::string("accepted") : std::string(to_string(r.error()));
  };
  const std::string refused(to_string(meta_errc::invalid_replica_assignment));
  EXPECT_EQ(bad({ids({1, 2})}), refused);                             // one row for two new partitions
  EXPECT_EQ(bad({ids({1, 2}), ids({3, 4}), ids({4, 1})}), refused);  // three rows
  EXPECT_EQ(bad({ids({1, 2}), ids({3})}), refused);                  // not the replication factor
  EXPECT_EQ(bad({ids({1, 2}), ids({3, 4, 1})}), refused);
  EXPECT_EQ(bad({ids({1, 2}), ids({3, 3})}), refused);               // a broker twice
  EXPECT_EQ(bad({ids({1, 2}), ids({3, 9})}), refused);               // not registered
  EXPECT_EQ(bad({ids({1, 2}), ids({0, 3})}), refused);               // no node
  EXPECT_EQ(m.s.topic("t")->partitions.size(), 3u);

  // A registered broker that is down may be named, as CreateTopic's manual assignment allows.
  auto r = m.run(grow("t", 5, {ids({5, 1}), ids({3, 4})}));
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(m.s.topic("t")->partitions[3].replicas, ids({5, 1}));
  EXPECT_EQ(m.s.topic("t")->partitions[4].replicas, ids({3, 4}));
}

// A proposer names the topic by id: if it was deleted and a namesake created between the proposal
// and its apply, the record does not grow the namesake.
TEST(MetaPartitions, ATopicIdFencesANamesake) {
  machine m = five_brokers_and_a_topic();
  const std::string by_id = cmd::create_partitions(cmd::topic_ref{make_id(1)}, 6, {}, 7);
  ASSERT_TRUE(m.run(cmd::delete_topic(cmd::topic_ref{std::string("t")})));
  ASSERT_TRUE(m.run(cmd::create_topic(topic("t", 2, 1, 1))));
  EXPECT_EQ(m.run(by_id).error(), meta_errc::unknown_topic);
  EXPECT_EQ(m.s.topic("t")->partitions.size(), 1u);
}

// Rows out of order or a row count beyond the limit in a (hand-built) record are refused whole.
TEST(MetaPartitions, MalformedRowsAreRefused) {
  machine m = five_brokers_and_a_topic();
  proto::MetaCommand c;
  auto* g = c.mutable_create_partitions();
  g->mutable_topic()->set_name("t");
  g->set_count(5);
  auto* a = g->add_assignments();
  a->set_partition(4);  // must be 3 first
  a->add_replicas(1);
  a->add_replicas(2);
  auto* b = g->add_assignments();
  b->set_partition(3);
  b->add_replicas(3);
  b->add_replicas(4);
  EXPECT_EQ(m.run(c.SerializeAsString()).error(), meta_errc::invalid_replica_assignment);
  a->set_partition(3);
  b->set_partition(4);
  a->add_replicas(std::uint64_t{1} << 40);  // wider than a node id: never truncated into one
  EXPECT_EQ(m.run(c.SerializeAsString()).error(), meta_errc::invalid_replica_assignment);
  a->mutable_replicas()->RemoveLast();
  EXPECT_TRUE(m.run(c.SerializeAsString()));
  EXPECT_EQ(m.s.topic("t")->partitions.size(), 5u);
}

// Validate-only answers come from plan_partition_growth on the local state: the same decision as
// applying the record there.
TEST(MetaPartitions, ThePlanDecidesAsApplyDoes) {
  struct probe {
    std::int32_t count;
    std::optional<replica_assignment> manual;
  };
  const std::vector<probe> probes = {
      {3, std::nullopt}, {4, std::nullopt}, {9, std::nullopt}, {10'001, std::nullopt},
      {5, replica_assignment{ids({1, 2}), ids({2, 3})}}, {5, replica_assignment{ids({1, 2})}},
      {4, replica_assignment{ids({1, 7})}},
  };
  for (const auto& p : probes) {
    machine m = five_brokers_and_a_topic();
    auto plan = plan_partition_growth(m.s.data(), *m.s.topic("t"), p.count, p.manual);
    auto applied = m.run(grow("t", p.count, p.manual.value_or(replica_assignment{})));
    ASSERT_EQ(plan.has_value(), applied.has_value()) << p.count;
    if (!plan) {
      EXPECT_EQ(plan.error(), applied.error());
      continue;
    }
    ASSERT_EQ(plan->size(), applied->created.size());
    for (std::size_t i = 0; i < plan->size(); ++i) EXPECT_EQ((*plan)[i], applied->created[i].replicas);
  }
}

// docs/raft.md "Rejoining replicas": a partition added after a wiped node registered its new uuid
// was never held by its earlier life, so that replica starts fresh; the topic's older ones rejoin.
TEST(MetaPartitions, PartitionsAddedAfterAWipeStartFresh) {
  machine m;
  for (std::uint64_t id = 1; id <= 3; ++id) ASSERT_TRUE(m.run(cmd::register_broker(broker(id))));
  ASSERT_TRUE(m.run(cmd::create_topic(topic("t", 1, 1, 3))));
  auto wiped = broker(2);
  wiped.uuid = "uuid-2-new";
  ASSERT_TRUE(m.run(cmd::register_broker(wiped)));
  ASSERT_TRUE(m.run(grow("t", 2)));
  const auto refs = m.s.groups_for(node_id{2});
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_TRUE(m.s.replica_rejoins(node_id{2}, "uuid-2-new", refs[0])) << "older than the new uuid";
  EXPECT_FALSE(m.s.replica_rejoins(node_id{2}, "uuid-2-new", refs[1])) << "added after it registered";
}

TEST(MetaPartitions, SnapshotsCarryTheGrownTopic) {
  machine a = five_brokers_and_a_topic();
  ASSERT_TRUE(a.run(grow("t", 6)));
  ASSERT_TRUE(a.run(cmd::set_partition_leader(make_id(1), 5, a.s.topic("t")->partitions[5].replicas[0], term_id{2})));
  const std::string snap = a.s.snapshot();
  meta_state b;
  ASSERT_TRUE(b.restore(snap));
  EXPECT_EQ(b.data(), a.s.data());
  EXPECT_EQ(b.snapshot(), snap);
  EXPECT_EQ(b.groups_for(node_id{1}), a.s.groups_for(node_id{1}));
  // Both grow on identically after the restore.
  const std::string next = grow("t", 8);
  auto ra = a.s.apply(log_index{100}, next);
  auto rb = b.apply(log_index{100}, next);
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(ra->created, rb->created);
  EXPECT_EQ(a.s.snapshot(), b.snapshot());

  // A partition older than its topic was made by no sequence of records: refused whole.
  proto::MetaSnapshot s;
  ASSERT_TRUE(s.ParseFromString(snap));
  s.mutable_topics(0)->mutable_partitions(4)->set_incarnation(s.topics(0).created_index() - 1);
  meta_state c;
  EXPECT_EQ(c.restore(s.SerializeAsString()).error(), meta_errc::malformed_snapshot);
  EXPECT_EQ(c.data(), meta_data{});
}

// Two replicas fed the same stream of growth records (valid, repeated, bit-flipped) agree on every
// result and every byte.
TEST(MetaPartitions, ReplicasFedTheSameGrowthAgree) {
  std::vector<std::string> valid = {cmd::set_cluster_id("c")};
  for (std::uint64_t id = 1; id <= 6; ++id) valid.push_back(cmd::register_broker(broker(id, id % 2 ? "r1" : "r2")));
  for (std::uint8_t t = 1; t <= 3; ++t) valid.push_back(cmd::create_topic(topic("t" + std::to_string(t), t, t, t)));
  for (std::int32_t n = 2; n <= 12; ++n) {
    valid.push_back(grow("t" + std::to_string(1 + n % 3), n, {}, static_cast<std::uint64_t>(n)));
  }
  valid.push_back(grow("t1", 20, {ids({1}), ids({2})}));
  valid.push_back(cmd::set_broker_state(node_id{3}, "uuid-3", broker_state::dead));
  machine a, b;
  for (const auto& c : valid) {
    a.run(c);
    b.run(c);
  }
  std::mt19937_64 rng(15);
  int accepted = 0;
  for (int i = 0; i < 5'000; ++i) {
    std::string c = valid[rng() % valid.size()];
    if (rng() % 2 == 0) c[rng() % c.size()] ^= static_cast<char>(1 << (rng() % 8));
    auto ra = a.run(c);
    auto rb = b.run(c);
    ASSERT_EQ(ra.has_value(), rb.has_value()) << i;
    if (ra) {
      ++accepted;
      EXPECT_EQ(ra->created, rb->created);
    } else {
      EXPECT_EQ(ra.error(), rb.error());
    }
  }
  EXPECT_GT(accepted, 10);
  EXPECT_EQ(a.s.snapshot(), b.s.snapshot());
  meta_state restored;
  ASSERT_TRUE(restored.restore(a.s.snapshot()));
  EXPECT_EQ(restored.data(), a.s.data());
}

}  // namespace
}  // namespace chronik::metadata
