// Producer id blocks (KIP-730; docs/metadata.md "Producer ids"): the `__meta` record that hands
// them out, the counter in snapshots, and a broker's block with its 90% prefetch rule
// (metadata/producer_id_block.h).
#include <cstdint>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "meta.pb.h"
#include "metadata/meta_commands.h"
#include "metadata/meta_state.h"
#include "metadata/producer_id_block.h"

namespace chronik::metadata {
namespace {

namespace cmd = commands;

struct machine {
  meta_state s;
  std::uint64_t next_index = 1;
  std::expected<apply_result, meta_errc> run(const std::string& bytes) { return s.apply(log_index{next_index++}, bytes); }
};

cmd::broker_registration broker(std::uint32_t id) {
  const std::string n = std::to_string(id);
  return {node_id{id}, "uuid-" + n, "127.0.0." + n + ":9092", "127.0.0." + n + ":7000", ""};
}

machine with_brokers(std::uint32_t count) {
  machine m;
  for (std::uint32_t id = 1; id <= count; ++id) EXPECT_TRUE(m.run(cmd::register_broker(broker(id))));
  return m;
}

TEST(ProducerIdBlocks, BlocksAreDisjointAndIncreasing) {
  machine m = with_brokers(3);
  std::int64_t expected_first = 0;
  for (std::uint64_t i = 0; i < 30; ++i) {
    const node_id asker{static_cast<std::uint32_t>(1 + i % 3)};
    auto r = m.run(cmd::allocate_producer_ids(asker, i));
    ASSERT_TRUE(r) << to_string(r.error());
    EXPECT_EQ(r->kind, command_kind::allocate_producer_ids);
    EXPECT_TRUE(r->changed);
    EXPECT_EQ(r->producer_ids_first, expected_first);
    EXPECT_EQ(r->producer_ids_count, producer_id_block_size);
    expected_first += producer_id_block_size;
  }
  EXPECT_EQ(m.s.data().next_producer_id, 30 * producer_id_block_size);
  // The same bytes applied twice (a retried forward) still get two blocks: never one twice.
  const auto bytes = cmd::allocate_producer_ids(node_id{1}, 7);
  auto a = m.run(bytes);
  auto b = m.run(bytes);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(b->producer_ids_first, a->producer_ids_first + producer_id_block_size);
}

TEST(ProducerIdBlocks, OnlyRegisteredBrokersGetBlocks) {
  machine m = with_brokers(1);
  EXPECT_EQ(m.run(cmd::allocate_producer_ids(node_id{2}, 1)).error(), meta_errc::unknown_broker);
  EXPECT_EQ(m.run(cmd::allocate_producer_ids(node_id{}, 1)).error(), meta_errc::invalid_broker);
  proto::MetaCommand wide;
  wide.mutable_allocate_producer_ids()->set_node_id(std::uint64_t{1} << 40);
  EXPECT_EQ(m.run(wide.SerializeAsString()).error(), meta_errc::invalid_broker);
  EXPECT_EQ(m.s.data().next_producer_id, 0) << "a refused record hands out nothing";
}

TEST(ProducerIdBlocks, TheCounterSurvivesASnapshot) {
  machine m = with_brokers(2);
  for (std::uint64_t i = 0; i < 3; ++i) ASSERT_TRUE(m.run(cmd::allocate_producer_ids(node_id{2}, i)));
  machine restored;
  ASSERT_TRUE(restored.s.restore(m.s.snapshot()));
  EXPECT_EQ(restored.s.data(), m.s.data());
  restored.next_index = m.next_index;
  auto r = restored.run(cmd::allocate_producer_ids(node_id{1}, 9));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->producer_ids_first, 3 * producer_id_block_size) << "no id handed out before the snapshot again";
}

TEST(ProducerIdBlocks, ASnapshotWithoutTheCounterReadsAsZero) {
  machine m = with_brokers(1);
  proto::MetaSnapshot s;
  ASSERT_TRUE(s.ParseFromString(m.s.snapshot()));
  EXPECT_EQ(s.next_producer_id(), 0u);
  s.clear_next_producer_id();  // as a snapshot written before producer ids existed
  machine old;
  ASSERT_TRUE(old.s.restore(s.SerializeAsString()));
  EXPECT_EQ(old.s.data().next_producer_id, 0);
  EXPECT_EQ(old.s.data(), m.s.data());
  // A counter past INT64_MAX is not a state any record could make.
  s.set_next_producer_id(static_cast<std::uint64_t>(INT64_MAX) + 1);
  EXPECT_EQ(old.s.restore(s.SerializeAsString()).error(), meta_errc::malformed_snapshot);
  EXPECT_EQ(old.s.data(), m.s.data()) << "a refused snapshot leaves the state as it was";
}

TEST(ProducerIdBlocks, OverflowIsRefused) {
  machine m = with_brokers(1);
  proto::MetaSnapshot s;
  ASSERT_TRUE(s.ParseFromString(m.s.snapshot()));
  // Room for exactly one more block: its last id is INT64_MAX - 1 and the counter ends at INT64_MAX.
  s.set_next_producer_id(static_cast<std::uint64_t>(INT64_MAX - producer_id_block_size));
  ASSERT_TRUE(m.s.restore(s.SerializeAsString()));
  auto last = m.run(cmd::allocate_producer_ids(node_id{1}, 1));
  ASSERT_TRUE(last);
  EXPECT_EQ(last->producer_ids_first + last->producer_ids_count, INT64_MAX);
  EXPECT_EQ(m.run(cmd::allocate_producer_ids(node_id{1}, 2)).error(), meta_errc::producer_ids_exhausted);
  EXPECT_EQ(m.s.data().next_producer_id, INT64_MAX);
}

TEST(ProducerIdBlock, HandsOutEachIdOnceAndAsksAheadAt90Percent) {
  producer_id_block b;
  EXPECT_FALSE(b.take());
  EXPECT_TRUE(b.want_block()) << "an empty block asks for one";
  b.fetch_started();
  EXPECT_FALSE(b.want_block()) << "one request at a time";
  b.add({5000, 1000});
  EXPECT_FALSE(b.fetching());
  std::set<std::int64_t> seen;
  for (int i = 0; i < 899; ++i) {
    auto id = b.take();
    ASSERT_TRUE(id);
    EXPECT_TRUE(seen.insert(*id).second);
  }
  EXPECT_FALSE(b.want_block()) << "899 of 1000 used";
  ASSERT_TRUE(b.take());
  EXPECT_TRUE(b.want_block()) << "900 of 1000 used";
  b.fetch_started();
  b.add({9000, 1000});  // arrives while 100 ids are left: kept as the spare
  EXPECT_EQ(b.available(), 1100);
  EXPECT_FALSE(b.want_block()) << "a spare is held";
  for (int i = 0; i < 100; ++i) EXPECT_EQ(*b.take(), 5900 + i);
  EXPECT_EQ(*b.take(), 9000) << "the spare follows the used-up block";
  EXPECT_EQ(b.available(), 999);
}

TEST(ProducerIdBlock, AFailedFetchMayBeRetried) {
  producer_id_block b;
  b.fetch_started();
  b.fetch_failed();
  EXPECT_TRUE(b.want_block());
  b.fetch_started();
  b.add({0, 1000});
  EXPECT_EQ(*b.take(), 0);
}

}  // namespace
}  // namespace chronik::metadata
