// kafka/partition: log compaction of a partition replica (partition_compaction.cc) over three real
// raft_hosts linked in memory (partition_test_util.h). The retention check of a compacted topic
// keeps the last record of each key at its offset, the log start stays, fetches below the cut come
// from the cleaned prefix, a lagging replica and a restarted one get the same prefix from the
// snapshot, aborted records never hide a committed value, a keyless record is refused, a prefix
// over its bound leaves the log whole, and compact,delete expires the prefix and the entries.
#include <gtest/gtest.h>

#include <deque>
#include <optional>

#include "kafka/partition/partition_manager.h"
#include "kafka/protocol/keyed_records.h"
#include "kafka/protocol/record_batch.h"
#include "kafka/protocol/txn_marker.h"
#include "tests/unit/partition_test_util.h"
#include "tests/unit/record_test_util.h"

namespace chronik::kafka {
namespace {

using testing::make_batch;
using testing::partition_cluster;
using testing::produce_probe;

const std::vector<node_id> three{node_id{1}, node_id{2}, node_id{3}};
constexpr group_id g{5120};

// Cleans at every retention check: any dirty share, any age.
const std::map<std::string, std::string> compact_now{
    {"cleanup.policy", "compact"}, {"min.cleanable.dirty.ratio", "0"}, {"segment.ms", "1"}};

partition_replica& replica(partition_cluster& c, std::size_t i) {
  auto* r = c.manager(i).find(g);
  EXPECT_NE(r, nullptr);
  return *r;
}

// One keyed record per batch, as a producer with linger 0 sends it; a transactional one when
// `producer` is set (its epoch 0, sequence `sequence`).
std::string keyed(const std::string& key, const std::optional<std::string>& value, std::int64_t ts,
                  std::int64_t producer = -1, std::int32_t sequence = 0) {
  std::string body;
  body.push_back(0);
  testing::put_varlong(body, 0);
  testing::put_varlong(body, 0);
  testing::put_varlong(body, static_cast<std::int64_t>(key.size()));
  body += key;
  testing::put_varlong(body, value ? static_cast<std::int64_t>(value->size()) : -1);
  if (value) body += *value;
  testing::put_varlong(body, 0);
  std::string rec;
  testing::put_varlong(rec, static_cast<std::int64_t>(body.size()));
  rec += body;
  record_batch_header h;
  h.records_count = 1;
  h.base_timestamp = h.max_timestamp = ts;
  if (producer >= 0) {
    h.attributes = 0x10;
    h.producer_id = producer;
    h.producer_epoch = 0;
    h.base_sequence = sequence;
  }
  return build_record_batch(h, rec);
}

struct compaction_test {
  partition_cluster c;
  std::deque<produce_probe> probes;
  explicit compaction_test(partition_config defaults = {}) : c(3, partition_manager_config{}.entry_cache_bytes, defaults) {
    c.create("t", g.value, three, compact_now);
    EXPECT_TRUE(c.elect(g, 0));
  }
  partition_replica& leader() { return replica(c, 0); }
  produce_probe& produce(std::string batch) {
    probes.emplace_back();
    leader().produce(std::move(batch), acks_mode::all, c.clock().steady + std::chrono::seconds(30), probes.back().callback());
    return probes.back();
  }
  produce_probe& abort(std::int64_t pid) {
    probes.emplace_back();
    leader().write_marker(pid, 0, txn_marker{false, 1}, c.clock().steady + std::chrono::seconds(30), probes.back().callback());
    return probes.back();
  }
  bool settle() {
    return c.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); });
  }
  // Past retention_check_interval_ms: every replica runs its retention check (here: cleaning).
  bool check() {
    c.clock().advance(std::chrono::seconds(6));
    return c.tick_all();
  }
};

// "offset:key=value" of every record a fetch from `offset` returns ("offset:marker" for a
// transaction marker, "~" for a null value).
std::vector<std::string> records_from(partition_replica& r, std::int64_t offset, std::uint64_t max_bytes = 1 << 20) {
  std::vector<std::string> out;
  auto got = r.fetch(offset, max_bytes);
  EXPECT_TRUE(got.has_value());
  if (!got) return out;
  const std::string bytes = got->records.flatten();
  auto batches = split_record_batches(bytes);
  EXPECT_TRUE(batches.has_value());
  if (!batches) return out;
  for (const auto& b : *batches) {
    if (b.header.is_control()) {
      out.push_back(std::to_string(b.header.base_offset) + ":marker");
      continue;
    }
    EXPECT_TRUE(for_each_keyed_record(b, [&](const keyed_record_view& v) {
      out.push_back(std::to_string(v.offset) + ":" + std::string(v.key.value_or("~")) + "=" + std::string(v.value.value_or("~")));
    }).has_value());
  }
  return out;
}

using strings = std::vector<std::string>;

TEST(partition_compaction, the_last_record_of_each_key_stays_and_every_replica_serves_the_same) {
  compaction_test t;
  t.c.cut(2);
  const std::int64_t now = t.c.clock().wall_ms;
  for (int i = 0; i < 9; ++i) t.produce(keyed("k" + std::to_string(i % 3), "v" + std::to_string(i), now));
  ASSERT_TRUE(t.settle());
  for (const auto& p : t.probes) ASSERT_TRUE(p.result.has_value());
  ASSERT_TRUE(t.check());

  // The newest entry (offset 8) stays in the log; below it, each key's last record.
  const strings cleaned{"5:k2=v5", "6:k0=v6", "7:k1=v7", "8:k2=v8"};
  EXPECT_EQ(records_from(t.leader(), 0), cleaned);
  EXPECT_EQ(t.leader().log_start_offset(), 0) << "compaction does not move the log start";
  EXPECT_EQ(t.leader().index().head_start_offset(), 8);
  EXPECT_EQ(t.leader().high_watermark(), 9);
  EXPECT_EQ(records_from(t.leader(), 3), cleaned) << "an offset in a gap reads from the next record";
  EXPECT_EQ(records_from(t.leader(), 7), (strings{"7:k1=v7", "8:k2=v8"}));
  auto earliest = t.leader().list_offsets(-2);
  ASSERT_TRUE(earliest.has_value());
  EXPECT_EQ(earliest->offset, 0);

  // Node 3 missed it all and the entries it needs are compacted: the leader's snapshot brings the
  // prefix. It leads next and serves the same records.
  t.c.heal(2);
  ASSERT_TRUE(t.c.run_until([&] { return replica(t.c, 2).high_watermark() == 9; }));
  ASSERT_TRUE(t.c.elect(g, 2));
  EXPECT_EQ(records_from(replica(t.c, 2), 0), cleaned);

  // A restarted node reads its own prefix back from its snapshot.
  ASSERT_TRUE(t.c.restart(0));
  ASSERT_TRUE(t.c.elect(g, 0));
  EXPECT_EQ(records_from(t.leader(), 0), cleaned);

  // More writes, another pass: the prefix takes in what the log held.
  t.produce(keyed("k0", std::nullopt, t.c.clock().wall_ms));  // 9: deletes k0
  t.produce(keyed("k3", "v10", t.c.clock().wall_ms));         // 10
  ASSERT_TRUE(t.settle());
  ASSERT_TRUE(t.check());
  EXPECT_EQ(records_from(t.leader(), 0), (strings{"7:k1=v7", "8:k2=v8", "9:k0=~", "10:k3=v10"}));
}

TEST(partition_compaction, a_prefix_of_several_snapshot_chunks_reaches_a_lagging_replica) {
  compaction_test t;
  t.c.cut(2);
  const std::int64_t now = t.c.clock().wall_ms;
  // 40 distinct keys of 64 KiB: a prefix of about 2.5 MiB, sent in the Raft core's 1 MiB chunks.
  for (int i = 0; i < 40; ++i) t.produce(keyed("k" + std::to_string(i), std::string(64 << 10, static_cast<char>('a' + i % 26)), now));
  ASSERT_TRUE(t.settle());
  ASSERT_TRUE(t.check());
  ASSERT_GT(t.leader().index().cleaned().size_bytes(), 2u << 20);
  const auto want = records_from(t.leader(), 0, 8 << 20);
  ASSERT_EQ(want.size(), 40u);
  t.c.heal(2);
  ASSERT_TRUE(t.c.run_until([&] { return replica(t.c, 2).high_watermark() == 40; }));
  EXPECT_EQ(replica(t.c, 2).index().cleaned().bytes(), t.leader().index().cleaned().bytes());
  ASSERT_TRUE(t.c.elect(g, 2));
  EXPECT_EQ(records_from(replica(t.c, 2), 0, 8 << 20), want);
}

TEST(partition_compaction, aborted_records_never_hide_a_committed_value) {
  compaction_test t;
  const std::int64_t now = t.c.clock().wall_ms;
  t.produce(keyed("k1", "committed", now));      // 0
  t.produce(keyed("k1", "aborted", now, 70, 0));  // 1: producer 70's transaction
  ASSERT_TRUE(t.settle());
  t.abort(70);                                    // 2
  t.produce(keyed("k2", "x", now));               // 3
  t.produce(keyed("k2", "y", now));               // 4: the newest entry, not cleaned
  ASSERT_TRUE(t.settle());
  for (const auto& p : t.probes) ASSERT_TRUE(p.result.has_value());
  ASSERT_TRUE(t.check());
  EXPECT_EQ(records_from(t.leader(), 0), (strings{"0:k1=committed", "2:marker", "3:k2=x", "4:k2=y"}));
}

TEST(partition_compaction, a_record_without_a_key_is_refused) {
  compaction_test t;
  auto& p = t.produce(make_batch(1, t.c.clock().wall_ms, "no key"));
  ASSERT_TRUE(t.settle());
  ASSERT_FALSE(p.result.has_value());
  EXPECT_EQ(p.result.error().code, partition_errc::invalid_record);
  EXPECT_NE(p.result.error().message.find("no key"), std::string::npos) << p.result.error().message;
  EXPECT_EQ(t.leader().high_watermark(), 0);
}

TEST(partition_compaction, a_prefix_over_its_bound_leaves_the_log_whole) {
  partition_config small;
  small.max_cleaned_prefix_bytes = 100;  // less than two of these batches
  compaction_test t(small);
  const std::int64_t now = t.c.clock().wall_ms;
  for (int i = 0; i < 6; ++i) t.produce(keyed("k" + std::to_string(i), std::string(60, 'v'), now));
  ASSERT_TRUE(t.settle());
  ASSERT_TRUE(t.check());
  EXPECT_EQ(t.leader().index().head_start_offset(), 0);
  EXPECT_EQ(records_from(t.leader(), 0).size(), 6u) << "nothing cleaned, nothing lost";
}

TEST(partition_compaction, compact_and_delete_expires_the_prefix_and_the_entries_from_the_front) {
  constexpr std::int64_t day = 86'400'000;
  partition_cluster c;
  c.create("t", g.value, three,
           {{"cleanup.policy", "compact,delete"}, {"retention.ms", std::to_string(2 * day)},
            {"min.cleanable.dirty.ratio", "0"}, {"segment.ms", "1"}});
  ASSERT_TRUE(c.elect(g, 0));
  const std::int64_t t0 = c.clock().wall_ms;
  std::deque<produce_probe> probes;
  const auto produce = [&](const std::string& key, std::int64_t ts) {
    probes.emplace_back();
    replica(c, 0).produce(keyed(key, "v", ts), acks_mode::all, c.clock().steady + std::chrono::seconds(30),
                          probes.back().callback());
  };
  produce("k0", t0 - 3 * day);  // 0: past retention already
  produce("k1", t0 - day);      // 1
  produce("k2", t0);            // 2
  produce("k3", t0);            // 3: the newest entry
  ASSERT_TRUE(c.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
  const auto check = [&](std::chrono::milliseconds by) {
    c.clock().advance(by);
    return c.tick_all();
  };

  // Retention cuts entry 0 (the log start moves), then cleaning takes entries 1 and 2 into the prefix.
  ASSERT_TRUE(check(std::chrono::seconds(6)));
  EXPECT_EQ(replica(c, 0).log_start_offset(), 1);
  EXPECT_EQ(replica(c, 0).index().head_start_offset(), 3);
  EXPECT_EQ(replica(c, 0).fetch(0, 1 << 20).error(), partition_errc::offset_out_of_range);
  EXPECT_EQ(records_from(replica(c, 0), 1), (strings{"1:k1=v", "2:k2=v", "3:k3=v"}));

  // A day and a half later the prefix's first batch has expired, not its second: the start moves
  // inside the prefix.
  ASSERT_TRUE(check(std::chrono::hours(36)));
  EXPECT_EQ(replica(c, 0).log_start_offset(), 2);
  EXPECT_EQ(records_from(replica(c, 0), 2), (strings{"2:k2=v", "3:k3=v"}));
  // That move is recorded by the next snapshot: a restart before one finds the older start, and the
  // next retention check moves it again.
  ASSERT_TRUE(c.restart(0));
  ASSERT_TRUE(c.elect(g, 0));
  EXPECT_EQ(replica(c, 0).log_start_offset(), 1);
  ASSERT_TRUE(check(std::chrono::seconds(6)));
  EXPECT_EQ(replica(c, 0).log_start_offset(), 2);

  // Two days on, the whole prefix has expired; the newest entry always stays.
  ASSERT_TRUE(check(std::chrono::hours(48)));
  EXPECT_EQ(replica(c, 0).log_start_offset(), 3);
  EXPECT_EQ(records_from(replica(c, 0), 3), (strings{"3:k3=v"}));
}

TEST(partition_compaction, nothing_is_cleaned_before_the_dirty_ratio_or_a_rolled_stretch) {
  partition_cluster c;
  c.create("t", g.value, three, {{"cleanup.policy", "compact"}});  // segment.ms 7 days, ratio 0.5
  ASSERT_TRUE(c.elect(g, 0));
  std::deque<produce_probe> probes;
  for (int i = 0; i < 4; ++i) {
    probes.emplace_back();
    replica(c, 0).produce(keyed("k", "v" + std::to_string(i), c.clock().wall_ms), acks_mode::all,
                          c.clock().steady + std::chrono::seconds(30), probes.back().callback());
  }
  ASSERT_TRUE(c.run_until([&] { return std::ranges::all_of(probes, &produce_probe::answered); }));
  c.clock().advance(std::chrono::seconds(6));
  ASSERT_TRUE(c.tick_all());
  EXPECT_EQ(replica(c, 0).index().head_start_offset(), 0) << "the stretch has not rolled (segment.ms)";
  EXPECT_EQ(records_from(replica(c, 0), 0).size(), 4u);
}

}  // namespace
}  // namespace chronik::kafka
