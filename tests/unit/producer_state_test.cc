// kafka/partition/producer_state: Kafka's sequence rules for idempotent producers (every rule of
// check_sequence), the table's canonical bytes and their strict reader, the history's table at any
// cut (equal to replaying the log from the start: what a snapshot at a cut must hold), and the
// leader's projection over its own proposals.
#include "kafka/partition/producer_state.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

namespace chronik::kafka {
namespace {

using consensus::log_index;
using consensus::term_id;

constexpr std::int32_t int_max = std::numeric_limits<std::int32_t>::max();

producer_batch_id id(std::int64_t pid, std::int16_t epoch, std::int32_t first, std::int32_t count) {
  return producer_batch_id{pid, epoch, first, advance_sequence(first, count - 1), false};
}

producer_event append(const producer_batch_id& b, std::int64_t offset, std::uint64_t index, std::int64_t ts = 100) {
  producer_event e;
  e.id = b;
  e.batch = producer_batch{b.first_seq, b.last_seq, offset, ts, log_index{index}};
  return e;
}

TEST(producer_state, sequences_wrap_from_int32_max_to_zero) {
  EXPECT_EQ(advance_sequence(0, 4), 4);
  EXPECT_EQ(advance_sequence(int_max, 0), int_max);
  EXPECT_EQ(advance_sequence(int_max - 1, 1), int_max);
  EXPECT_EQ(advance_sequence(int_max - 1, 2), 0);
  EXPECT_EQ(advance_sequence(int_max, 3), 2);
}

// Regression (partition suite loss-30, seed 592148195): a new leader with no state for a producer
// took its batch at sequence 29 as the producer's first, after sequences 0-28 were lost with the
// old leader's uncommitted tail, and librdkafka reported 0-28 delivered.
TEST(producer_state, a_producer_never_known_here_starts_at_sequence_zero) {
  producer_table t;
  EXPECT_EQ(t.check(id(7, 0, 0, 1)).verdict, sequence_verdict::append);
  EXPECT_EQ(t.check(id(7, 0, 29, 3)).verdict, sequence_verdict::unknown_producer);
  EXPECT_EQ(t.check(id(7, 3, 4242, 1)).verdict, sequence_verdict::unknown_producer);
  producer_guard g;
  EXPECT_EQ(g.check(t, id(7, 0, 29, 3)).verdict, sequence_verdict::unknown_producer) << "the leader's check too";
  // A coordinator's write (no sequence) is not a client batch.
  EXPECT_EQ(t.check(producer_batch_id{7, 0, -1, -1, true}).verdict, sequence_verdict::append);
}

TEST(producer_state, a_producer_expiry_may_have_erased_starts_at_any_sequence) {
  producer_table t;
  t.apply(append(id(7, 0, 0, 1), 0, 1, 100));
  t.apply(append(id(9, 0, 0, 1), 1, 2, 5000));
  for (const auto& e : t.expirable(1000, 10)) t.apply(e);  // erases 7 only
  ASSERT_EQ(t.find(7), nullptr);
  EXPECT_TRUE(t.may_have_forgotten(7));
  EXPECT_EQ(t.check(id(7, 0, 4242, 1)).verdict, sequence_verdict::append) << "expired producers keep their sequence (KIP-360)";
  EXPECT_EQ(t.check(id(5, 2, 17, 1)).verdict, sequence_verdict::append) << "ids are handed out ascending: 5 may have been here";
  EXPECT_FALSE(t.may_have_forgotten(8));
  EXPECT_EQ(t.check(id(8, 0, 17, 1)).verdict, sequence_verdict::unknown_producer) << "above every erased id: never here";
  // The bound is part of the table: its bytes keep it, and a table of the first format (which
  // did not) takes every producer as possibly forgotten.
  auto back = producer_table::decode(t.encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t);
  EXPECT_EQ(back->check(id(8, 0, 17, 1)).verdict, sequence_verdict::unknown_producer);
  std::string first_format = producer_table{}.encode();
  first_format[0] = '\x01';
  first_format.resize(first_format.size() - 8);
  auto old = producer_table::decode(first_format);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->check(id(8, 0, 17, 1)).verdict, sequence_verdict::append);
}

TEST(producer_state, a_batch_must_follow_the_last_one_of_its_epoch) {
  producer_table t;
  t.apply(append(id(7, 0, 0, 3), 0, 1));
  EXPECT_EQ(t.check(id(7, 0, 3, 2)).verdict, sequence_verdict::append);
  EXPECT_EQ(t.check(id(7, 0, 4, 2)).verdict, sequence_verdict::out_of_order) << "a gap";
  EXPECT_EQ(t.check(id(7, 0, 1, 2)).verdict, sequence_verdict::out_of_order) << "overlapping, not a kept batch";
  EXPECT_EQ(t.check(id(8, 0, 0, 2)).verdict, sequence_verdict::append) << "producers are independent";
}

TEST(producer_state, the_sequence_continues_from_int32_max_at_zero) {
  producer_table t;
  t.apply(append(id(7, 0, int_max - 1, 2), 0, 1));
  EXPECT_EQ(t.find(7)->batches.back().last_seq, int_max);
  EXPECT_EQ(t.check(id(7, 0, 0, 1)).verdict, sequence_verdict::append);
  EXPECT_EQ(t.check(id(7, 0, 1, 1)).verdict, sequence_verdict::out_of_order);
}

TEST(producer_state, a_retry_of_one_of_the_last_five_batches_is_a_duplicate_with_its_offset) {
  producer_table t;
  for (std::int32_t k = 0; k < 6; ++k) t.apply(append(id(7, 0, 2 * k, 2), 100 + 10 * k, 1 + static_cast<std::uint64_t>(k)));
  ASSERT_EQ(t.find(7)->batches.size(), producer_batches_kept);
  for (std::int32_t k = 1; k < 6; ++k) {
    const auto c = t.check(id(7, 0, 2 * k, 2));
    ASSERT_EQ(c.verdict, sequence_verdict::duplicate) << k;
    EXPECT_EQ(c.original->first_offset, 100 + 10 * k);
    EXPECT_EQ(c.original->index, log_index{1 + static_cast<std::uint64_t>(k)});
  }
  // The sixth-newest is forgotten: its retry neither matches nor follows.
  EXPECT_EQ(t.check(id(7, 0, 0, 2)).verdict, sequence_verdict::out_of_order);
  EXPECT_EQ(t.check(id(7, 0, 2, 3)).verdict, sequence_verdict::out_of_order) << "same start, other end: no match";
}

TEST(producer_state, epochs_fence_older_producers_and_a_new_epoch_starts_at_zero) {
  producer_table t;
  t.apply(append(id(7, 2, 0, 3), 0, 1));
  EXPECT_EQ(t.check(id(7, 1, 3, 1)).verdict, sequence_verdict::old_epoch);
  EXPECT_EQ(t.check(id(7, 1, 0, 3)).verdict, sequence_verdict::old_epoch) << "even a batch equal to a kept one";
  EXPECT_EQ(t.check(id(7, 3, 5, 1)).verdict, sequence_verdict::out_of_order);
  EXPECT_EQ(t.check(id(7, 3, 0, 1)).verdict, sequence_verdict::append);
  t.apply(append(id(7, 3, 0, 1), 3, 2));
  EXPECT_EQ(t.find(7)->epoch, 3);
  EXPECT_EQ(t.find(7)->batches.size(), 1u) << "the old epoch's batches are forgotten";
  EXPECT_EQ(t.check(id(7, 2, 0, 3)).verdict, sequence_verdict::old_epoch);
}

TEST(producer_state, expiry_forgets_only_a_producer_that_did_not_append_since_the_decision) {
  producer_table t;
  t.apply(append(id(7, 0, 0, 1), 0, 1, 100));
  t.apply(append(id(8, 0, 0, 1), 1, 2, 100));
  const auto idle = t.expirable(150, 10);
  ASSERT_EQ(idle.size(), 2u);
  t.apply(append(id(8, 0, 1, 1), 2, 3, 200));  // appended after the leader decided
  for (const auto& e : idle) t.apply(e);
  EXPECT_EQ(t.find(7), nullptr);
  ASSERT_NE(t.find(8), nullptr);
  EXPECT_EQ(t.expirable(150, 10).size(), 0u);
  EXPECT_EQ(t.expirable(1000, 0).size(), 0u) << "bounded";
}

producer_table random_table(std::mt19937_64& rng, std::uint64_t& index, std::size_t producers) {
  producer_table t;
  for (std::size_t p = 0; p < producers; ++p) {
    std::int32_t seq = static_cast<std::int32_t>(rng() % 1000);
    const auto epoch = static_cast<std::int16_t>(rng() % 3);
    const std::size_t batches = 1 + rng() % 8;
    for (std::size_t k = 0; k < batches; ++k) {
      const auto n = static_cast<std::int32_t>(1 + rng() % 4);
      ++index;
      t.apply(append(id(static_cast<std::int64_t>(p * 1000 + rng() % 7), epoch, seq, n),
                     static_cast<std::int64_t>(index * 10), index));
      seq = advance_sequence(seq, n);
    }
  }
  return t;
}

TEST(producer_state, the_table_bytes_round_trip_and_are_canonical) {
  std::mt19937_64 rng(42);
  std::uint64_t index = 0;
  const producer_table t = random_table(rng, index, 20);
  const std::string bytes = t.encode();
  auto back = producer_table::decode(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t);
  EXPECT_EQ(back->encode(), bytes);
  EXPECT_TRUE(producer_table::decode(producer_table{}.encode()));
}

TEST(producer_state, every_truncation_and_a_lying_count_are_refused) {
  std::mt19937_64 rng(7);
  std::uint64_t index = 0;
  const std::string bytes = random_table(rng, index, 4).encode();
  for (std::size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(producer_table::decode(bytes.substr(0, n))) << n;
  EXPECT_FALSE(producer_table::decode(bytes + "x")) << "trailing bytes";
  std::string huge = producer_table{}.encode();
  huge[1] = huge[2] = huge[3] = huge[4] = '\xff';  // four billion producers in five bytes
  EXPECT_FALSE(producer_table::decode(huge));
  std::string version = bytes;
  version[0] = '\x09';
  EXPECT_FALSE(producer_table::decode(version));
}

TEST(producer_state, the_history_gives_the_table_at_any_cut_as_a_replay_from_the_start_would) {
  // A random log of appends and expiries, random drops of its prefix: at every cut still held,
  // at() equals replaying every event through that cut from an empty table.
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::pair<log_index, std::vector<producer_event>>> log;
    producer_history h;
    std::map<std::int64_t, std::int32_t> next_seq;
    std::uint64_t dropped_through = 0;
    for (std::uint64_t i = 1; i <= 200; ++i) {
      std::vector<producer_event> events;
      const auto roll = rng() % 10;
      if (roll < 7) {
        const auto pid = static_cast<std::int64_t>(rng() % 5);
        const auto n = static_cast<std::int32_t>(1 + rng() % 3);
        events.push_back(append(id(pid, 0, next_seq[pid], n), static_cast<std::int64_t>(i), i,
                                static_cast<std::int64_t>(i)));
        next_seq[pid] = advance_sequence(next_seq[pid], n);
      } else if (roll < 8) {
        events = h.current().expirable(static_cast<std::int64_t>(i) - 20, 3);
      }  // else an entry without idempotent batches
      log.emplace_back(log_index{i}, events);
      h.apply(log_index{i}, events);
      if (rng() % 25 == 0) {
        dropped_through = std::min<std::uint64_t>(i, dropped_through + rng() % 40);
        h.drop_through(log_index{dropped_through}, 0);
      }
      const std::uint64_t cut = dropped_through + rng() % (i - dropped_through + 1);
      producer_table replay;
      for (const auto& [index, evs] : log) {
        if (index.value > cut) break;
        for (const auto& e : evs) replay.apply(e);
      }
      ASSERT_EQ(h.at(log_index{cut}), replay) << "seed " << seed << " entry " << i << " cut " << cut;
    }
    producer_table all;
    for (const auto& [index, evs] : log)
      for (const auto& e : evs) all.apply(e);
    EXPECT_EQ(h.current(), all);
  }
}

TEST(producer_state, a_restored_history_starts_from_the_snapshot_table) {
  producer_table t;
  t.apply(append(id(7, 0, 0, 2), 0, 3));
  producer_history h;
  h.apply(log_index{1}, {append(id(9, 0, 0, 1), 0, 1)});
  h.restore(t);
  EXPECT_EQ(h.current(), t);
  EXPECT_EQ(h.at(log_index{3}), t);
  EXPECT_EQ(h.events_kept(), 0u);
}

producer_event txn_append(std::int64_t pid, std::int16_t epoch, std::int32_t first, std::int32_t count,
                          std::int64_t offset, std::uint64_t index) {
  producer_batch_id b = id(pid, epoch, first, count);
  b.transactional = true;
  return append(b, offset, index);
}

producer_event marker(std::int64_t pid, std::int16_t epoch, bool commit, std::int32_t coordinator_epoch,
                      std::int64_t offset, std::uint64_t index) {
  producer_event e;
  e.what = producer_event::kind::marker;
  e.id.producer_id = pid;
  e.id.epoch = epoch;
  e.batch.first_offset = offset;
  e.batch.index = log_index{index};
  e.commit = commit;
  e.coordinator_epoch = coordinator_epoch;
  return e;
}

TEST(producer_state, a_transaction_holds_the_last_stable_offset_until_its_marker) {
  producer_table t;
  EXPECT_FALSE(t.first_unstable_offset());
  t.apply(txn_append(7, 0, 0, 2, 10, 1));   // opens at 10
  t.apply(txn_append(8, 0, 0, 1, 12, 2));   // opens at 12
  t.apply(txn_append(7, 0, 2, 1, 13, 3));   // same transaction
  EXPECT_EQ(t.first_unstable_offset(), 10);
  EXPECT_EQ(t.find(7)->txn_first_offset, 10);
  t.apply(marker(7, 0, true, 3, 14, 4));
  EXPECT_EQ(t.first_unstable_offset(), 12) << "the oldest still open";
  EXPECT_EQ(t.find(7)->txn_first_offset, -1);
  EXPECT_TRUE(t.aborted().empty()) << "a commit is no abort";
  t.apply(marker(8, 0, false, 3, 15, 5));
  EXPECT_FALSE(t.first_unstable_offset());
  ASSERT_EQ(t.aborted().size(), 1u);
  EXPECT_EQ(t.aborted().front(), (aborted_txn{8, 12, 15}));
}

TEST(producer_state, aborted_transactions_are_listed_where_they_overlap_and_trimmed_below_the_log_start) {
  producer_table t;
  t.apply(txn_append(1, 0, 0, 1, 0, 1));
  t.apply(marker(1, 0, false, 0, 5, 2));    // aborted [0, 5]
  t.apply(txn_append(2, 0, 0, 1, 6, 3));
  t.apply(marker(2, 0, false, 0, 9, 4));    // aborted [6, 9]
  t.apply(marker(3, 0, false, 0, 10, 5));   // nothing open: an empty transaction [10, 10]
  EXPECT_EQ(t.aborted_between(0, 100).size(), 3u);
  EXPECT_EQ(t.aborted_between(6, 7), (std::vector<aborted_txn>{{2, 6, 9}}));
  EXPECT_EQ(t.aborted_between(5, 6), (std::vector<aborted_txn>{{1, 0, 5}})) << "the marker's offset is in it";
  EXPECT_TRUE(t.aborted_between(11, 20).empty());
  t.trim_aborted(6);
  EXPECT_EQ(t.aborted().size(), 2u);
  EXPECT_EQ(t.aborted().front().producer_id, 2);
}

TEST(producer_state, an_open_transaction_takes_only_transactional_batches_and_markers_fence) {
  producer_table t;
  t.apply(txn_append(7, 1, 0, 1, 0, 1));
  producer_batch_id plain = id(7, 1, 1, 1);
  EXPECT_EQ(t.check(plain).verdict, sequence_verdict::invalid_txn_state);
  plain.transactional = true;
  EXPECT_EQ(t.check(plain).verdict, sequence_verdict::append);
  EXPECT_EQ(check_marker(t.find(7), 0, 5), marker_verdict::old_epoch);
  EXPECT_EQ(check_marker(t.find(7), 1, 5), marker_verdict::write);
  t.apply(marker(7, 2, true, 5, 1, 2));  // the coordinator bumped the epoch with the marker
  EXPECT_EQ(t.find(7)->epoch, 2);
  EXPECT_EQ(check_marker(t.find(7), 2, 4), marker_verdict::coordinator_fenced);
  EXPECT_EQ(check_marker(nullptr, 0, 0), marker_verdict::write);
  // After a marker the producer has no batch of its epoch: its next one starts at 0.
  EXPECT_EQ(t.check(id(7, 2, 3, 1)).verdict, sequence_verdict::out_of_order);
  EXPECT_EQ(t.check(id(7, 2, 0, 1)).verdict, sequence_verdict::append);
  // An open transaction is never expired: its marker will come.
  t.apply(txn_append(7, 2, 0, 1, 2, 3));
  EXPECT_TRUE(t.expirable(std::numeric_limits<std::int64_t>::max(), 10).empty());
}

TEST(producer_state, transactions_and_aborts_survive_the_table_bytes) {
  producer_table t;
  t.apply(txn_append(1, 0, 0, 1, 0, 1));
  t.apply(marker(1, 0, false, 2, 1, 2));
  t.apply(txn_append(2, 3, 0, 2, 2, 3));  // still open
  auto back = producer_table::decode(t.encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t);
  EXPECT_EQ(back->first_unstable_offset(), 2) << "the open set is rebuilt";
  EXPECT_EQ(back->aborted().size(), 1u);
  const std::string bytes = t.encode();
  for (std::size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(producer_table::decode(bytes.substr(0, n))) << n;
}

TEST(producer_state, the_leader_projects_its_proposals_until_they_apply) {
  producer_table applied;
  applied.apply(append(id(7, 0, 0, 2), 0, 1));
  producer_guard guard;
  const term_id term{3};
  // Two proposals in flight: the second follows the first, not the applied entry.
  ASSERT_EQ(guard.check(applied, id(7, 0, 2, 2)).verdict, sequence_verdict::append);
  guard.proposed(applied, id(7, 0, 2, 2), producer_batch{2, 3, 2, 100, log_index{5}}, term);
  EXPECT_EQ(guard.check(applied, id(7, 0, 2, 2)).verdict, sequence_verdict::duplicate) << "a retry of the in-flight one";
  EXPECT_EQ(guard.check(applied, id(7, 0, 2, 2)).original->index, log_index{5});
  EXPECT_EQ(guard.check(applied, id(7, 0, 4, 1)).verdict, sequence_verdict::append);
  guard.proposed(applied, id(7, 0, 4, 1), producer_batch{4, 4, 4, 100, log_index{6}}, term);
  EXPECT_EQ(guard.check(applied, id(7, 0, 6, 1)).verdict, sequence_verdict::out_of_order);

  // The first applies: the projection still covers the second.
  applied.apply(append(id(7, 0, 2, 2), 2, 5));
  guard.applied_through(log_index{5});
  EXPECT_TRUE(guard.pending(7));
  EXPECT_EQ(guard.check(applied, id(7, 0, 5, 1)).verdict, sequence_verdict::append);
  // Both applied: the applied table is the truth again.
  applied.apply(append(id(7, 0, 4, 1), 4, 6));
  guard.applied_through(log_index{6});
  EXPECT_FALSE(guard.pending(7));
  EXPECT_EQ(guard.check(applied, id(7, 0, 5, 1)).verdict, sequence_verdict::append);

  // A lost term: reset drops the projection of proposals that will never apply.
  guard.proposed(applied, id(7, 0, 5, 1), producer_batch{5, 5, 5, 100, log_index{7}}, term);
  guard.reset();
  EXPECT_EQ(guard.check(applied, id(7, 0, 5, 1)).verdict, sequence_verdict::append);
}

}  // namespace
}  // namespace chronik::kafka
