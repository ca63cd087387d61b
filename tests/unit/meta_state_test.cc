// The `__meta` state machine (metadata/meta_state.h): each command's rules, replica assignment,
// snapshots, and determinism: equal command streams give byte-equal snapshots, and garbage is
// rejected the same way everywhere without a crash.
#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "meta.pb.h"
#include "metadata/meta_commands.h"
#include "metadata/meta_state.h"
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
  t.bytes[0] = 0xab;
  t.bytes[15] = n;
  return t;
}

cmd::broker_registration broker(std::uint64_t id, std::string rack = "") {
  const std::string n = std::to_string(id);
  return {node_id{static_cast<std::uint32_t>(id)}, "uuid-" + n, "127.0.0." + n + ":9092", "127.0.0." + n + ":7000", std::move(rack)};
}

cmd::topic_spec topic(std::string name, std::uint8_t id, std::int32_t partitions, std::int32_t rf) {
  cmd::topic_spec t;
  t.name = std::move(name);
  t.id = make_id(id);
  t.partitions = partitions;
  t.replication_factor = rf;
  return t;
}

void register_brokers(machine& m, std::uint64_t count) {
  for (std::uint64_t id = 1; id <= count; ++id) ASSERT_TRUE(m.run(cmd::register_broker(broker(id))));
}

TEST(MetaState, ClusterIdIsSetOnce) {
  machine m;
  EXPECT_TRUE(m.run(cmd::set_cluster_id("c1"))->changed);
  EXPECT_FALSE(m.run(cmd::set_cluster_id("c1"))->changed);
  EXPECT_EQ(m.run(cmd::set_cluster_id("c2")).error(), meta_errc::cluster_id_mismatch);
  EXPECT_EQ(m.run(cmd::set_cluster_id("")).error(), meta_errc::malformed_command);
  EXPECT_EQ(m.s.cluster_id(), "c1");
  EXPECT_EQ(m.s.applied_index(), log_index{4});  // rejected commands are applied too
}

TEST(MetaState, RegisterBrokerIsIdempotentAndANewUuidReplaces) {
  machine m;
  register_brokers(m, 3);
  ASSERT_EQ(m.s.brokers().size(), 3u);
  EXPECT_EQ(m.s.broker(node_id{2})->kafka_addr, "127.0.0.2:9092");
  EXPECT_EQ(m.s.broker(node_id{2})->epoch, log_index{2});

  EXPECT_FALSE(m.run(cmd::register_broker(broker(2)))->changed);  // a restart re-registers
  auto moved = broker(2);
  moved.kafka_addr = "10.0.0.2:9092";
  EXPECT_TRUE(m.run(cmd::register_broker(moved))->changed);
  EXPECT_EQ(m.s.broker(node_id{2})->kafka_addr, "10.0.0.2:9092");
  EXPECT_EQ(m.s.broker(node_id{2})->epoch, log_index{2});  // same uuid keeps its epoch

  auto wiped = broker(2);
  wiped.uuid = "uuid-2-new";
  EXPECT_TRUE(m.run(cmd::register_broker(wiped))->changed);
  EXPECT_EQ(m.s.broker(node_id{2})->uuid, "uuid-2-new");
  EXPECT_EQ(m.s.broker(node_id{2})->epoch, log_index{6});
  EXPECT_EQ(m.s.brokers().size(), 3u);

  auto clash = broker(4);
  clash.uuid = "uuid-1";
  EXPECT_EQ(m.run(cmd::register_broker(clash)).error(), meta_errc::broker_uuid_conflict);
  EXPECT_EQ(m.run(cmd::register_broker(broker(0))).error(), meta_errc::invalid_broker);
  auto no_addr = broker(5);
  no_addr.kafka_addr.clear();
  EXPECT_EQ(m.run(cmd::register_broker(no_addr)).error(), meta_errc::invalid_broker);
}

TEST(MetaState, BrokerCommandsAreFencedByUuid) {
  machine m;
  register_brokers(m, 2);
  EXPECT_EQ(m.run(cmd::set_broker_state(node_id{1}, "old", broker_state::dead)).error(),
            meta_errc::broker_uuid_mismatch);
  EXPECT_TRUE(m.run(cmd::set_broker_state(node_id{1}, "uuid-1", broker_state::dead))->changed);
  EXPECT_EQ(m.s.broker(node_id{1})->state, broker_state::dead);
  EXPECT_TRUE(m.run(cmd::register_broker(broker(1))));  // coming back makes it alive again
  EXPECT_EQ(m.s.broker(node_id{1})->state, broker_state::alive);
  EXPECT_EQ(m.run(cmd::unregister_broker(node_id{9}, "")).error(), meta_errc::unknown_broker);
  EXPECT_TRUE(m.run(cmd::unregister_broker(node_id{2}, "")));
  EXPECT_EQ(m.s.broker(node_id{2}), nullptr);
}

// docs/raft.md "Rejoining replicas": a replica rejoins when its partition is older than the
// registration of the node's current uuid, or when that uuid is not registered yet.
TEST(MetaState, ReplicasOfPartitionsOlderThanTheUuidRejoin) {
  machine m;
  register_brokers(m, 3);
  ASSERT_TRUE(m.run(cmd::create_topic(topic("old", 1, 1, 3))));
  ASSERT_TRUE(m.run(cmd::create_topic(topic("single", 2, 1, 1))));
  const partition_ref old_ref = m.s.groups_for(node_id{2}).front();
  EXPECT_FALSE(m.s.replica_rejoins(node_id{2}, "uuid-2", old_ref)) << "created after the registration";
  EXPECT_TRUE(m.s.replica_rejoins(node_id{2}, "uuid-2-new", old_ref)) << "a wiped directory, not registered yet";

  auto wiped = broker(2);
  wiped.uuid = "uuid-2-new";
  ASSERT_TRUE(m.run(cmd::register_broker(wiped)));
  EXPECT_TRUE(m.s.replica_rejoins(node_id{2}, "uuid-2-new", old_ref));
  ASSERT_TRUE(m.run(cmd::create_topic(topic("new", 3, 1, 3))));
  for (const auto& ref : m.s.groups_for(node_id{2})) {
    const auto* t = m.s.topic(ref.topic);
    ASSERT_NE(t, nullptr);
    // "new" is younger than the uuid; "single" has one replica and nobody to catch up from, so it
    // starts fresh (its data went with the disk).
    if (t->name == "new" || t->name == "single") {
      EXPECT_FALSE(m.s.replica_rejoins(node_id{2}, "uuid-2-new", ref)) << t->name;
    }
  }
}

TEST(MetaState, CreateTopicAssignsGroupsFromTheState) {
  machine m;
  register_brokers(m, 3);
  auto spec = topic("orders", 1, 6, 3);
  spec.configs = {{"retention.ms", "1000"}};
  auto r = m.run(cmd::create_topic(spec));
  ASSERT_TRUE(r) << to_string(r.error());
  const topic_record* t = m.s.topic("orders");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(m.s.topic(make_id(1)), t);
  EXPECT_EQ(t->configs.at("retention.ms"), "1000");
  ASSERT_EQ(t->partitions.size(), 6u);
  ASSERT_EQ(r->created.size(), 6u);
  std::map<node_id, int> preferred;
  for (std::size_t p = 0; p < 6; ++p) {
    const auto& part = t->partitions[p];
    EXPECT_EQ(part.partition, static_cast<std::int32_t>(p));
    EXPECT_EQ(part.group, group_id{first_partition_group_id.value + p});
    EXPECT_EQ(part.inc, incarnation{4});  // the creating record's index
    EXPECT_EQ(std::set<node_id>(part.replicas.begin(), part.replicas.end()).size(), 3u);
    EXPECT_EQ(r->created[p], (partition_ref{t->id, part.partition, part.group, part.inc, part.replicas, part.replicas, {}}));
    ++preferred[part.replicas.front()];
  }
  for (const auto& [id, n] : preferred) EXPECT_EQ(n, 2) << "preferred leaders spread evenly";
  EXPECT_EQ(m.s.groups_for(node_id{1}).size(), 6u);
  EXPECT_EQ(m.s.groups_for(node_id{7}).size(), 0u);
}

TEST(MetaState, CreateTopicRejectionsLeaveTheStateAlone) {
  machine m;
  register_brokers(m, 3);
  ASSERT_TRUE(m.run(cmd::create_topic(topic("a", 1, 1, 1))));
  EXPECT_EQ(m.run(cmd::create_topic(topic("a", 2, 1, 1))).error(), meta_errc::topic_already_exists);
  EXPECT_EQ(m.run(cmd::create_topic(topic("b", 1, 1, 1))).error(), meta_errc::topic_id_already_exists);
  EXPECT_EQ(m.run(cmd::create_topic(topic("b", 2, 1, 4))).error(), meta_errc::invalid_replication_factor);
  EXPECT_EQ(m.run(cmd::create_topic(topic("b", 2, 0, 1))).error(), meta_errc::invalid_partitions);
  EXPECT_EQ(m.run(cmd::create_topic(topic("b/c", 2, 1, 1))).error(), meta_errc::invalid_topic_name);
  EXPECT_EQ(m.run(cmd::create_topic(topic("..", 2, 1, 1))).error(), meta_errc::invalid_topic_name);
  auto zero = topic("b", 2, 1, 1);
  zero.id = topic_id{};
  EXPECT_EQ(m.run(cmd::create_topic(zero)).error(), meta_errc::invalid_topic_id);
  ASSERT_TRUE(m.run(cmd::set_broker_state(node_id{3}, "uuid-3", broker_state::dead)));
  // Only live brokers take replicas, so a dead one makes RF 3 impossible.
  EXPECT_EQ(m.run(cmd::create_topic(topic("b", 2, 1, 3))).error(), meta_errc::invalid_replication_factor);
  EXPECT_EQ(m.s.topics().size(), 1u);
  EXPECT_EQ(m.s.data().next_group, group_id{first_partition_group_id.value + 1});
}

TEST(MetaState, ManualAssignmentIsValidated) {
  machine m;
  register_brokers(m, 3);
  auto spec = topic("manual", 1, 0, 0);
  spec.assignments = {{node_id{3}, node_id{1}}, {node_id{2}, node_id{3}}};
  ASSERT_TRUE(m.run(cmd::create_topic(spec)));
  EXPECT_EQ(m.s.topic("manual")->partitions[0].replicas, (std::vector<node_id>{node_id{3}, node_id{1}}));
  EXPECT_EQ(m.s.topic("manual")->replication_factor, 2);

  auto dup = topic("dup", 2, 0, 0);
  dup.assignments = {{node_id{1}, node_id{1}}};
  EXPECT_EQ(m.run(cmd::create_topic(dup)).error(), meta_errc::invalid_replica_assignment);
  auto unknown = topic("unknown", 3, 0, 0);
  unknown.assignments = {{node_id{1}, node_id{9}}};
  EXPECT_EQ(m.run(cmd::create_topic(unknown)).error(), meta_errc::invalid_replica_assignment);
  auto ragged = topic("ragged", 4, 0, 0);
  ragged.assignments = {{node_id{1}, node_id{2}}, {node_id{1}}};
  EXPECT_EQ(m.run(cmd::create_topic(ragged)).error(), meta_errc::invalid_replica_assignment);
  auto count = topic("count", 5, 3, 0);
  count.assignments = {{node_id{1}}};
  EXPECT_EQ(m.run(cmd::create_topic(count)).error(), meta_errc::invalid_partitions);
}

TEST(MetaState, DeleteTopicNeverReusesGroupIds) {
  machine m;
  register_brokers(m, 3);
  ASSERT_TRUE(m.run(cmd::create_topic(topic("a", 1, 2, 2))));
  auto del = m.run(cmd::delete_topic(cmd::topic_ref{std::string("a")}));
  ASSERT_TRUE(del);
  ASSERT_EQ(del->removed.size(), 2u);
  EXPECT_EQ(del->removed[1].group, group_id{first_partition_group_id.value + 1});
  EXPECT_EQ(m.s.topic("a"), nullptr);
  EXPECT_EQ(m.s.topic(make_id(1)), nullptr);
  EXPECT_EQ(m.run(cmd::delete_topic(cmd::topic_ref{std::string("a")})).error(), meta_errc::unknown_topic);

  auto again = m.run(cmd::create_topic(topic("a", 2, 1, 1)));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->created[0].group, group_id{first_partition_group_id.value + 2});
  EXPECT_TRUE(m.run(cmd::delete_topic(cmd::topic_ref{make_id(2)})));
  EXPECT_TRUE(m.s.topics().empty());
}

TEST(MetaState, PartitionLeaderFollowsRaftTerms) {
  machine m;
  register_brokers(m, 3);
  auto spec = topic("t", 1, 1, 0);
  spec.assignments = {{node_id{1}, node_id{2}}};
  ASSERT_TRUE(m.run(cmd::create_topic(spec)));
  const topic_id id = make_id(1);
  EXPECT_TRUE(m.run(cmd::set_partition_leader(id, 0, node_id{1}, term_id{3})));
  EXPECT_FALSE(m.run(cmd::set_partition_leader(id, 0, node_id{1}, term_id{3}))->changed);
  EXPECT_EQ(m.run(cmd::set_partition_leader(id, 0, node_id{2}, term_id{3})).error(), meta_errc::stale_leader_epoch);
  EXPECT_EQ(m.run(cmd::set_partition_leader(id, 0, node_id{2}, term_id{2})).error(), meta_errc::stale_leader_epoch);
  EXPECT_EQ(m.run(cmd::set_partition_leader(id, 0, node_id{3}, term_id{4})).error(), meta_errc::invalid_leader);
  EXPECT_EQ(m.run(cmd::set_partition_leader(id, 1, node_id{1}, term_id{4})).error(), meta_errc::unknown_partition);
  EXPECT_EQ(m.run(cmd::set_partition_leader(make_id(9), 0, node_id{1}, term_id{4})).error(), meta_errc::unknown_topic);
  EXPECT_TRUE(m.run(cmd::set_partition_leader(id, 0, node_id{}, term_id{3})));  // leader lost
  EXPECT_TRUE(m.run(cmd::set_partition_leader(id, 0, node_id{2}, term_id{3})));
  EXPECT_TRUE(m.run(cmd::set_partition_leader(id, 0, node_id{1}, term_id{5})));
  EXPECT_EQ(m.s.partition(id, 0)->leader, node_id{1});
  EXPECT_EQ(m.s.partition(id, 0)->leader_epoch, term_id{5});
}

// The leader reports its in-sync replicas with its leadership (docs/kafka.md "In-sync replicas"):
// the same leader in the same term may change the ISR; an ISR naming a non-replica, a replica twice,
// or leaving out the leader is refused; a report without an ISR keeps the last one.
TEST(MetaState, TheLeaderReportsItsInSyncReplicas) {
  machine m;
  register_brokers(m, 3);
  auto spec = topic("t", 1, 1, 0);
  spec.assignments = {{node_id{1}, node_id{2}, node_id{3}}};
  ASSERT_TRUE(m.run(cmd::create_topic(spec)));
  const topic_id id = make_id(1);
  const auto isr = [&] { return m.s.partition(id, 0)->isr; };
  EXPECT_TRUE(m.run(cmd::set_partition_leader(id, 0, node_id{2}, term_id{3})));
  EXPECT_TRUE(isr().empty());
  EXPECT_TRUE(m.run(cmd::set_partition_leader(id, 0, node_id{2}, term_id{3}, {node_id{3}, node_id{2}}))->changed);
  EXPECT_EQ(isr(), (std::vector<node_id>{node_id{2}, node_id{3}}));  // kept in replica order
  EXPECT_FALSE(m.run(cmd::set_partition_leader(id, 0, node_id{2}, term_id{3}, {node_id{2}, node_id{3}}))->changed);
  EXPECT_FALSE(m.run(cmd::set_partition_leader(id, 0, node_id{2}, term_id{3}))->changed);
  EXPECT_EQ(isr(), (std::vector<node_id>{node_id{2}, node_id{3}}));
  EXPECT_EQ(m.run(cmd::set_partition_leader(id, 0, node_id{2}, term_id{3}, {node_id{2}, node_id{4}})).error(),
            meta_errc::invalid_leader);
  EXPECT_EQ(m.run(cmd::set_partition_leader(id, 0, node_id{2}, term_id{3}, {node_id{2}, node_id{2}})).error(),
            meta_errc::invalid_leader);
  EXPECT_EQ(m.run(cmd::set_partition_leader(id, 0, node_id{2}, term_id{3}, {node_id{1}, node_id{3}})).error(),
            meta_errc::invalid_leader);
  // A new leader keeps the old ISR until it reports its own.
  EXPECT_TRUE(m.run(cmd::set_partition_leader(id, 0, node_id{1}, term_id{4})));
  EXPECT_EQ(isr(), (std::vector<node_id>{node_id{2}, node_id{3}}));
  EXPECT_TRUE(m.run(cmd::set_partition_leader(id, 0, node_id{1}, term_id{4}, {node_id{1}, node_id{2}, node_id{3}})));
  EXPECT_EQ(isr().size(), 3u);
  // The snapshot carries it.
  meta_state b;
  ASSERT_TRUE(b.restore(m.s.snapshot()));
  EXPECT_EQ(b.data(), m.s.data());
}

// Node ids are 64-bit in `__meta` records and 32-bit in memory (base/node_id.h): a leader or a
// broker id that does not fit is refused, never truncated (2^32 + 1 would have named node 1).
TEST(MetaState, NodeIdsWiderThanANodeIdAreRefused) {
  machine m;
  register_brokers(m, 3);
  auto spec = topic("t", 1, 1, 0);
  spec.assignments = {{node_id{1}, node_id{2}}};
  ASSERT_TRUE(m.run(cmd::create_topic(spec)));
  constexpr std::uint64_t wide = (std::uint64_t{1} << 32) + 1;
  proto::MetaCommand leader;
  ASSERT_TRUE(leader.ParseFromString(cmd::set_partition_leader(make_id(1), 0, node_id{1}, term_id{3})));
  leader.mutable_set_partition_leader()->set_leader(wide);
  EXPECT_EQ(m.run(leader.SerializeAsString()).error(), meta_errc::invalid_leader);
  proto::MetaCommand reg;
  ASSERT_TRUE(reg.ParseFromString(cmd::register_broker(broker(4))));
  reg.mutable_register_broker()->set_node_id(wide);
  EXPECT_EQ(m.run(reg.SerializeAsString()).error(), meta_errc::invalid_broker);
  EXPECT_EQ(m.s.brokers().size(), 3u);
}

TEST(MetaState, AlterTopicConfig) {
  machine m;
  register_brokers(m, 1);
  auto spec = topic("t", 1, 1, 1);
  spec.configs = {{"a", "1"}, {"b", "2"}};
  ASSERT_TRUE(m.run(cmd::create_topic(spec)));
  const cmd::topic_ref ref{std::string("t")};
  EXPECT_TRUE(m.run(cmd::alter_topic_config(ref, {{"c", "3"}}, {"a"}))->changed);
  EXPECT_EQ(m.s.topic("t")->configs, (std::map<std::string, std::string>{{"b", "2"}, {"c", "3"}}));
  EXPECT_FALSE(m.run(cmd::alter_topic_config(ref, {{"c", "3"}}, {"a"}))->changed);
  EXPECT_EQ(m.run(cmd::alter_topic_config(ref, {{"c", "4"}}, {"c"})).error(), meta_errc::invalid_config);
  EXPECT_EQ(m.run(cmd::alter_topic_config(ref, {{"", "4"}}, {})).error(), meta_errc::invalid_config);
  EXPECT_EQ(m.run(cmd::alter_topic_config(cmd::topic_ref{std::string("x")}, {}, {})).error(), meta_errc::unknown_topic);
}

// IncrementalAlterConfigs' APPEND and SUBTRACT apply to the value current when the record applies:
// two edits computed from the same old value, as two brokers would propose them at once, both take
// effect (with a computed "set" the later one dropped the earlier one's item).
TEST(MetaState, ConcurrentListEditsBothTakeEffect) {
  machine m;
  register_brokers(m, 1);
  ASSERT_TRUE(m.run(cmd::create_topic(topic("t", 1, 1, 1))));
  const cmd::topic_ref ref{std::string("t")};
  const auto edit = [](bool append, std::vector<std::string> items) {
    return cmd::list_edit{"x.list", append, std::move(items), "d"};
  };
  ASSERT_TRUE(m.run(cmd::alter_topic_config(ref, {}, {}, {edit(true, {"a"})}))->changed);
  ASSERT_TRUE(m.run(cmd::alter_topic_config(ref, {}, {}, {edit(true, {"b", "a"})}))->changed);
  EXPECT_EQ(m.s.topic("t")->configs.at("x.list"), "d,a,b") << "unset keys start from the default";
  EXPECT_FALSE(m.run(cmd::alter_topic_config(ref, {}, {}, {edit(true, {"b"})}))->changed);
  ASSERT_TRUE(m.run(cmd::alter_topic_config(ref, {}, {}, {edit(false, {"d", "zz"})}))->changed);
  EXPECT_EQ(m.s.topic("t")->configs.at("x.list"), "a,b");
  // An edit of a key the same record sets or removes is refused: the order would be unclear.
  EXPECT_EQ(m.run(cmd::alter_topic_config(ref, {{"x.list", "q"}}, {}, {edit(true, {"c"})})).error(), meta_errc::invalid_config);
  EXPECT_EQ(m.run(cmd::alter_topic_config(ref, {}, {"x.list"}, {edit(true, {"c"})})).error(), meta_errc::invalid_config);
  EXPECT_EQ(m.s.topic("t")->configs.at("x.list"), "a,b");
}

// A config change names the topic's groups, so the replicas take it live (docs/kafka.md "Configs");
// a change that changes nothing names none.
TEST(MetaState, AlterTopicConfigNamesTheGroupsToReconfigure) {
  machine m;
  register_brokers(m, 3);
  ASSERT_TRUE(m.run(cmd::create_topic(topic("t", 1, 2, 3))));
  const cmd::topic_ref ref{std::string("t")};
  auto r = m.run(cmd::alter_topic_config(ref, {{"retention.ms", "1000"}}, {}));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->reconfigured.size(), 2u);
  EXPECT_EQ(r->reconfigured[0].group, m.s.topic("t")->partitions[0].group);
  EXPECT_EQ(r->reconfigured[1].partition, 1);
  EXPECT_EQ(r->reconfigured[1].replicas, m.s.topic("t")->partitions[1].replicas);
  auto again = m.run(cmd::alter_topic_config(ref, {{"retention.ms", "1000"}}, {}));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->reconfigured.empty());
}

// The cluster-wide broker defaults: set, removed and edited as one topic's configs are, and a change
// names every partition of every topic, whose replicas take the configs then in effect
// (docs/kafka.md "Cluster-wide defaults"); one that changes nothing names none.
TEST(MetaState, AlterClusterConfigChangesTheDefaultsAndNamesEveryPartition) {
  machine m;
  register_brokers(m, 3);
  ASSERT_TRUE(m.run(cmd::create_topic(topic("a", 1, 2, 3))));
  ASSERT_TRUE(m.run(cmd::create_topic(topic("b", 2, 1, 1))));
  auto r = m.run(cmd::alter_cluster_config({{"log.retention.ms", "60000"}}, {}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, command_kind::alter_cluster_config);
  EXPECT_EQ(m.s.cluster_configs(), (std::map<std::string, std::string>{{"log.retention.ms", "60000"}}));
  ASSERT_EQ(r->reconfigured.size(), 3u);
  EXPECT_EQ(r->reconfigured[0].group, m.s.topic("a")->partitions[0].group);
  EXPECT_EQ(r->reconfigured[2].group, m.s.topic("b")->partitions[0].group);
  auto again = m.run(cmd::alter_cluster_config({{"log.retention.ms", "60000"}}, {}));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->changed);
  EXPECT_TRUE(again->reconfigured.empty());
  // APPEND starts from the built-in default the record carries when the key is not set.
  ASSERT_TRUE(m.run(cmd::alter_cluster_config({}, {}, {cmd::list_edit{"log.cleanup.policy", true, {"compact"}, "delete"}})));
  EXPECT_EQ(m.s.cluster_configs().at("log.cleanup.policy"), "delete,compact");
  ASSERT_TRUE(m.run(cmd::alter_cluster_config({}, {"log.retention.ms"})));
  EXPECT_EQ(m.s.cluster_configs(), (std::map<std::string, std::string>{{"log.cleanup.policy", "delete,compact"}}));
  // Bounded and unambiguous as a topic's configs; a refusal changes nothing.
  EXPECT_EQ(m.run(cmd::alter_cluster_config({{"k", "v"}}, {"k"})).error(), meta_errc::invalid_config);
  EXPECT_EQ(m.run(cmd::alter_cluster_config({{"k", std::string(max_config_value_bytes + 1, 'x')}}, {})).error(),
            meta_errc::invalid_config);
  std::map<std::string, std::string> many;
  for (std::size_t i = 0; i <= max_configs_per_topic; ++i) many["k" + std::to_string(i)] = "v";
  EXPECT_EQ(m.run(cmd::alter_cluster_config(many, {})).error(), meta_errc::invalid_config);
  EXPECT_EQ(m.s.cluster_configs().size(), 1u);
}

// ElectLeaders' record changes no state and names the partitions whose leaders must transfer
// (docs/kafka.md "Preferred leaders"); one naming a partition or topic that does not exist is refused.
TEST(MetaState, ElectLeadersNamesThePartitionsAndChangesNothing) {
  machine m;
  register_brokers(m, 3);
  ASSERT_TRUE(m.run(cmd::create_topic(topic("t", 3, 3, 3))));
  const auto* t = m.s.topic("t");
  meta_data before = m.s.data();
  auto r = m.run(cmd::elect_leaders(t->id, {2, 0}, 12345, 7));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, command_kind::elect_leaders);
  EXPECT_FALSE(r->changed);
  EXPECT_EQ(r->elect_expires_at_ms, 12345);
  ASSERT_EQ(r->elect.size(), 2u);
  EXPECT_EQ(r->elect[0].group, t->partitions[2].group);
  EXPECT_EQ(r->elect[0].replicas, t->partitions[2].replicas);
  EXPECT_EQ(r->elect[1].partition, 0);
  before.applied = m.s.applied_index();  // only the applied index moves
  EXPECT_EQ(m.s.data(), before);
  auto bad = m.run(cmd::elect_leaders(t->id, {3}, 1, 8));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), meta_errc::unknown_partition);
  topic_id other = t->id;
  other.bytes[0] ^= 0xff;
  auto gone = m.run(cmd::elect_leaders(other, {0}, 1, 9));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error(), meta_errc::unknown_topic);
}

// Every partition spans min(rf, racks) racks, for many broker layouts and seeds.
TEST(ReplicaAssignment, RackAwareSpreadsRacks) {
  const std::vector<std::vector<std::string>> layouts = {
      {"a", "a", "b", "b", "c", "c"}, {"a", "a", "a", "a", "b"}, {"x", "y", "x", "y", "x", "y", "z"}, {"r", "", "r", ""}};
  for (const auto& racks : layouts) {
    std::vector<assignment_broker> brokers;
    for (std::size_t i = 0; i < racks.size(); ++i) brokers.push_back({node_id{static_cast<std::uint32_t>((i * 7) % 11 + 1)}, racks[i]});
    const std::size_t rack_count = std::set<std::string>(racks.begin(), racks.end()).size();
    for (std::int32_t rf = 1; rf <= static_cast<std::int32_t>(brokers.size()); ++rf) {
      for (std::uint64_t seed = 0; seed < 20; ++seed) {
        auto a = assign_replicas(brokers, {12, rf, seed});
        ASSERT_TRUE(a);
        for (const auto& replicas : *a) {
          std::set<std::string> used;
          std::set<node_id> distinct(replicas.begin(), replicas.end());
          ASSERT_EQ(distinct.size(), static_cast<std::size_t>(rf));
          for (node_id r : replicas) {
            auto it = std::find_if(brokers.begin(), brokers.end(), [&](const auto& b) { return b.id == r; });
            used.insert(it->rack);
          }
          EXPECT_EQ(used.size(), std::min<std::size_t>(rf, rack_count));
        }
      }
    }
  }
}

TEST(ReplicaAssignment, DeterministicAndBounded) {
  std::vector<assignment_broker> brokers = {{node_id{3}, ""}, {node_id{1}, ""}, {node_id{2}, ""}};
  std::vector<assignment_broker> shuffled = {{node_id{2}, ""}, {node_id{3}, ""}, {node_id{1}, ""}};
  EXPECT_EQ(assign_replicas(brokers, {9, 2, 5}), assign_replicas(shuffled, {9, 2, 5}));
  EXPECT_EQ(assign_replicas(brokers, {1, 4, 0}).error(), assignment_errc::invalid_replication_factor);
  EXPECT_EQ(assign_replicas(brokers, {0, 1, 0}).error(), assignment_errc::invalid_partitions);
  EXPECT_EQ(assign_replicas({}, {1, 1, 0}).error(), assignment_errc::invalid_replication_factor);
}

// A scripted history with racks, topics, leaders and configs, including rejected commands.
std::vector<std::string> history() {
  std::vector<std::string> out = {cmd::set_cluster_id("cluster-x")};
  for (std::uint64_t id = 1; id <= 6; ++id) out.push_back(cmd::register_broker(broker(id, id % 2 ? "r1" : "r2")));
  for (std::uint8_t t = 1; t <= 5; ++t) {
    auto spec = topic("topic-" + std::to_string(t), t, t, 1 + t % 3);
    spec.configs = {{"cleanup.policy", "delete"}, {"segment.bytes", std::to_string(t * 1000)}};
    out.push_back(cmd::create_topic(spec));
    out.push_back(cmd::set_partition_leader(make_id(t), 0, node_id{t}, term_id{t}));
  }
  out.push_back(cmd::create_topic(topic("topic-1", 9, 1, 1)));  // rejected
  out.push_back(cmd::delete_topic(cmd::topic_ref{std::string("topic-2")}));
  out.push_back(cmd::set_broker_state(node_id{4}, "uuid-4", broker_state::draining));
  out.push_back(cmd::alter_topic_config(cmd::topic_ref{make_id(3)}, {{"retention.ms", "5"}}, {"segment.bytes"}));
  out.push_back(cmd::allocate_producer_ids(node_id{2}, 11));  // the snapshot then carries the counter
  out.push_back(cmd::alter_cluster_config({{"log.retention.ms", "60000"}, {"log.segment.bytes", "1048576"}}, {}));
  return out;
}

TEST(MetaState, SnapshotRestoreRoundTrip) {
  machine a;
  for (const auto& c : history()) a.run(c);
  const std::string snap = a.s.snapshot();
  meta_state b;
  ASSERT_TRUE(b.restore(snap));
  EXPECT_EQ(b.data(), a.s.data());
  EXPECT_EQ(b.snapshot(), snap);
  // Both continue identically after the restore.
  const std::string next = cmd::create_topic(topic("after", 77, 3, 2));
  auto ra = a.s.apply(log_index{100}, next);
  auto rb = b.apply(log_index{100}, next);
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(ra->created, rb->created);
  EXPECT_EQ(a.s.snapshot(), b.snapshot());
}

TEST(MetaState, RestoreRejectsBadSnapshotsAtomically) {
  machine a;
  for (const auto& c : history()) a.run(c);
  const std::string good = a.s.snapshot();
  meta_state b;
  ASSERT_TRUE(b.restore(good));
  EXPECT_EQ(b.restore("\xff\xff\xff").error(), meta_errc::malformed_snapshot);
  EXPECT_EQ(b.restore(std::string()).error(), meta_errc::malformed_snapshot);  // format version 0
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = good;
    for (int flips = 0; flips < 3; ++flips) bad[rng() % bad.size()] ^= static_cast<char>(1 << (rng() % 8));
    meta_state c;
    auto r = c.restore(bad);
    if (r) {
      EXPECT_EQ(meta_state().restore(c.snapshot()).has_value(), true);  // whatever it took is self-consistent
    } else {
      EXPECT_EQ(c.data(), meta_data{});  // untouched
    }
  }
  EXPECT_EQ(b.snapshot(), good);
}

// Random commands: some valid, many not. Two replicas must agree on every result and every byte.
std::string random_command(std::mt19937_64& rng, const std::vector<std::string>& valid) {
  std::string c;
  switch (rng() % 3) {
    case 0: {  // pure garbage
      c.resize(rng() % 200);
      for (auto& ch : c) ch = static_cast<char>(rng());
      break;
    }
    case 1: {  // a valid command with a few bits flipped
      c = valid[rng() % valid.size()];
      for (int flips = 0; flips < 2 && !c.empty(); ++flips) c[rng() % c.size()] ^= static_cast<char>(1 << (rng() % 8));
      break;
    }
    default:
      c = valid[rng() % valid.size()];
  }
  return c;
}

TEST(MetaState, ReplicasFedTheSameCommandsAgree) {
  const std::vector<std::string> valid = history();
  machine a, b;
  std::mt19937_64 rng(42);
  int accepted = 0;
  for (int i = 0; i < 10'000; ++i) {
    const std::string c = random_command(rng, valid);
    auto ra = a.run(c);
    auto rb = b.run(c);
    ASSERT_EQ(ra.has_value(), rb.has_value()) << "command " << i;
    if (ra) {
      ++accepted;
      EXPECT_EQ(ra->created, rb->created);
      EXPECT_EQ(ra->removed, rb->removed);
      EXPECT_EQ(ra->producer_ids_first, rb->producer_ids_first);
    } else {
      EXPECT_EQ(ra.error(), rb.error());
    }
  }
  EXPECT_GT(accepted, 100);
  EXPECT_EQ(a.s.snapshot(), b.s.snapshot());
  EXPECT_EQ(a.s.data(), b.s.data());
  EXPECT_EQ(a.s.applied_index(), log_index{10'000});
}

TEST(MetaState, GarbageIsRejectedWithoutChangingState) {
  machine m;
  for (const auto& c : history()) m.run(c);
  std::mt19937_64 rng(1);
  int rejected = 0;
  for (int i = 0; i < 10'000; ++i) {
    std::string c(rng() % 64, '\0');
    for (auto& ch : c) ch = static_cast<char>(rng());
    const meta_data before = m.s.data();
    auto r = m.run(c);
    if (!r) {
      ++rejected;
      meta_data after = m.s.data();
      after.applied = before.applied;
      EXPECT_EQ(after, before);
    }
  }
  EXPECT_GT(rejected, 9'000);
}

TEST(MetaState, SkipAdvancesTheAppliedIndex) {
  machine m;
  m.s.skip(log_index{5});
  EXPECT_EQ(m.s.applied_index(), log_index{5});
  EXPECT_TRUE(m.s.apply(log_index{7}, cmd::set_cluster_id("c")));
  EXPECT_EQ(m.s.applied_index(), log_index{7});
}

}  // namespace
}  // namespace chronik::metadata
