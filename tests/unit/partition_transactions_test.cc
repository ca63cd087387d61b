// kafka/partition: a partition's side of transactions (KIP-98) over three real raft_hosts linked in
// memory (partition_test_util.h): an open transaction holds the last stable offset, a marker from
// the coordinator (write_marker) ends it on every replica, read_committed Fetch stops at the last
// stable offset and lists the aborted transactions among the records it returns, ListOffsets
// honours the isolation level, stale markers are refused, and a new leader and a replica that
// caught up from a snapshot agree.
#include <gtest/gtest.h>

#include <deque>

#include "kafka/partition/partition_manager.h"
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/record_batch.h"
#include "kafka/protocol/txn_marker.h"
#include "tests/unit/partition_test_util.h"
#include "tests/unit/record_test_util.h"

namespace chronik::kafka {
namespace {

using testing::make_batch;
using testing::make_transactional_batch;
using testing::partition_cluster;
using testing::produce_probe;

const std::vector<node_id> three{node_id{1}, node_id{2}, node_id{3}};
constexpr group_id g{3072};

partition_replica& replica(partition_cluster& c, std::size_t i) {
  auto* r = c.manager(i).find(g);
  EXPECT_NE(r, nullptr);
  return *r;
}

struct txn_test {
  partition_cluster c;
  std::deque<produce_probe> probes;
  txn_test() {
    c.create("t", g.value, three);
    EXPECT_TRUE(c.elect(g, 0));
  }
  partition_replica& leader() { return replica(c, 0); }
  produce_probe& produce(std::string batch) {
    probes.emplace_back();
    leader().produce(std::move(batch), acks_mode::all, c.clock().steady + std::chrono::seconds(30), probes.back().callback());
    return probes.back();
  }
  produce_probe& mark(std::int64_t pid, std::int16_t epoch, bool commit, std::int32_t coordinator_epoch = 1) {
    probes.emplace_back();
    leader().write_marker(pid, epoch, txn_marker{commit, coordinator_epoch}, c.clock().steady + std::chrono::seconds(30),
                          probes.back().callback());
    return probes.back();
  }
  produce_probe& as_coordinator(std::string batch) {
    probes.emplace_back();
    leader().produce_as_coordinator(std::move(batch), c.clock().steady + std::chrono::seconds(30),
                                    probes.back().callback());
    return probes.back();
  }
  bool settle() {
    return c.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); });
  }
};

std::vector<std::int64_t> base_offsets(const fetch_data& d) {
  std::vector<std::int64_t> out;
  const std::string records = d.records.flatten();
  auto batches = split_record_batches(records, crc_check::verify);
  EXPECT_TRUE(batches.has_value());
  if (batches)
    for (const auto& v : *batches) out.push_back(v.header.base_offset);
  return out;
}

TEST(partition_transactions, an_open_transaction_holds_read_committed_fetch_at_its_first_offset) {
  txn_test t;
  t.produce(make_batch(2, 1, "plain"));                          // 0-1
  t.produce(make_transactional_batch(2, 1, "t1", 70, 0, 0));     // 2-3: opens 70's transaction
  t.produce(make_batch(1, 1, "after"));                          // 4
  ASSERT_TRUE(t.settle());
  auto& r = t.leader();
  EXPECT_EQ(r.high_watermark(), 5);
  EXPECT_EQ(r.last_stable_offset(), 2);
  auto committed = r.fetch(0, 1 << 20, isolation::read_committed);
  ASSERT_TRUE(committed);
  EXPECT_EQ(committed->last_stable_offset, 2);
  EXPECT_EQ(base_offsets(*committed), (std::vector<std::int64_t>{0})) << "nothing at or past the LSO";
  auto waiting = r.fetch(2, 1 << 20, isolation::read_committed);
  ASSERT_TRUE(waiting);
  EXPECT_TRUE(waiting->records.empty());
  auto between = r.fetch(4, 1 << 20, isolation::read_committed);
  ASSERT_TRUE(between) << "between the LSO and the high watermark is no error";
  EXPECT_TRUE(between->records.empty());
  auto all = r.fetch(0, 1 << 20);
  ASSERT_TRUE(all);
  EXPECT_EQ(base_offsets(*all).size(), 3u) << "read_uncommitted sees everything";
  EXPECT_EQ(all->last_stable_offset, 2) << "and still learns the LSO";

  EXPECT_EQ(r.list_offsets(list_offsets_latest, isolation::read_committed)->offset, 2);
  EXPECT_EQ(r.list_offsets(list_offsets_latest)->offset, 5);

  // The commit marker (offset 5) ends it: everything is stable.
  auto& m = t.mark(70, 0, true);
  ASSERT_TRUE(t.settle());
  ASSERT_TRUE(m.result.has_value());
  EXPECT_EQ(m.result->base_offset, 5);
  EXPECT_EQ(r.last_stable_offset(), 6);
  auto after = r.fetch(0, 1 << 20, isolation::read_committed);
  ASSERT_TRUE(after);
  EXPECT_EQ(base_offsets(*after), (std::vector<std::int64_t>{0, 2, 4, 5})) << "the marker comes too; clients skip it";
  EXPECT_TRUE(after->aborted.empty());
  // Every replica applied the marker alike.
  ASSERT_TRUE(t.c.run_until([&] { return replica(t.c, 2).high_watermark() == 6; }));
  EXPECT_EQ(replica(t.c, 2).producers(), r.producers());
}

TEST(partition_transactions, an_abort_is_listed_to_read_committed_fetches_that_reach_it) {
  txn_test t;
  t.produce(make_transactional_batch(3, 1, "doomed", 80, 0, 0));  // 0-2
  t.produce(make_batch(1, 1, "plain"));                           // 3
  t.mark(80, 0, false);                                            // 4: abort
  t.produce(make_transactional_batch(1, 1, "kept", 81, 0, 0));    // 5
  t.mark(81, 0, true);                                             // 6: commit
  ASSERT_TRUE(t.settle());
  for (const auto& p : t.probes) ASSERT_TRUE(p.result.has_value()) << to_string(p.result.error().code);
  auto& r = t.leader();
  auto d = r.fetch(0, 1 << 20, isolation::read_committed);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->aborted, (std::vector<aborted_txn>{{80, 0, 4}}));
  auto later = r.fetch(5, 1 << 20, isolation::read_committed);
  ASSERT_TRUE(later);
  EXPECT_TRUE(later->aborted.empty()) << "the abort ended before these records";
  auto plain = r.fetch(0, 1 << 20);
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->aborted.empty()) << "read_uncommitted gets no list";
}

TEST(partition_transactions, stale_markers_and_plain_batches_inside_a_transaction_are_refused) {
  txn_test t;
  t.produce(make_transactional_batch(1, 1, "a", 90, 2, 0));
  ASSERT_TRUE(t.settle());
  auto& plain = t.produce(make_batch(1, 1, "plain"));  // no producer id: not checked
  auto& inside = t.produce(testing::make_idempotent_batch(1, 1, "not txn", 90, 2, 1));
  ASSERT_TRUE(t.settle());
  EXPECT_TRUE(plain.result.has_value());
  EXPECT_EQ(inside.result.error(), partition_errc::invalid_txn_state);
  auto& old = t.mark(90, 1, false, 5);
  ASSERT_TRUE(old.answered);
  EXPECT_EQ(old.result.error(), partition_errc::invalid_producer_epoch);
  auto& ok = t.mark(90, 3, false, 5);  // the coordinator bumped the epoch (a timeout abort)
  ASSERT_TRUE(t.settle());
  ASSERT_TRUE(ok.result.has_value());
  auto& zombie = t.mark(90, 3, true, 4);
  ASSERT_TRUE(zombie.answered);
  EXPECT_EQ(zombie.result.error(), partition_errc::coordinator_fenced);
  EXPECT_EQ(t.leader().last_stable_offset(), t.leader().high_watermark());
  // The fenced producer's old epoch can write no more.
  auto& fenced = t.produce(make_transactional_batch(1, 1, "zombie", 90, 2, 1));
  ASSERT_TRUE(fenced.answered);
  EXPECT_EQ(fenced.result.error(), partition_errc::invalid_producer_epoch);
}

TEST(partition_transactions, a_new_leader_keeps_the_open_transaction_and_ends_it) {
  txn_test t;
  t.produce(make_transactional_batch(2, 1, "x", 95, 0, 0));
  t.produce(make_batch(1, 1, "y"));
  ASSERT_TRUE(t.settle());
  ASSERT_TRUE(t.c.elect(g, 1));
  auto& r = replica(t.c, 1);
  EXPECT_EQ(r.last_stable_offset(), 0);
  t.probes.emplace_back();
  r.write_marker(95, 0, txn_marker{false, 2}, t.c.clock().steady + std::chrono::seconds(30), t.probes.back().callback());
  ASSERT_TRUE(t.settle());
  EXPECT_EQ(r.last_stable_offset(), 4);
  auto d = r.fetch(0, 1 << 20, isolation::read_committed);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->aborted, (std::vector<aborted_txn>{{95, 0, 3}}));
}

// The group coordinator's TxnOffsetCommit records (kafka/groups/group_records.h
// build_group_txn_batch): a transactional batch with the producer's id and epoch and no sequence.
TEST(partition_transactions, a_coordinators_write_opens_the_transaction_without_a_sequence) {
  txn_test t;
  t.produce(make_batch(1, 1, "plain"));                                               // 0
  auto& first = t.as_coordinator(make_transactional_batch(2, 1, "offsets", 60, 3, -1));  // 1-2
  auto& again = t.as_coordinator(make_transactional_batch(1, 1, "more", 60, 3, -1));     // 3: no duplicate check
  ASSERT_TRUE(t.settle());
  ASSERT_TRUE(first.result.has_value()) << to_string(first.result.error().code);
  ASSERT_TRUE(again.result.has_value()) << to_string(again.result.error().code);
  EXPECT_EQ(first.result->base_offset, 1);
  EXPECT_EQ(again.result->base_offset, 3);
  auto& r = t.leader();
  EXPECT_EQ(r.last_stable_offset(), 1) << "the coordinator's write opened the producer's transaction";
  EXPECT_TRUE(r.transaction_open(60));
  EXPECT_FALSE(r.transaction_open(61));
  // An older epoch of the producer is fenced, as for its own batches.
  auto& zombie = t.as_coordinator(make_transactional_batch(1, 1, "old", 60, 2, -1));
  ASSERT_TRUE(zombie.answered);
  EXPECT_EQ(zombie.result.error(), partition_errc::invalid_producer_epoch);
  // Anything else is not a coordinator's write.
  auto& sequenced = t.as_coordinator(make_transactional_batch(1, 1, "seq", 60, 3, 0));
  auto& plain = t.as_coordinator(make_batch(1, 1, "plain"));
  ASSERT_TRUE(sequenced.answered && plain.answered);
  EXPECT_EQ(sequenced.result.error(), partition_errc::invalid_record);
  EXPECT_EQ(plain.result.error(), partition_errc::invalid_record);
  // The marker closes it; transaction_open counts it from the moment it is proposed.
  t.mark(60, 3, true);
  EXPECT_FALSE(r.transaction_open(60));
  ASSERT_TRUE(t.settle());
  EXPECT_EQ(r.last_stable_offset(), r.high_watermark());
  // Every replica applied the unsequenced batches alike (the table has no batch of them).
  ASSERT_TRUE(t.c.run_until([&] { return replica(t.c, 2).high_watermark() == r.high_watermark(); }));
  EXPECT_EQ(replica(t.c, 2).producers(), r.producers());
  ASSERT_NE(r.producers().find(60), nullptr);
  EXPECT_TRUE(r.producers().find(60)->batches.empty());
  EXPECT_EQ(r.producers().find(60)->epoch, 3);
  auto round_trip = producer_table::decode(r.producers().encode());
  ASSERT_TRUE(round_trip.has_value());
  EXPECT_EQ(*round_trip, r.producers());
}

TEST(partition_transactions, a_client_cannot_bypass_the_sequence_check_the_coordinators_way) {
  txn_test t;
  // A client's batch with a producer id and no sequence is refused before any producer check.
  auto& unsequenced = t.produce(make_transactional_batch(1, 1, "x", 62, 0, -1));
  ASSERT_TRUE(unsequenced.answered);
  EXPECT_EQ(unsequenced.result.error(), partition_errc::invalid_record);
  EXPECT_FALSE(t.leader().transaction_open(62));
  // A client's own transactional batches keep their sequence check, whatever a coordinator wrote
  // for the same producer in between.
  auto& s0 = t.produce(make_transactional_batch(1, 1, "s0", 62, 0, 0));
  t.as_coordinator(make_transactional_batch(1, 1, "offsets", 62, 0, -1));
  ASSERT_TRUE(t.settle());
  ASSERT_TRUE(s0.result.has_value());
  auto& gap = t.produce(make_transactional_batch(1, 1, "s5", 62, 0, 5));
  ASSERT_TRUE(gap.answered);
  EXPECT_EQ(gap.result.error(), partition_errc::out_of_order_sequence);
  auto& retry = t.produce(make_transactional_batch(1, 1, "s0", 62, 0, 0));
  ASSERT_TRUE(t.settle());
  ASSERT_TRUE(retry.result.has_value());
  EXPECT_EQ(retry.result->base_offset, s0.result->base_offset) << "a retry is still a duplicate";
  auto& s1 = t.produce(make_transactional_batch(1, 1, "s1", 62, 0, 1));
  ASSERT_TRUE(t.settle());
  ASSERT_TRUE(s1.result.has_value());
  EXPECT_EQ(s1.result->base_offset, 2);
}

}  // namespace
}  // namespace chronik::kafka
