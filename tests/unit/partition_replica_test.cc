// kafka/partition: partition_replica and partition_manager over three real raft_hosts linked in
// memory (tests/unit/partition_test_util.h). Dense offsets for acks=all, fetch returning exactly
// the produced bytes and never past the high watermark, acks=1 before commit, not_leader on a
// follower, a leader change keeping offsets dense and unique, retention with a lagging replica
// catching up from the snapshot, batch validation, long-poll wake-ups and produce timeouts.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <set>

#include "kafka/partition/partition_manager.h"
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/record_batch.h"
#include "metadata/meta_commands.h"
#include "tests/unit/partition_test_util.h"
#include "tests/unit/record_test_util.h"

namespace chronik::kafka {
namespace {

using testing::make_batch;
using testing::partition_cluster;
using testing::produce_probe;
using testing::unstamped;

const std::vector<node_id> three{node_id{1}, node_id{2}, node_id{3}};
constexpr group_id g{1024};

partition_replica& replica(partition_cluster& c, std::size_t i) {
  auto* r = c.manager(i).find(g);
  EXPECT_NE(r, nullptr);
  return *r;
}

std::chrono::steady_clock::time_point later(partition_cluster& c) { return c.clock().steady + std::chrono::seconds(30); }

// Produces `batch` on node i and returns the probe (stable: a deque).
produce_probe& produce(partition_cluster& c, std::deque<produce_probe>& probes, std::size_t i, std::string batch,
                       acks_mode acks = acks_mode::all) {
  probes.emplace_back();
  replica(c, i).produce(std::move(batch), acks, later(c), probes.back().callback());
  return probes.back();
}

std::vector<std::string> split(const byte_chain& chain) {
  const std::string records = chain.flatten();
  std::vector<std::string> out;
  auto batches = split_record_batches(records, crc_check::verify);
  EXPECT_TRUE(batches.has_value());
  if (batches)
    for (const auto& v : *batches) out.emplace_back(v.bytes);
  return out;
}

TEST(partition_replica, acks_all_answers_with_dense_base_offsets) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  const std::vector<std::int32_t> counts{3, 1, 5, 2};
  for (std::size_t k = 0; k < counts.size(); ++k) produce(c, probes, 0, make_batch(counts[k], 1000, "p" + std::to_string(k)));
  ASSERT_TRUE(c.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
  std::int64_t expect = 0;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    ASSERT_TRUE(probes[k].result.has_value()) << to_string(probes[k].result.error().code);
    EXPECT_EQ(probes[k].result->base_offset, expect);
    expect += counts[k];
  }
  // Every replica indexes the same offsets from the same committed log.
  ASSERT_TRUE(c.run_until([&] {
    for (std::size_t i = 0; i < 3; ++i)
      if (replica(c, i).high_watermark() != expect) return false;
    return true;
  }));
}

TEST(partition_replica, fetch_returns_the_produced_bytes_and_never_passes_the_high_watermark) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  std::vector<std::string> sent;
  for (int k = 0; k < 3; ++k) {
    sent.push_back(make_batch(k + 1, 2000 + k, "payload-" + std::to_string(k)) + make_batch(2, 2100, "second"));
    produce(c, probes, 0, sent.back());
  }
  ASSERT_TRUE(c.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
  auto& leader = replica(c, 0);
  ASSERT_EQ(leader.high_watermark(), 12);  // (1+2) + (2+2) + (3+2)

  auto all = leader.fetch(0, 1 << 20);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->high_watermark, 12);
  EXPECT_EQ(all->log_start_offset, 0);
  auto got = split(all->records);
  std::vector<std::string> want;
  for (const auto& s : sent)
    for (auto& b : split(s)) want.push_back(unstamped(b));
  ASSERT_EQ(got.size(), want.size());
  std::int64_t next = 0;
  const auto epoch = static_cast<std::int32_t>(leader.leader_epoch().value);
  for (std::size_t k = 0; k < got.size(); ++k) {
    auto h = parse_record_batch_header(got[k]);
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(h->base_offset, next) << "batch " << k;
    EXPECT_EQ(h->partition_leader_epoch, epoch);
    EXPECT_EQ(unstamped(got[k]), want[k]) << "batch " << k;
    next = h->last_offset() + 1;
  }

  // From the middle of an entry: that entry comes whole (the client skips what it did not ask for).
  auto mid = leader.fetch(5, 1);
  ASSERT_TRUE(mid.has_value());
  ASSERT_FALSE(mid->records.empty());
  EXPECT_EQ(parse_record_batch_header(mid->records.flatten())->base_offset, 3);
  EXPECT_EQ(split(mid->records).size(), 2u);  // max_bytes 1: only the first entry

  // At the high watermark: nothing yet. Past it: out of range.
  auto at_hw = leader.fetch(12, 1 << 20);
  ASSERT_TRUE(at_hw.has_value());
  EXPECT_TRUE(at_hw->records.empty());
  EXPECT_EQ(leader.fetch(13, 1 << 20).error(), partition_errc::offset_out_of_range);
  EXPECT_EQ(leader.fetch(-1, 1 << 20).error(), partition_errc::offset_out_of_range);

  // Uncommitted data stays invisible: with both followers cut, an acks=1 produce is durable on
  // the leader but not committed, and the high watermark does not move.
  c.cut(1);
  c.cut(2);
  auto& p = produce(c, probes, 0, make_batch(4, 3000, "uncommitted"), acks_mode::leader);
  ASSERT_TRUE(c.settle());
  ASSERT_TRUE(p.answered);
  EXPECT_EQ(leader.high_watermark(), 12);
  EXPECT_TRUE(leader.fetch(12, 1 << 20)->records.empty());
}

TEST(partition_replica, acks_one_answers_before_commit_and_acks_all_waits_for_it) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  c.cut(1);
  c.cut(2);
  auto& one = produce(c, probes, 0, make_batch(2, 1, "one"), acks_mode::leader);
  auto& all = produce(c, probes, 0, make_batch(3, 1, "all"), acks_mode::all);
  auto& none = produce(c, probes, 0, make_batch(1, 1, "none"), acks_mode::none);
  EXPECT_TRUE(none.answered);  // acks=0: at once
  ASSERT_TRUE(c.settle());     // the leader's disk write completes; no follower can answer
  ASSERT_TRUE(one.answered);
  ASSERT_TRUE(one.result.has_value());
  EXPECT_EQ(one.result->base_offset, 0);
  EXPECT_FALSE(all.answered);
  EXPECT_EQ(replica(c, 0).high_watermark(), 0);

  c.heal(1);
  c.heal(2);
  ASSERT_TRUE(c.run_until([&] { return all.answered; }));
  ASSERT_TRUE(all.result.has_value());
  EXPECT_EQ(all.result->base_offset, 2);
  EXPECT_EQ(none.result->base_offset, 5);
  ASSERT_TRUE(c.run_until([&] { return replica(c, 0).high_watermark() == 6; }));
}

TEST(partition_replica, a_follower_refuses_produce_fetch_and_list_offsets) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  auto& p = produce(c, probes, 1, make_batch(1, 1, "x"));
  ASSERT_TRUE(p.answered);
  EXPECT_EQ(p.result.error(), partition_errc::not_leader);
  EXPECT_EQ(replica(c, 1).fetch(0, 100).error(), partition_errc::not_leader);
  EXPECT_EQ(replica(c, 2).list_offsets(-1).error(), partition_errc::not_leader);
  EXPECT_EQ(replica(c, 1).leader(), node_id{1});
}

TEST(partition_replica, a_replica_going_away_answers_pending_proposals_timed_out) {
  // Found by reading for the partition suite's data checker: the pending proposals of a removed
  // replica may still commit through another leader, so "not written" (not_leader) would be a lie.
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  c.cut(0);  // nothing can commit
  std::deque<produce_probe> probes;
  auto& p = produce(c, probes, 0, make_batch(1, 1, "pending"));
  ASSERT_FALSE(p.answered);
  replica(c, 0).fail_all();
  ASSERT_TRUE(p.answered);
  EXPECT_EQ(p.result.error(), partition_errc::timed_out);
}

// Raft's ReadIndex for the group coordinator's reads (partition_reads.cc): the leader gets its
// confirmation once a majority answers; a leader cut off from the others never does, and learns
// it at the deadline; a follower is refused at once.
TEST(partition_replica, only_a_leader_a_majority_still_follows_confirms_its_leadership) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::optional<bool> follower;
  replica(c, 1).confirm_leadership(c.clock().steady + std::chrono::seconds(5), [&](bool ok) { follower = ok; });
  EXPECT_EQ(follower, false);

  std::optional<bool> confirmed;
  replica(c, 0).confirm_leadership(c.clock().steady + std::chrono::seconds(5), [&](bool ok) { confirmed = ok; });
  ASSERT_TRUE(c.settle());
  EXPECT_EQ(confirmed, true);

  c.cut(0);
  std::optional<bool> cut_off;
  const auto deadline = c.clock().steady + std::chrono::seconds(1);
  replica(c, 0).confirm_leadership(deadline, [&](bool ok) { cut_off = ok; });
  ASSERT_TRUE(c.settle());
  EXPECT_FALSE(cut_off) << "no majority answered: no confirmation yet";
  c.clock().advance(std::chrono::seconds(1));
  replica(c, 0).expire(deadline);
  EXPECT_EQ(cut_off, false);
}

TEST(partition_replica, a_leader_change_keeps_offsets_dense_and_unique) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  std::map<std::int64_t, std::string> acked;  // base offset -> payload
  std::vector<std::pair<produce_probe*, std::string>> sent;
  const auto send = [&](std::size_t node, const std::string& payload) {
    sent.emplace_back(&produce(c, probes, node, make_batch(2, 1, payload)), payload);
  };
  for (int k = 0; k < 3; ++k) send(0, "a" + std::to_string(k));
  ASSERT_TRUE(c.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));

  // Node 1 is cut off with proposals in flight; they can never commit.
  c.cut(0);
  for (int k = 0; k < 2; ++k) send(0, "lost" + std::to_string(k));
  ASSERT_TRUE(c.elect(g, 1));
  for (int k = 0; k < 3; ++k) send(1, "b" + std::to_string(k));
  ASSERT_TRUE(c.run_until([&] { return probes[5].answered && probes[6].answered && probes[7].answered; }));
  c.heal(0);
  // The old leader learns the new term; its overwritten proposals are answered not_leader.
  ASSERT_TRUE(c.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
  ASSERT_TRUE(c.run_until([&] { return replica(c, 0).high_watermark() == replica(c, 1).high_watermark(); }));

  for (auto& [p, payload] : sent) {
    if (!p->result) {
      EXPECT_TRUE(payload.starts_with("lost")) << payload << ": " << to_string(p->result.error().code);
      EXPECT_EQ(p->result.error(), partition_errc::not_leader) << "overwritten, so known not committed";
      continue;
    }
    EXPECT_TRUE(acked.emplace(p->result->base_offset, payload).second) << "offset given twice";
  }
  EXPECT_EQ(acked.size(), 6u);
  // Dense: 0, 2, 4, ... and every acknowledged payload is readable at its offset.
  auto data = replica(c, 1).fetch(0, 1 << 20);
  ASSERT_TRUE(data.has_value());
  auto batches = split(data->records);
  ASSERT_EQ(batches.size(), acked.size());
  std::int64_t next = 0;
  for (const auto& b : batches) {
    auto h = parse_record_batch_header(b);
    EXPECT_EQ(h->base_offset, next);
    ASSERT_TRUE(acked.contains(next));
    EXPECT_EQ(unstamped(b), unstamped(make_batch(2, 1, acked[next])));
    next += 2;
  }
  // The epoch is the new term for the new leader's batches.
  EXPECT_GT(parse_record_batch_header(batches.back())->partition_leader_epoch,
            parse_record_batch_header(batches.front())->partition_leader_epoch);

  // The old leader's log was truncated where its lost proposals sat. Leading again, it answers
  // from its entry cache and its WAL with exactly the new leader's bytes: nothing of the lost
  // proposals (they were never applied, so never cached).
  ASSERT_TRUE(c.elect(g, 0));
  auto again = replica(c, 0).fetch(0, 1 << 20);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->records.flatten(), data->records.flatten());
  EXPECT_EQ(again->records.flatten().find("lost"), std::string::npos);
  EXPECT_GT(c.manager(0).cache().entries(), 0u);
}

TEST(partition_replica, fetch_joins_entries_from_the_wal_and_from_the_cache_into_the_same_bytes) {
  // A cache that holds only the newest few entries: a fetch from offset 0 reads the older ones
  // from the WAL and takes the newer ones from the cache. A node without a cache must answer
  // the same bytes, at every start offset, entry boundaries and the middle of entries alike.
  constexpr std::size_t entry_bytes = 600;  // one batch of 500 payload bytes and its header
  partition_cluster small(3, 4 * entry_bytes);
  partition_cluster none(3, 0);
  std::deque<produce_probe> probes;
  for (auto* c : {&small, &none}) {
    c->create("t", g.value, three);
    ASSERT_TRUE(c->elect(g, 0));
    for (int k = 0; k < 10; ++k) produce(*c, probes, 0, make_batch(3, 1, std::string(500, static_cast<char>('a' + k))));
    ASSERT_TRUE(c->run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
    ASSERT_EQ(replica(*c, 0).high_watermark(), 30);
  }
  const auto& cache = small.manager(0).cache();
  EXPECT_GT(cache.entries(), 0u);
  EXPECT_LT(cache.entries(), 10u) << "older entries were evicted";
  EXPECT_EQ(none.manager(0).cache().entries(), 0u);
  for (std::int64_t offset = 0; offset <= 30; ++offset) {
    for (std::uint64_t max : {std::uint64_t{1}, std::uint64_t{3 * entry_bytes}, std::uint64_t{1} << 20}) {
      auto a = replica(small, 0).fetch(offset, max);
      auto b = replica(none, 0).fetch(offset, max);
      ASSERT_TRUE(a.has_value() && b.has_value());
      EXPECT_EQ(a->records.flatten(), b->records.flatten()) << "offset " << offset << " max " << max;
    }
  }
  auto all = replica(small, 0).fetch(0, 1 << 20);
  auto batches = split(all->records);
  ASSERT_EQ(batches.size(), 10u);
  for (std::size_t k = 0; k < batches.size(); ++k) {
    EXPECT_EQ(parse_record_batch_header(batches[k])->base_offset, static_cast<std::int64_t>(3 * k));
    EXPECT_EQ(unstamped(batches[k]), unstamped(make_batch(3, 1, std::string(500, static_cast<char>('a' + k)))));
  }
}

TEST(partition_replica, list_offsets_by_timestamp_finds_the_record_inside_a_batch) {
  // A linger batch of three records stamped 1000, 1005 and 1009 ms, stored at offsets 2..4 after
  // a batch of two at 900. Kafka answers with the first record at or after the target and that
  // record's timestamp, from the cache and from the WAL alike.
  for (std::uint64_t cache_bytes : {std::uint64_t{1} << 20, std::uint64_t{0}}) {
    partition_cluster c(3, cache_bytes);
    c.create("t", g.value, three);
    ASSERT_TRUE(c.elect(g, 0));
    std::deque<produce_probe> probes;
    produce(c, probes, 0, make_batch(2, 900, "early"));
    record_batch_header h;
    h.last_offset_delta = 2;
    h.records_count = 3;
    h.base_timestamp = 1'000;
    h.max_timestamp = 1'009;
    produce(c, probes, 0, build_record_batch(h, testing::three_records()));
    ASSERT_TRUE(c.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
    ASSERT_EQ(replica(c, 0).high_watermark(), 5);
    const auto at = [&](std::int64_t ts) { return *replica(c, 0).list_offsets(ts); };
    EXPECT_EQ(at(1'000).offset, 2) << "cache " << cache_bytes;
    EXPECT_EQ(at(1'001).offset, 3);
    EXPECT_EQ(at(1'001).timestamp, 1'005);
    EXPECT_EQ(at(1'006).offset, 4);
    EXPECT_EQ(at(1'009).timestamp, 1'009);
    EXPECT_EQ(at(1'010).offset, -1);
    // Every record of the first batch carries 900 (make_batch): its first record answers.
    EXPECT_EQ(at(800).offset, 0);
    EXPECT_EQ(at(800).timestamp, 900);
  }
}

// KIP-734 (ListOffsets v7, timestamp -3): the first record carrying the log's largest timestamp,
// found inside its batch, though later batches are older; -4 (v8, KIP-405) is the log start, as
// the whole log is local. From the cache and from the WAL alike.
TEST(partition_replica, list_offsets_max_timestamp_finds_the_record_inside_a_batch) {
  for (std::uint64_t cache_bytes : {std::uint64_t{1} << 20, std::uint64_t{0}}) {
    partition_cluster c(3, cache_bytes);
    c.create("t", g.value, three);
    ASSERT_TRUE(c.elect(g, 0));
    EXPECT_EQ(replica(c, 0).list_offsets(list_offsets_max_timestamp)->offset, -1) << "empty log";
    std::deque<produce_probe> probes;
    produce(c, probes, 0, make_batch(2, 900, "early"));
    record_batch_header h;
    h.last_offset_delta = 2;
    h.records_count = 3;
    h.base_timestamp = 1'000;
    h.max_timestamp = 1'009;
    produce(c, probes, 0, build_record_batch(h, testing::three_records()));  // offsets 2..4: 1000, 1005, 1009
    produce(c, probes, 0, make_batch(1, 950, "late but older"));
    produce(c, probes, 0, make_batch(1, 1'009, "a tie"));
    ASSERT_TRUE(c.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
    ASSERT_EQ(replica(c, 0).high_watermark(), 7);
    auto max = replica(c, 0).list_offsets(list_offsets_max_timestamp);
    ASSERT_TRUE(max.has_value());
    EXPECT_EQ(max->offset, 4) << "cache " << cache_bytes;
    EXPECT_EQ(max->timestamp, 1'009);
    EXPECT_EQ(replica(c, 0).list_offsets(list_offsets_earliest_local)->offset, 0);
    EXPECT_EQ(replica(c, 2).list_offsets(list_offsets_max_timestamp).error(), partition_errc::not_leader);
  }
}

// Issue 13's remote crash: a batch claiming 2^31-1 records around one real one reached the log,
// and ListOffsets by timestamp then died with bad_alloc on every leader in turn. Produce now
// refuses it (batch_validation_test); a replica must still survive one that is already stored, as
// written by an older version or damaged on disk. It is put in the log past validation here.
TEST(partition_replica, a_lying_batch_already_in_the_log_is_read_without_crashing) {
  for (std::uint64_t cache_bytes : {std::uint64_t{1} << 20, std::uint64_t{0}}) {
    partition_cluster c(3, cache_bytes);
    c.create("t", g.value, three);
    ASSERT_TRUE(c.elect(g, 0));
    std::deque<produce_probe> probes;
    record_batch_header h;
    h.records_count = 0x7fffffff;
    h.last_offset_delta = 0;
    h.base_timestamp = 1'000;
    h.max_timestamp = 1'000;
    const std::string lying = build_record_batch(h, testing::record(0, 0, "one"));
    EXPECT_EQ(produce(c, probes, 0, lying).result.error(), partition_errc::invalid_record);
    ASSERT_TRUE(c.host(0).propose(g, lying).has_value());
    produce(c, probes, 0, make_batch(1, 2'000, "after"));
    ASSERT_TRUE(c.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
    ASSERT_TRUE(probes.back().result.has_value());
    EXPECT_EQ(probes.back().result->base_offset, 1);
    auto at = replica(c, 0).list_offsets(1'000);
    ASSERT_TRUE(at.has_value());
    EXPECT_EQ(at->offset, 0) << "cache " << cache_bytes;  // the batch's own base offset answers
    EXPECT_EQ(replica(c, 0).list_offsets(1'500)->offset, 1);
    auto f = replica(c, 0).fetch(0, 1 << 20);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(split(f->records).size(), 2u);
  }
}

TEST(partition_replica, refused_records_leave_no_trace) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  record_batch_header h;
  h.records_count = 2;
  h.last_offset_delta = 1;
  // The first batch is well formed, the second lies: nothing of the blob may be stored.
  const std::string blob = make_batch(2, 5, "fine") + build_record_batch(h, testing::record(0, 0, "a"));
  auto& p = produce(c, probes, 0, blob);
  ASSERT_TRUE(p.answered);
  EXPECT_EQ(p.result.error(), partition_errc::invalid_record);
  EXPECT_EQ(p.result.error().batch, 1);
  EXPECT_FALSE(p.result.error().message.empty());
  ASSERT_TRUE(c.settle());
  EXPECT_EQ(replica(c, 0).high_watermark(), 0);
  EXPECT_EQ(replica(c, 0).in_flight(), 0u);
}

TEST(partition_replica, log_append_time_topics_stamp_the_leader_clock) {
  partition_cluster c;
  c.create("t", g.value, three, {{"message.timestamp.type", "LogAppendTime"}});
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  auto& p = produce(c, probes, 0, make_batch(2, 5, "old clock"));
  ASSERT_TRUE(c.run_until([&] { return p.answered; }));
  ASSERT_TRUE(p.result.has_value());
  EXPECT_EQ(p.result->log_append_time_ms, c.clock().wall_ms);
  auto f = replica(c, 0).fetch(0, 1 << 20);
  ASSERT_TRUE(f.has_value());
  const auto stored = split(f->records);  // split verifies the rewritten CRC
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(parse_record_batch_header(stored[0])->max_timestamp, c.clock().wall_ms);
  EXPECT_EQ(replica(c, 0).list_offsets(c.clock().wall_ms)->offset, 0);
}

TEST(partition_replica, retention_compacts_and_a_lagging_replica_catches_up_from_the_snapshot) {
  partition_cluster c;
  c.create("t", g.value, three, {{"retention.bytes", "300"}});
  ASSERT_TRUE(c.elect(g, 0));
  c.cut(2);
  std::deque<produce_probe> probes;
  for (int k = 0; k < 10; ++k) produce(c, probes, 0, make_batch(1, 1, std::string(100, static_cast<char>('a' + k))));
  ASSERT_TRUE(c.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
  EXPECT_EQ(replica(c, 0).log_start_offset(), 0);

  c.clock().advance(std::chrono::seconds(6));  // past retention_check_interval_ms
  ASSERT_TRUE(c.tick_all());
  const std::int64_t start = replica(c, 0).log_start_offset();
  EXPECT_GT(start, 5);
  EXPECT_LT(start, 10);
  EXPECT_EQ(replica(c, 0).fetch(0, 1 << 20).error(), partition_errc::offset_out_of_range);
  auto kept = replica(c, 0).fetch(start, 1 << 20);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(parse_record_batch_header(kept->records.flatten())->base_offset, start);

  // Compaction dropped the cached entries it removed from the log too.
  EXPECT_LT(c.manager(0).cache().entries(), 10u);

  // Node 3 missed everything; the entries it needs are compacted, so the leader sends the
  // partition snapshot and the entries after it.
  c.heal(2);
  ASSERT_TRUE(c.run_until([&] { return replica(c, 2).high_watermark() == 10; }));
  EXPECT_LT(c.manager(2).cache().entries(), 10u) << "only entries after the snapshot were applied";
  EXPECT_GE(replica(c, 2).log_start_offset(), start);
  // Node 3 leads now and serves the same offsets.
  ASSERT_TRUE(c.elect(g, 2));
  auto again = replica(c, 2).fetch(replica(c, 2).log_start_offset(), 1 << 20);
  ASSERT_TRUE(again.has_value());
  auto batches = split(again->records);
  ASSERT_FALSE(batches.empty());
  EXPECT_EQ(parse_record_batch_header(batches.back())->base_offset, 9);
  EXPECT_EQ(unstamped(batches.back()), unstamped(make_batch(1, 1, std::string(100, 'j'))));
}

TEST(partition_replica, invalid_batches_are_refused) {
  partition_cluster c;
  c.create("t", g.value, three, {{"max.message.bytes", "1000"}});
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  std::string bad = make_batch(1, 1, "payload");
  bad.back() ^= 0x1;  // inside the CRC's span
  EXPECT_EQ(produce(c, probes, 0, bad).result.error(), partition_errc::corrupt_batch);
  std::string old = make_batch(1, 1, "payload");
  old[16] = 1;  // magic 1
  EXPECT_EQ(produce(c, probes, 0, old).result.error(), partition_errc::unsupported_magic);
  EXPECT_EQ(produce(c, probes, 0, make_batch(1, 1, std::string(2000, 'x'))).result.error(), partition_errc::too_large);
  EXPECT_EQ(produce(c, probes, 0, "").result.error(), partition_errc::corrupt_batch);
  ASSERT_TRUE(c.settle());
  EXPECT_EQ(replica(c, 0).in_flight(), 0u);
  EXPECT_EQ(replica(c, 0).high_watermark(), 0);
}

TEST(partition_manager, long_poll_wakes_on_data_or_deadline) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  int woken = 0;
  c.manager(0).wait_for_data({g}, std::chrono::milliseconds(500), [&] { ++woken; });
  ASSERT_TRUE(c.tick_all());
  EXPECT_EQ(woken, 0);
  std::deque<produce_probe> probes;
  produce(c, probes, 0, make_batch(1, 1, "x"));
  ASSERT_TRUE(c.run_until([&] { return probes.back().answered; }, 50));
  EXPECT_EQ(woken, 1);

  c.manager(0).wait_for_data({g}, std::chrono::milliseconds(500), [&] { ++woken; });
  c.clock().advance(std::chrono::milliseconds(499));
  ASSERT_TRUE(c.tick_all());
  EXPECT_EQ(woken, 1);
  c.clock().advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(c.tick_all());
  EXPECT_EQ(woken, 2);
  EXPECT_EQ(c.manager(0).fetch_waiters(), 0u);
}

TEST(partition_manager, produce_times_out_without_a_quorum) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  c.cut(1);
  c.cut(2);
  std::deque<produce_probe> probes;
  probes.emplace_back();
  replica(c, 0).produce(make_batch(1, 1, "x"), acks_mode::all, c.clock().steady + std::chrono::milliseconds(100),
                        probes.back().callback());
  ASSERT_TRUE(c.tick_all());
  EXPECT_FALSE(probes.back().answered);
  c.clock().advance(std::chrono::milliseconds(100));
  ASSERT_TRUE(c.tick_all());
  ASSERT_TRUE(probes.back().answered);
  EXPECT_EQ(probes.back().result.error(), partition_errc::timed_out);
}

// A new partition's first replica campaigns as soon as its group runs
// (partition_replica::campaign_if_first): the group has its leader before any tick, where it used
// to wait out an election timeout. The other replicas' groups run first here: a peer whose group
// is not running yet drops the vote request or the first append, and then learns its leader only
// at a tick (with create() ensuring all three at once, that happened in 4 of 10 runs).
TEST(partition_manager, a_new_partitions_first_replica_leads_without_waiting_for_a_timeout) {
  partition_cluster c;
  metadata::topic_record t;
  t.name = "t";
  t.id.bytes[0] = 1;
  const metadata::partition_ref ref{t.id, 0, g, metadata::incarnation{g.value}, three, three, {}};
  for (std::size_t n : {2, 1, 0}) {
    ASSERT_TRUE(c.manager(n).ensure(ref, t).has_value());
    ASSERT_TRUE(c.settle());  // ticks nobody
  }
  for (std::size_t n = 0; n < c.size(); ++n) {
    const auto b = c.host(n).brief(g);
    ASSERT_TRUE(b.has_value()) << n;
    EXPECT_EQ(b->leader, node_id{1}) << n;
  }
  ASSERT_NE(c.manager(0).find(g), nullptr);
  EXPECT_TRUE(c.manager(0).find(g)->leader_ready());
}

// No host lists an awake group: every group has quiesced (docs/raft.md "Quiescence").
bool every_group_quiet(partition_cluster& c) {
  for (std::size_t n = 0; n < c.size(); ++n)
    if (!c.host(n).awake_groups().empty()) return false;
  return true;
}

// Idle work follows what changed, not how many partitions exist (docs/performance.md "Scale"):
// once a partition's group has quiesced and nothing waits on it, a tick looks at none of its
// replicas. Work with a deadline, and a group woken by a leader change, are looked at again: a
// long-poll on the old leader learns at once that it must move.
TEST(partition_manager, a_tick_looks_only_at_awake_or_waiting_replicas) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  const auto all_quiet = [&] { return every_group_quiet(c); };
  ASSERT_TRUE(c.run_until(all_quiet));
  ASSERT_TRUE(c.tick_all());
  for (std::size_t n = 0; n < c.size(); ++n) EXPECT_EQ(c.manager(n).replicas_visited_last_tick(), 0u) << n;

  // A produce waits on the leader: it is looked at until its answer.
  std::deque<produce_probe> probes;
  produce(c, probes, 0, make_batch(1, 1, "x"));
  ASSERT_TRUE(c.tick_all());
  EXPECT_EQ(c.manager(0).replicas_visited_last_tick(), 1u);
  ASSERT_TRUE(c.run_until([&] { return probes.back().answered; }));
  ASSERT_TRUE(c.run_until(all_quiet));
  ASSERT_TRUE(c.tick_all());
  EXPECT_EQ(c.manager(0).replicas_visited_last_tick(), 0u);

  // Leadership moves away from a quiet group: the old leader's long-poll is woken long before
  // its deadline, and the new leader reports itself.
  int woken = 0;
  c.manager(0).wait_for_data({g}, std::chrono::hours(1), [&] { ++woken; });
  std::vector<node_id> reported;
  c.manager(1).set_leadership_callback(
      [&](const metadata::partition_ref&, node_id leader, consensus::term_id) { reported.push_back(leader); });
  ASSERT_TRUE(c.elect(g, 1));
  EXPECT_EQ(woken, 1);
  ASSERT_FALSE(reported.empty());
  EXPECT_EQ(reported.back(), node_id{2});
}

// A quiet leader's ISR pass repeats its last observation without asking its Raft core
// (partition_replica::track_isr with `asleep`): the followers stay in sync for as long as it is
// quiet, well past replica.lag.time.max.ms, a broker `__meta` shows down leaves at once, and it is
// back at the next pass once it is up again, holding the whole unchanged log.
TEST(partition_manager, a_quiet_leaders_isr_stays_whole_and_follows_down_brokers) {
  partition_cluster c;
  c.create("t", g.value, three);
  ASSERT_TRUE(c.elect(g, 0));
  const auto all_quiet = [&] { return every_group_quiet(c); };
  ASSERT_TRUE(c.run_until(all_quiet));
  const auto isr_after_a_pass = [&] {
    c.clock().advance(std::chrono::milliseconds(partition_manager_config{}.isr_check_interval_ms));
    EXPECT_TRUE(c.tick_all());
    return replica(c, 0).in_sync_replicas(c.clock().steady);
  };
  const auto quiet_until = c.clock().steady + 2 * std::chrono::milliseconds(partition_manager_config{}.replica_lag_time_max_ms);
  while (c.clock().steady < quiet_until) ASSERT_EQ(isr_after_a_pass(), three);
  EXPECT_TRUE(all_quiet());
  c.manager(0).set_down_brokers({node_id{3}});
  EXPECT_EQ(isr_after_a_pass(), (std::vector<node_id>{node_id{1}, node_id{2}}));
  c.manager(0).set_down_brokers({});
  EXPECT_EQ(isr_after_a_pass(), three);
  EXPECT_TRUE(all_quiet());
}

TEST(partition_manager, reports_leadership_and_follows_meta) {
  namespace cmd = metadata::commands;
  partition_cluster c;
  std::vector<std::pair<node_id, consensus::term_id>> seen;
  c.manager(1).set_leadership_callback([&](const metadata::partition_ref& ref, node_id leader, consensus::term_id term) {
    EXPECT_EQ(ref.group, g);
    seen.emplace_back(leader, term);
  });
  metadata::meta_state meta;
  std::uint64_t index = 1;
  for (std::uint64_t id = 1; id <= 3; ++id) {
    const std::string n = std::to_string(id);
    ASSERT_TRUE(meta.apply(consensus::log_index{index++},
                           cmd::register_broker({node_id{static_cast<std::uint32_t>(id)}, "uuid-" + n, "127.0.0." + n + ":9092", "127.0.0." + n + ":7000", ""})));
  }
  cmd::topic_spec spec;
  spec.name = "t";
  spec.id.bytes[0] = 7;
  spec.assignments = {{node_id{1}, node_id{2}}};
  spec.configs = {{"retention.ms", "1000"}};
  ASSERT_TRUE(meta.apply(consensus::log_index{index++}, cmd::create_topic(spec)));
  for (std::size_t i = 0; i < 3; ++i) c.manager(i).sync(meta);
  ASSERT_TRUE(c.settle());
  EXPECT_EQ(c.manager(2).find(g), nullptr);  // not a replica there
  ASSERT_NE(c.manager(1).find("t", 0), nullptr);
  EXPECT_EQ(c.manager(1).find("t", 0)->group(), g);
  ASSERT_TRUE(c.elect(g, 0));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().first, node_id{1});
  EXPECT_EQ(seen.back().second, c.host(1).status(g)->term);

  // A `__meta` that has not reached the topic yet (next_group still 1024) removes nothing.
  c.manager(1).sync(metadata::meta_state{});
  EXPECT_NE(c.manager(1).find(g), nullptr);

  // The topic is deleted: its groups go, data included.
  ASSERT_TRUE(meta.apply(consensus::log_index{index++}, cmd::delete_topic(std::string("t"))));
  for (std::size_t i = 0; i < 3; ++i) c.manager(i).sync(meta);
  EXPECT_EQ(c.manager(0).find("t", 0), nullptr);
  EXPECT_EQ(c.manager(1).find(g), nullptr);
  EXPECT_FALSE(c.host(1).status(g).has_value());
  EXPECT_FALSE(c.host(0).status(g).has_value());
}

// After a restart `__meta` replays states older than a topic's deletion (its creation record, or a
// snapshot taken before it): the deleted groups must not be looked for, revived and removed again
// on every restart (it logged four lines per partition, and before that an error per partition).
// A group that a move took away is still revived when a move brings it back.
TEST(partition_manager, a_deleted_topic_is_not_started_again_when_meta_replays_it) {
  namespace cmd = metadata::commands;
  partition_cluster c;
  metadata::meta_state meta;
  std::uint64_t index = 1;
  for (std::uint32_t id = 1; id <= 3; ++id) {
    const std::string n = std::to_string(id);
    ASSERT_TRUE(meta.apply(consensus::log_index{index++},
                           cmd::register_broker({node_id{id}, "uuid-" + n, "127.0.0." + n + ":9092", "127.0.0." + n + ":7000", ""})));
  }
  cmd::topic_spec spec;
  spec.name = "t";
  spec.id.bytes[0] = 7;
  spec.assignments = {{node_id{1}, node_id{2}}};
  ASSERT_TRUE(meta.apply(consensus::log_index{index++}, cmd::create_topic(spec)));
  const metadata::meta_state before_delete = meta;
  for (std::size_t i = 0; i < 3; ++i) c.manager(i).sync(meta);
  ASSERT_TRUE(c.settle());
  ASSERT_TRUE(c.host(1).status(g).has_value());
  ASSERT_TRUE(meta.apply(consensus::log_index{index++}, cmd::delete_topic(std::string("t"))));
  for (std::size_t i = 0; i < 3; ++i) c.manager(i).sync(meta);
  ASSERT_TRUE(c.settle());
  ASSERT_FALSE(c.host(1).status(g).has_value());

  ASSERT_TRUE(c.restart(1));
  // The replay: the creation record's partitions, then a state from before the deletion.
  const auto* topic = before_delete.topic(spec.id);
  ASSERT_NE(topic, nullptr);
  for (const auto& ref : before_delete.groups_for(node_id{2})) {
    EXPECT_TRUE(c.manager(1).ensure(ref, *topic, c.manager(1).start_for(before_delete, ref)).has_value());
  }
  c.manager(1).sync(before_delete);
  ASSERT_TRUE(c.settle());
  EXPECT_EQ(c.manager(1).find(g), nullptr);
  EXPECT_FALSE(c.host(1).status(g).has_value());  // not revived on disk either
  c.manager(1).sync(meta);
  EXPECT_EQ(c.manager(1).find(g), nullptr);

  // The host cannot tell why a group was removed; the partition's `moved` flag does. Had a move
  // taken node 1's copy away and now brought it back, the group is revived and runs again.
  const auto moved_ref = before_delete.groups_for(node_id{1}).front();
  metadata::topic_record moved_topic = *topic;
  moved_topic.partitions[0].moved = true;
  metadata::partition_ref back = moved_ref;
  back.bootstrap.clear();  // a moved group bootstraps nothing (meta_state.h partition_ref)
  ASSERT_TRUE(c.manager(0).ensure(back, moved_topic, consensus::group_start::rejoin).has_value());
  ASSERT_TRUE(c.settle());
  EXPECT_NE(c.manager(0).find(g), nullptr);
  EXPECT_TRUE(c.host(0).status(g).has_value());
}

// A topic config change in `__meta` reaches the running replicas (partition_manager::reconfigure,
// docs/kafka.md "Configs"): retention the topic did not have at creation compacts every replica,
// followers included, with no restart. Before reconfigure, replicas read configs only at start.
TEST(partition_manager, a_config_change_reaches_every_running_replica) {
  partition_cluster c;
  // Kept forever at first (make_batch's timestamps are far older than retention.ms's default).
  const auto ref = c.create("t", g.value, three, {{"retention.ms", "-1"}});
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  for (int k = 0; k < 10; ++k) produce(c, probes, 0, make_batch(1, 1, std::string(100, static_cast<char>('a' + k))));
  ASSERT_TRUE(c.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
  ASSERT_TRUE(c.run_until([&] { return replica(c, 1).high_watermark() == 10 && replica(c, 2).high_watermark() == 10; }));
  c.clock().advance(std::chrono::seconds(6));  // past retention_check_interval_ms
  ASSERT_TRUE(c.tick_all());
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(replica(c, i).log_start_offset(), 0) << i;

  metadata::topic_record changed;
  changed.name = "t";
  changed.id = ref.topic;
  changed.configs = {{"retention.ms", "-1"}, {"retention.bytes", "1"}};
  for (std::size_t i = 0; i < 3; ++i) c.manager(i).reconfigure(ref, changed);
  c.clock().advance(std::chrono::seconds(6));
  ASSERT_TRUE(c.tick_all());
  // Everything but the newest entry goes, on the leader and on both followers.
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(replica(c, i).log_start_offset(), 9) << i;
  // A partition not running on a node is left alone there.
  metadata::partition_ref elsewhere = ref;
  elsewhere.group = group_id{g.value + 1};
  c.manager(0).reconfigure(elsewhere, changed);
  EXPECT_EQ(c.manager(0).find(elsewhere.group), nullptr);
}

}  // namespace
}  // namespace chronik::kafka
