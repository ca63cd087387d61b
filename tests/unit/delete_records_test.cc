// DeleteRecords below the handler (docs/kafka.md "Deleting records"): the control entry's
// encoding (kafka/partition/control_entry.h), partition_index::delete_before, and
// partition_replica::delete_records over three real raft_hosts linked in memory
// (tests/unit/partition_test_util.h). The log start moves on every replica through the
// partition's Raft log, survives restarts before and after the log is compacted, reaches a
// replica that was cut off (from the entries or from the snapshot), and a fetch below it is out
// of range. A deletion without a quorum times out, one overwritten after a leader change is
// not_leader, and a moved start wakes long-polling fetchers.
#include <gtest/gtest.h>

#include <deque>
#include <optional>
#include <string>

#include "kafka/partition/control_entry.h"
#include "kafka/partition/partition_index.h"
#include "kafka/partition/partition_manager.h"
#include "kafka/protocol/record_batch.h"
#include "tests/unit/partition_test_util.h"

namespace chronik::kafka {
namespace {

using testing::make_batch;
using testing::partition_cluster;
using testing::produce_probe;

const std::vector<node_id> three{node_id{1}, node_id{2}, node_id{3}};
constexpr group_id g{1024};

// ---- the control entry -------------------------------------------------------------------------

TEST(control_entry, a_delete_round_trips_and_no_record_batch_looks_like_one) {
  const std::string e = encode_delete_records({1234567890123});
  ASSERT_TRUE(is_control_entry(e));
  auto d = decode_delete_records(e);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->offset, 1234567890123);
  // Stored batches start with a base offset >= 0: produced (0) or stamped by the leader.
  std::string batch = make_batch(3, 1000, "x");
  EXPECT_FALSE(is_control_entry(batch));
  set_base_offset(batch, 0, std::int64_t{1} << 40);
  EXPECT_FALSE(is_control_entry(batch));
  EXPECT_FALSE(is_control_entry(""));
  EXPECT_FALSE(is_control_entry(std::string(8, '\xff')));  // the marker alone holds no kind
}

TEST(control_entry, unknown_kinds_and_bad_lengths_are_refused) {
  std::string e = encode_delete_records({5});
  std::string newer = e;
  newer[8] = 9;
  EXPECT_EQ(decode_delete_records(newer).error(), control_errc::unknown_kind);
  EXPECT_EQ(decode_delete_records(e.substr(0, e.size() - 1)).error(), control_errc::malformed);
  EXPECT_EQ(decode_delete_records(e + "x").error(), control_errc::malformed);
  std::string negative = encode_delete_records({-7});
  EXPECT_EQ(decode_delete_records(negative).error(), control_errc::malformed);
}

TEST(control_entry, a_producer_expiry_round_trips_and_every_truncation_is_refused) {
  const expire_producers_command c{{{7, 1'700'000'000'000}, {1LL << 40, -1}}};
  const std::string e = encode_expire_producers(c);
  ASSERT_TRUE(is_control_entry(e));
  EXPECT_EQ(control_kind_of(e).value(), control_kind::expire_producers);
  EXPECT_EQ(control_kind_of(encode_delete_records({5})).value(), control_kind::delete_records);
  auto d = decode_expire_producers(e);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->producers, c.producers);
  EXPECT_EQ(decode_delete_records(e).error(), control_errc::unknown_kind) << "each decoder takes its own kind";
  for (std::size_t n = 9; n < e.size(); ++n) EXPECT_FALSE(decode_expire_producers(e.substr(0, n))) << n;
  EXPECT_FALSE(decode_expire_producers(e + "x"));
  std::string negative = encode_expire_producers({{{-3, 0}}});
  EXPECT_EQ(decode_expire_producers(negative).error(), control_errc::malformed);
  std::string lying = e;
  lying[9] = '\x7f';  // a count the bytes cannot hold
  EXPECT_EQ(decode_expire_producers(lying).error(), control_errc::malformed);
}

// ---- the index ---------------------------------------------------------------------------------

partition_index three_entries() {
  partition_index ix;
  ix.append(log_index{2}, {4, 10, 100});  // offsets 0-3
  ix.append(log_index{3}, {4, 20, 100});  // 4-7
  ix.append(log_index{5}, {4, 30, 100});  // 8-11
  return ix;
}

TEST(partition_index, delete_before_moves_the_start_inside_an_entry_and_drops_whole_ones) {
  auto ix = three_entries();
  auto cut = ix.delete_before(6);
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->index, log_index{2});
  EXPECT_EQ(cut->next_offset, 4);
  EXPECT_EQ(ix.log_start_offset(), 6);
  EXPECT_EQ(ix.entry_count(), 2u);
  EXPECT_EQ(ix.size_bytes(), 200u);
  EXPECT_TRUE(ix.from_offset(5, 1 << 20).empty()) << "below the start";
  auto from6 = ix.from_offset(6, 1 << 20);
  ASSERT_FALSE(from6.empty());
  EXPECT_EQ(from6.front().base_offset, 4) << "the entry holding the start comes whole";
}

TEST(partition_index, delete_before_never_moves_back_nor_past_the_high_watermark) {
  auto ix = three_entries();
  EXPECT_TRUE(ix.delete_before(8).has_value());
  EXPECT_FALSE(ix.delete_before(3).has_value());
  EXPECT_EQ(ix.log_start_offset(), 8);
  auto cut = ix.delete_before(99);
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->index, log_index{5});
  EXPECT_EQ(ix.log_start_offset(), 12);
  EXPECT_EQ(ix.high_watermark(), 12);
  EXPECT_EQ(ix.entry_count(), 0u);
}

// ---- replicas ----------------------------------------------------------------------------------

struct delete_probe {
  bool answered = false;
  std::expected<std::int64_t, partition_errc> result = std::unexpected(partition_errc::storage_failed);
  delete_done callback() {
    return [this](std::expected<std::int64_t, partition_errc> r) {
      EXPECT_FALSE(answered) << "a deletion was answered twice";
      answered = true;
      result = r;
    };
  }
};

class delete_records_replicas : public ::testing::Test {
 protected:
  delete_records_replicas() {
    c_.create("t", g.value, three);
    EXPECT_TRUE(c_.elect(g, 0));
  }

  partition_replica& replica(std::size_t i) { return *c_.manager(i).find(g); }
  std::chrono::steady_clock::time_point later() { return c_.clock().steady + std::chrono::seconds(30); }

  // `n` entries of two records each on the leader, acks=all: offsets 0 .. 2n-1.
  void produce(std::size_t leader, int n) {
    std::deque<produce_probe> probes;
    for (int k = 0; k < n; ++k) {
      probes.emplace_back();
      replica(leader).produce(make_batch(2, c_.clock().wall_ms, "r" + std::to_string(k)), acks_mode::all, later(),
                              probes.back().callback());
    }
    ASSERT_TRUE(c_.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
    for (const auto& p : probes) ASSERT_TRUE(p.result.has_value());
  }

  delete_probe remove(std::size_t i, std::int64_t offset) {
    delete_probe p;
    replica(i).delete_records(offset, later(), p.callback());
    EXPECT_TRUE(c_.run_until([&] { return p.answered; }));
    return p;
  }

  bool all_start_at(std::int64_t start) {
    return c_.run_until([&] {
      for (std::size_t i = 0; i < 3; ++i)
        if (replica(i).log_start_offset() != start) return false;
      return true;
    });
  }

  // Past retention_check_interval_ms: every replica compacts what a deletion dropped.
  void compact_all() {
    c_.clock().advance(std::chrono::seconds(6));
    ASSERT_TRUE(c_.tick_all());
  }

  partition_cluster c_;
};

TEST_F(delete_records_replicas, the_leader_answers_once_applied_and_every_replica_moves_its_start) {
  produce(0, 5);  // offsets 0-9
  delete_probe p;
  replica(0).delete_records(5, later(), p.callback());
  EXPECT_FALSE(p.answered) << "answered only once committed and applied";
  ASSERT_TRUE(c_.run_until([&] { return p.answered; }));
  ASSERT_TRUE(p.result.has_value()) << to_string(p.result.error());
  EXPECT_EQ(*p.result, 5);
  ASSERT_TRUE(all_start_at(5));
  EXPECT_EQ(replica(0).high_watermark(), 10) << "a deletion takes no offsets";
  EXPECT_EQ(replica(0).fetch(4, 1 << 20).error(), partition_errc::offset_out_of_range);
  auto at5 = replica(0).fetch(5, 1 << 20);
  ASSERT_TRUE(at5.has_value());
  EXPECT_EQ(at5->log_start_offset, 5);
  EXPECT_EQ(parse_record_batch_header(at5->records.flatten())->base_offset, 4) << "the batch holding 5, whole";
  EXPECT_EQ(replica(0).list_offsets(-2)->offset, 5);

  // Produce continues at the high watermark, and an acks answer carries the new start.
  std::deque<produce_probe> more;
  more.emplace_back();
  replica(0).produce(make_batch(1, c_.clock().wall_ms, "after"), acks_mode::all, later(), more.back().callback());
  ASSERT_TRUE(c_.run_until([&] { return more.back().answered; }));
  EXPECT_EQ(more.back().result->base_offset, 10);
  EXPECT_EQ(more.back().result->log_start_offset, 5);

  // A follower that leads next serves the same start.
  ASSERT_TRUE(c_.elect(g, 1));
  EXPECT_EQ(replica(1).fetch(4, 1 << 20).error(), partition_errc::offset_out_of_range);
  EXPECT_EQ(replica(1).list_offsets(-2)->offset, 5);
}

TEST_F(delete_records_replicas, minus_one_is_the_high_watermark_and_errors_are_kafkas) {
  produce(0, 3);  // 0-5
  EXPECT_EQ(remove(1, 2).result.error(), partition_errc::not_leader);
  EXPECT_EQ(remove(0, 7).result.error(), partition_errc::offset_out_of_range);
  EXPECT_EQ(remove(0, -2).result.error(), partition_errc::offset_out_of_range);
  auto all = remove(0, -1);
  ASSERT_TRUE(all.result.has_value());
  EXPECT_EQ(*all.result, 6);
  ASSERT_TRUE(all_start_at(6));
  EXPECT_EQ(replica(0).fetch(5, 1 << 20).error(), partition_errc::offset_out_of_range);
  auto empty = replica(0).fetch(6, 1 << 20);
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->records.empty());
  // At or below the start there is nothing to delete: answered at once with the start.
  delete_probe again;
  replica(0).delete_records(3, later(), again.callback());
  ASSERT_TRUE(again.answered);
  EXPECT_EQ(*again.result, 6);
}

// A restarted replica replays its log from the WAL (from its own snapshot, once compacted); it
// applies the delete entry again once it knows the entry committed (a leader tells it, since the
// commit index is not durable: Raft paper §5.3), and ends at the same start as before.
TEST_F(delete_records_replicas, the_start_survives_restarts_before_and_after_compaction) {
  produce(0, 5);
  ASSERT_TRUE(remove(0, 5).result.has_value());
  ASSERT_TRUE(all_start_at(5));
  // Before compaction: the delete entry is replayed from the WAL.
  ASSERT_TRUE(c_.restart(1));
  ASSERT_TRUE(c_.run_until([&] { return replica(1).high_watermark() == 10 && replica(1).log_start_offset() == 5; }));

  // Compaction runs at the retention check: the entries wholly below 5 leave the Raft log.
  compact_all();
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(c_.host(i).read_entries(g, log_index{1}, log_index{2}, 1 << 20).has_value())
        << "node " << i << " compacted its log";
  }
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(c_.restart(i));
  ASSERT_TRUE(c_.elect(g, 2));
  ASSERT_TRUE(all_start_at(5));
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(replica(i).high_watermark(), 10) << "node " << i;
  EXPECT_EQ(replica(2).fetch(4, 1 << 20).error(), partition_errc::offset_out_of_range);
  EXPECT_EQ(replica(2).list_offsets(-2)->offset, 5);
  auto at5 = replica(2).fetch(5, 1 << 20);
  ASSERT_TRUE(at5.has_value());
  EXPECT_EQ(parse_record_batch_header(at5->records.flatten())->base_offset, 4);
}

TEST_F(delete_records_replicas, a_cut_off_replica_learns_the_start_from_the_log_or_the_snapshot) {
  c_.cut(2);
  produce(0, 5);
  ASSERT_TRUE(remove(0, 7).result.has_value());
  EXPECT_EQ(replica(2).log_start_offset(), 0);
  compact_all();  // the leader's log now starts after the entries node 3 misses
  c_.heal(2);
  ASSERT_TRUE(c_.run_until([&] { return replica(2).high_watermark() == 10; }));
  EXPECT_EQ(replica(2).log_start_offset(), 7);
  ASSERT_TRUE(c_.restart(2));
  EXPECT_EQ(replica(2).log_start_offset(), 7);
}

TEST_F(delete_records_replicas, without_a_quorum_the_deletion_times_out_and_moves_nothing_yet) {
  produce(0, 2);
  c_.cut(1);
  c_.cut(2);
  delete_probe p;
  replica(0).delete_records(3, c_.clock().steady + std::chrono::seconds(1), p.callback());
  ASSERT_TRUE(c_.tick_all());
  EXPECT_FALSE(p.answered);
  c_.clock().advance(std::chrono::seconds(2));
  ASSERT_TRUE(c_.run_until([&] { return p.answered; }, 5));
  EXPECT_EQ(p.result.error(), partition_errc::timed_out);
  EXPECT_EQ(replica(0).log_start_offset(), 0) << "not committed";
}

// A deletion proposed by a leader that is cut off never commits: the new leader overwrites its
// index, and the old leader, learning the new term, answers not_leader (known not applied).
TEST_F(delete_records_replicas, a_deletion_overwritten_after_a_leader_change_is_not_leader) {
  produce(0, 3);
  c_.cut(0);
  delete_probe p;
  replica(0).delete_records(4, later(), p.callback());
  ASSERT_TRUE(c_.elect(g, 1));
  produce(1, 1);  // 6-7, at the index the lost deletion took on node 1
  c_.heal(0);
  ASSERT_TRUE(c_.run_until([&] { return p.answered; }));
  EXPECT_EQ(p.result.error(), partition_errc::not_leader);
  ASSERT_TRUE(c_.run_until([&] { return replica(0).high_watermark() == 8; }));
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(replica(i).log_start_offset(), 0) << "node " << i;
}

// A consumer long-polling below the new start is woken when the deletion applies, so it learns
// OFFSET_OUT_OF_RANGE at once instead of at its max_wait.
TEST_F(delete_records_replicas, a_moved_start_wakes_long_polling_fetchers) {
  produce(0, 2);
  bool woken = false;
  c_.manager(0).wait_for_data({g}, std::chrono::minutes(1), [&] { woken = true; });
  ASSERT_TRUE(c_.settle());
  EXPECT_FALSE(woken);
  delete_probe p;
  replica(0).delete_records(4, later(), p.callback());
  ASSERT_TRUE(c_.run_until([&] { return p.answered; }));
  EXPECT_TRUE(woken);
  EXPECT_EQ(replica(0).fetch(2, 1 << 20).error(), partition_errc::offset_out_of_range);
}

}  // namespace
}  // namespace chronik::kafka
