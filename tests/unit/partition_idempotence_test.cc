// kafka/partition: idempotent producers at the partition (producer_state.h inside
// partition_replica), over three real raft_hosts linked in memory (partition_test_util.h). A retry
// of a written batch gets its original offset and is not appended again, whether the first attempt
// already applied or is still in flight; gaps and old epochs are refused; a new leader, a restarted
// node and a replica that caught up from a snapshot dedup alike; idle producers expire on every
// replica through one control entry.
#include <gtest/gtest.h>

#include <deque>

#include "kafka/partition/partition_manager.h"
#include "kafka/protocol/record_batch.h"
#include "tests/unit/partition_test_util.h"
#include "tests/unit/record_test_util.h"

namespace chronik::kafka {
namespace {

using testing::make_batch;
using testing::make_idempotent_batch;
using testing::partition_cluster;
using testing::produce_probe;

const std::vector<node_id> three{node_id{1}, node_id{2}, node_id{3}};
constexpr group_id g{2048};
constexpr std::int64_t pid = 4000;

partition_replica& replica(partition_cluster& c, std::size_t i) {
  auto* r = c.manager(i).find(g);
  EXPECT_NE(r, nullptr);
  return *r;
}

produce_probe& produce(partition_cluster& c, std::deque<produce_probe>& probes, std::size_t i, std::string batch) {
  probes.emplace_back();
  replica(c, i).produce(std::move(batch), acks_mode::all, c.clock().steady + std::chrono::seconds(30),
                        probes.back().callback());
  return probes.back();
}

// Sequence k of the test producer: two records starting at 2k.
std::string nth(std::int32_t k, std::int16_t epoch = 0) {
  return make_idempotent_batch(2, 1000 + k, "v" + std::to_string(k), pid, epoch, 2 * k);
}

std::string dump(const producer_table& t) {
  std::string out;
  for (const auto& [id, e] : t.entries()) {
    out += std::to_string(id) + "@" + std::to_string(e.epoch) + "[";
    for (const auto& b : e.batches) out += std::to_string(b.first_seq) + "-" + std::to_string(b.last_seq) + ":" +
                                         std::to_string(b.first_offset) + "/i" + std::to_string(b.index.value) + " ";
    out += "]";
  }
  return out;
}

bool all_answered(const std::deque<produce_probe>& probes) { return std::ranges::all_of(probes, &produce_probe::answered); }

std::size_t batches_in_log(partition_replica& r) {
  auto data = r.fetch(r.log_start_offset(), 1 << 20);
  EXPECT_TRUE(data.has_value());
  const std::string records = data->records.flatten();
  auto batches = split_record_batches(records, crc_check::verify);
  return batches ? batches->size() : 0;
}

TEST(partition_idempotence, a_retry_of_an_applied_batch_gets_its_offset_and_is_not_appended) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  for (std::int32_t k = 0; k < 3; ++k) produce(c, probes, 0, nth(k));
  ASSERT_TRUE(c.run_until([&] { return all_answered(probes); }));
  auto& retry = produce(c, probes, 0, nth(1));
  ASSERT_TRUE(retry.answered) << "answered at once: the original applied";
  ASSERT_TRUE(retry.result.has_value());
  EXPECT_EQ(retry.result->base_offset, probes[1].result->base_offset);
  EXPECT_EQ(replica(c, 0).high_watermark(), 6);
  EXPECT_EQ(batches_in_log(replica(c, 0)), 3u);
}

TEST(partition_idempotence, a_retry_of_a_batch_in_flight_is_answered_with_it_once_committed) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  auto& first = produce(c, probes, 0, nth(0));
  auto& retry = produce(c, probes, 0, nth(0));  // before anything committed
  auto& next = produce(c, probes, 0, nth(1));   // follows the in-flight one, not the applied table
  EXPECT_FALSE(retry.answered);
  ASSERT_TRUE(c.run_until([&] { return all_answered(probes); }));
  ASSERT_TRUE(first.result && retry.result && next.result);
  EXPECT_EQ(retry.result->base_offset, first.result->base_offset);
  EXPECT_EQ(next.result->base_offset, 2);
  EXPECT_EQ(replica(c, 0).high_watermark(), 4);
  ASSERT_TRUE(c.run_until([&] { return replica(c, 2).high_watermark() == 4; }));
  EXPECT_EQ(replica(c, 2).producers(), replica(c, 0).producers()) << "every replica applied the same batches";
}

TEST(partition_idempotence, gaps_and_old_epochs_are_refused_and_leave_no_trace) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  produce(c, probes, 0, nth(0, 1));
  ASSERT_TRUE(c.run_until([&] { return all_answered(probes); }));
  auto& gap = produce(c, probes, 0, nth(2, 1));
  ASSERT_TRUE(gap.answered);
  EXPECT_EQ(gap.result.error(), partition_errc::out_of_order_sequence);
  auto& old = produce(c, probes, 0, nth(1, 0));
  ASSERT_TRUE(old.answered);
  EXPECT_EQ(old.result.error(), partition_errc::invalid_producer_epoch);
  auto& bump = produce(c, probes, 0, nth(3, 2));
  ASSERT_TRUE(bump.answered);
  EXPECT_EQ(bump.result.error(), partition_errc::out_of_order_sequence) << "a new epoch starts at sequence 0";
  EXPECT_EQ(replica(c, 0).high_watermark(), 2);
  // A producer without an id is not checked at all.
  auto& plain = produce(c, probes, 0, make_batch(1, 5, "plain"));
  ASSERT_TRUE(c.run_until([&] { return plain.answered; }));
  EXPECT_TRUE(plain.result.has_value());
}

TEST(partition_idempotence, several_batches_with_a_producer_id_in_one_request_are_refused) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  auto& two = produce(c, probes, 0, nth(0) + nth(1));
  ASSERT_TRUE(two.answered);
  EXPECT_EQ(two.result.error(), partition_errc::invalid_record);
  EXPECT_EQ(replica(c, 0).high_watermark(), 0);
}

TEST(partition_idempotence, a_new_leader_dedups_a_retry_of_a_batch_its_predecessor_committed) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  for (std::int32_t k = 0; k < 4; ++k) produce(c, probes, 0, nth(k));
  ASSERT_TRUE(c.run_until([&] { return all_answered(probes); }));
  ASSERT_TRUE(c.elect(g, 1));
  auto& retry = produce(c, probes, 1, nth(3));
  ASSERT_TRUE(retry.answered);
  ASSERT_TRUE(retry.result.has_value());
  EXPECT_EQ(retry.result->base_offset, 6);
  auto& next = produce(c, probes, 1, nth(4));
  ASSERT_TRUE(c.run_until([&] { return next.answered; }));
  ASSERT_TRUE(next.result.has_value());
  EXPECT_EQ(next.result->base_offset, 8);
}

TEST(partition_idempotence, proposals_lost_with_their_leader_do_not_poison_the_next_term) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  produce(c, probes, 0, nth(0));
  ASSERT_TRUE(c.run_until([&] { return all_answered(probes); }));
  // The leader is cut off with sequence 1 in flight: it never commits.
  c.cut(0);
  auto& lost = produce(c, probes, 0, nth(1));
  ASSERT_TRUE(c.elect(g, 1));
  // The producer retries sequence 1 at the new leader: written once, there.
  auto& retried = produce(c, probes, 1, nth(1));
  ASSERT_TRUE(c.run_until([&] { return retried.answered; }));
  ASSERT_TRUE(retried.result.has_value());
  EXPECT_EQ(retried.result->base_offset, 2);
  c.heal(0);
  ASSERT_TRUE(c.run_until([&] { return lost.answered && replica(c, 0).high_watermark() == 4; }));
  EXPECT_EQ(lost.result.error(), partition_errc::not_leader);
  // Back as leader, node 1's projection of its lost proposal is gone: sequence 2 follows 1.
  ASSERT_TRUE(c.elect(g, 0));
  auto& after = produce(c, probes, 0, nth(2));
  ASSERT_TRUE(c.run_until([&] { return after.answered; }));
  ASSERT_TRUE(after.result.has_value()) << to_string(after.result.error().code);
  EXPECT_EQ(after.result->base_offset, 4);
  auto& again = produce(c, probes, 0, nth(1));
  ASSERT_TRUE(again.answered);
  EXPECT_EQ(again.result->base_offset, 2);
}

TEST(partition_idempotence, a_restarted_node_and_a_replica_caught_up_from_a_snapshot_dedup_alike) {
  partition_cluster c;
  c.create("t", g.value, three, {{"retention.bytes", "300"}});
  ASSERT_TRUE(c.elect(g, 0));
  c.cut(2);
  std::deque<produce_probe> probes;
  // Timestamps of now: older ones would expire at the retention check (producer.id.expiration.ms).
  const std::int64_t now = c.clock().wall_ms;
  for (std::int32_t k = 0; k < 10; ++k) {
    produce(c, probes, 0, make_idempotent_batch(1, now, std::string(100, static_cast<char>('a' + k)), pid, 0, k));
  }
  ASSERT_TRUE(c.run_until([&] { return all_answered(probes); }));
  c.clock().advance(std::chrono::seconds(6));  // past retention_check_interval_ms: compaction
  ASSERT_TRUE(c.tick_all());
  ASSERT_GT(replica(c, 0).log_start_offset(), 5);
  const producer_table before = replica(c, 0).producers();
  ASSERT_EQ(before.find(pid)->batches.size(), producer_batches_kept);
  // Node 3 missed everything: it installs the snapshot (the producers at its cut) and replays the
  // entries after it, and ends with the same table.
  c.heal(2);
  ASSERT_TRUE(c.run_until([&] { return replica(c, 2).high_watermark() == 10; }));
  EXPECT_EQ(replica(c, 2).producers(), before);
  // Node 1 restarts: the snapshot and the log on its disk give the same table again.
  ASSERT_TRUE(c.restart(1));
  ASSERT_TRUE(c.run_until([&] { return replica(c, 1).high_watermark() == 10; }));
  EXPECT_EQ(replica(c, 1).producers(), before) << dump(replica(c, 1).producers()) << " vs " << dump(before);
  // And the older batches' producers state went through the snapshot, not the replay: the
  // snapshot's cut lies past the first of the five kept batches.
  EXPECT_GT(replica(c, 2).log_start_offset(), before.find(pid)->batches.front().first_offset);
  // Leading, the caught-up node answers a retry of the last batch with its offset.
  ASSERT_TRUE(c.elect(g, 2));
  auto& retry = produce(c, probes, 2, make_idempotent_batch(1, now, std::string(100, 'j'), pid, 0, 9));
  ASSERT_TRUE(retry.answered);
  ASSERT_TRUE(retry.result.has_value());
  EXPECT_EQ(retry.result->base_offset, 9);
  EXPECT_EQ(replica(c, 2).high_watermark(), 10);
}

TEST(partition_idempotence, idle_producers_expire_on_every_replica_alike) {
  partition_config defaults;
  defaults.producer_id_expiration_ms = 60'000;
  partition_cluster c(3, partition_manager_config{}.entry_cache_bytes, defaults);
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  const std::int64_t now = c.clock().wall_ms;
  produce(c, probes, 0, make_idempotent_batch(1, now, "idle", pid, 0, 0));
  ASSERT_TRUE(c.run_until([&] { return all_answered(probes); }));
  c.clock().advance(std::chrono::seconds(50));
  produce(c, probes, 0, make_idempotent_batch(1, now, "recent", pid + 1, 0, 0));
  ASSERT_TRUE(c.run_until([&] { return all_answered(probes); }));
  c.clock().advance(std::chrono::seconds(15));  // idle 65 s and 15 s; the retention check runs the expiry
  ASSERT_TRUE(c.run_until([&] {
    for (std::size_t i = 0; i < 3; ++i)
      if (replica(c, i).producers().find(pid) != nullptr) return false;
    return true;
  }));
  for (std::size_t i = 0; i < 3; ++i) EXPECT_NE(replica(c, i).producers().find(pid + 1), nullptr) << i;
  // Forgotten: its next batch may start anywhere (KIP-360).
  auto& again = produce(c, probes, 0, make_idempotent_batch(1, now, "again", pid, 0, 7));
  ASSERT_TRUE(c.run_until([&] { return again.answered; }));
  EXPECT_TRUE(again.result.has_value());
  // A producer above every forgotten id was never here: it starts at 0, on any replica that leads.
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(replica(c, i).producers().may_have_forgotten(pid)) << i;
  auto& stranger = produce(c, probes, 0, make_idempotent_batch(1, now, "stranger", pid + 2, 0, 7));
  ASSERT_TRUE(stranger.answered);
  EXPECT_EQ(stranger.result.error(), partition_errc::unknown_producer);
}

// Found by kafka_idempotence on a clean clone: a producer whose batches carry old timestamps (the
// test's wire batches said 0; a client replaying old events does the same) was expired at the first
// retention check, and its next retry was appended again. Idleness is this replica's own clock.
TEST(partition_idempotence, old_batch_timestamps_do_not_expire_an_active_producer) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  produce(c, probes, 0, make_idempotent_batch(1, 0, "from 1970", pid, 0, 0));
  ASSERT_TRUE(c.run_until([&] { return all_answered(probes); }));
  c.clock().advance(std::chrono::seconds(6));  // a retention check, which also expires producers
  ASSERT_TRUE(c.tick_all());
  ASSERT_TRUE(c.run_until([&] { return c.host(0).idle(); }));
  ASSERT_NE(replica(c, 0).producers().find(pid), nullptr);
  auto& retry = produce(c, probes, 0, make_idempotent_batch(1, 0, "from 1970", pid, 0, 0));
  ASSERT_TRUE(retry.answered);
  ASSERT_TRUE(retry.result.has_value());
  EXPECT_EQ(retry.result->base_offset, 0) << "still a duplicate";
  EXPECT_EQ(replica(c, 0).high_watermark(), 1);
}

}  // namespace
}  // namespace chronik::kafka
