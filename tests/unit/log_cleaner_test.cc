// Log compaction's record rules (kafka/partition/log_cleaner.h): the last record of each key stays
// at its offset, batches are kept byte for byte or rewritten with their offsets, tombstones and
// markers outlive their batch by delete.retention.ms, aborted data goes without shadowing
// committed values, and damage fails the clean.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "kafka/partition/log_cleaner.h"
#include "kafka/protocol/keyed_records.h"
#include "kafka/protocol/record_batch.h"
#include "kafka/protocol/txn_marker.h"
#include "tests/unit/compression_test_util.h"
#include "tests/unit/record_test_util.h"

namespace chronik::kafka {
namespace {

using testing::put_varlong;

constexpr std::int64_t t0 = 1'700'000'000'000;  // every batch's base timestamp, ms
constexpr std::int64_t day = 86'400'000;

struct rec {
  std::optional<std::string> key;
  std::optional<std::string> value;
};

// One record with a key (or none) and a value (or a tombstone), timestamp delta = offset delta.
std::string encode(const rec& r, std::int32_t delta) {
  std::string body;
  body.push_back(0);
  put_varlong(body, delta);
  put_varlong(body, delta);
  put_varlong(body, r.key ? static_cast<std::int64_t>(r.key->size()) : -1);
  if (r.key) body += *r.key;
  put_varlong(body, r.value ? static_cast<std::int64_t>(r.value->size()) : -1);
  if (r.value) body += *r.value;
  put_varlong(body, 0);
  std::string out;
  put_varlong(out, static_cast<std::int64_t>(body.size()));
  return out + body;
}

struct batch_opts {
  compression_type codec = compression_type::none;
  std::int64_t producer_id = -1;  // >= 0: a transactional batch of this producer
  bool log_append_time = false;
  std::int64_t base_timestamp = t0;
};

std::string batch_at(std::int64_t base, const std::vector<rec>& records, batch_opts o = {}) {
  std::string payload;
  for (std::size_t i = 0; i < records.size(); ++i) payload += encode(records[i], static_cast<std::int32_t>(i));
  if (o.codec == compression_type::gzip) payload = testing::gzip(payload);
  record_batch_header h;
  h.base_offset = base;
  h.partition_leader_epoch = 3;
  h.attributes = static_cast<std::int16_t>(static_cast<int>(o.codec) | (o.log_append_time ? 0x8 : 0) |
                                           (o.producer_id >= 0 ? 0x10 : 0));
  h.last_offset_delta = static_cast<std::int32_t>(records.size()) - 1;
  h.base_timestamp = o.base_timestamp;
  h.max_timestamp = o.base_timestamp + h.last_offset_delta;
  h.producer_id = o.producer_id;
  h.producer_epoch = o.producer_id >= 0 ? 0 : -1;
  h.base_sequence = o.producer_id >= 0 ? 0 : -1;
  h.records_count = static_cast<std::int32_t>(records.size());
  return build_record_batch(h, payload);
}

std::string marker_at(std::int64_t base, std::int64_t producer_id, bool commit, std::int64_t ts = t0) {
  std::string b = build_txn_marker_batch(producer_id, 0, txn_marker{commit, 1}, ts);
  set_base_offset(b, 0, base);
  return b;
}

cleaned_log clean(const std::vector<std::string>& pieces, std::vector<aborted_txn> aborted = {},
                  std::int64_t now = t0 + 1000, std::int64_t delete_retention = day) {
  std::vector<std::string_view> views(pieces.begin(), pieces.end());
  auto r = clean_log(views, aborted, cleaner_rules{now, delete_retention});
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().text);
  return r ? *r : cleaned_log{};
}

// offset -> "key=value" ("key=~" for a tombstone, "~=value" without a key) of every record kept.
std::vector<std::string> records_of(const std::string& batches) {
  std::vector<std::string> out;
  auto split = split_record_batches(batches);
  EXPECT_TRUE(split.has_value()) << (split ? "" : split.error().text);
  if (!split) return out;
  for (const auto& b : *split) {
    if (b.header.is_control()) {
      out.push_back(std::to_string(b.header.base_offset) + ":marker");
      continue;
    }
    auto r = for_each_keyed_record(b, [&](const keyed_record_view& v) {
      out.push_back(std::to_string(v.offset) + ":" + std::string(v.key.value_or("~")) + "=" +
                    std::string(v.value.value_or("~")));
    });
    EXPECT_TRUE(r.has_value());
  }
  return out;
}

using strings = std::vector<std::string>;

TEST(log_cleaner, the_last_record_of_each_key_stays_at_its_offset) {
  const std::string b0 = batch_at(0, {{"k1", "a"}, {"k2", "b"}});
  const std::string b2 = batch_at(2, {{"k1", "c"}});
  const std::string b3 = batch_at(3, {{"k3", "d"}, {"k2", "e"}});
  const cleaned_log c = clean({b0 + b2, b3});
  EXPECT_EQ(records_of(c.batches), (strings{"2:k1=c", "3:k3=d", "4:k2=e"}));
  EXPECT_EQ(c.batches, b2 + b3);  // wholly kept batches are the very bytes, CRC and all
  EXPECT_EQ(parse_record_batch_header(c.batches)->base_offset, 2);
  EXPECT_EQ(c.records_in, 5);
  EXPECT_EQ(c.records_kept, 3);
  EXPECT_EQ(c.batches_rewritten, 0);
}

TEST(log_cleaner, a_batch_that_loses_some_records_is_rewritten_with_its_offsets) {
  const std::string b10 = batch_at(10, {{"k1", "a"}, {"k2", "b"}, {"k3", "c"}});
  const std::string b13 = batch_at(13, {{"k2", "x"}});
  const cleaned_log c = clean({b10 + b13});
  EXPECT_EQ(records_of(c.batches), (strings{"10:k1=a", "12:k3=c", "13:k2=x"}));
  EXPECT_EQ(c.batches_rewritten, 1);
  auto split = split_record_batches(c.batches);  // verifies every CRC
  ASSERT_TRUE(split.has_value());
  ASSERT_EQ(split->size(), 2u);
  const record_batch_header& h = (*split)[0].header;
  const record_batch_header was = *parse_record_batch_header(b10);
  EXPECT_EQ(h.base_offset, 10);
  EXPECT_EQ(h.last_offset(), 12);  // the batch still spans the offsets it was given
  EXPECT_EQ(h.records_count, 2);
  EXPECT_EQ(h.partition_leader_epoch, was.partition_leader_epoch);
  EXPECT_EQ(h.base_timestamp, was.base_timestamp);
  EXPECT_EQ(h.max_timestamp, t0 + 2);  // the kept records' latest
  EXPECT_EQ((*split)[1].bytes, b13);
}

TEST(log_cleaner, a_compressed_batch_that_loses_records_is_written_again_uncompressed) {
  const std::string b0 = batch_at(0, {{"k1", "a"}, {"k2", "b"}, {"k1", "c"}}, {.codec = compression_type::gzip});
  const cleaned_log c = clean({b0});
  EXPECT_EQ(records_of(c.batches), (strings{"1:k2=b", "2:k1=c"}));
  auto h = parse_record_batch_header(c.batches);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->compression(), compression_type::none);

  // Wholly kept, it stays compressed: the bytes are not touched.
  const std::string kept = batch_at(5, {{"a", "1"}, {"b", "2"}}, {.codec = compression_type::gzip});
  EXPECT_EQ(clean({kept}).batches, kept);
}

TEST(log_cleaner, a_log_append_time_batch_keeps_its_header_time) {
  const std::string b0 = batch_at(0, {{"k1", "a"}, {"k1", "b"}, {"k2", "c"}}, {.log_append_time = true});
  const cleaned_log c = clean({b0});
  auto h = parse_record_batch_header(c.batches);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->max_timestamp, t0 + 2);  // the batch's append time, not the kept records' own
  EXPECT_EQ(h->timestamp(), timestamp_type::log_append_time);
  EXPECT_EQ(records_of(c.batches), (strings{"1:k1=b", "2:k2=c"}));
}

TEST(log_cleaner, a_last_tombstone_stays_for_delete_retention_then_goes) {
  const std::string b0 = batch_at(0, {{"k1", "a"}, {"k2", "b"}});
  const std::string b2 = batch_at(2, {{"k1", std::nullopt}});
  // Young: the deletion stays, the value it deleted goes.
  EXPECT_EQ(records_of(clean({b0, b2}, {}, t0 + 1000).batches), (strings{"1:k2=b", "2:k1=~"}));
  // Older than delete.retention.ms: the key is gone altogether.
  EXPECT_EQ(records_of(clean({b0, b2}, {}, t0 + day + 10).batches), (strings{"1:k2=b"}));
  // A tombstone a later value superseded goes at once, young or not.
  const std::string b3 = batch_at(3, {{"k1", "again"}});
  EXPECT_EQ(records_of(clean({b0, b2, b3}, {}, t0 + 1000).batches), (strings{"1:k2=b", "3:k1=again"}));
}

TEST(log_cleaner, records_without_a_key_go) {
  const std::string b0 = batch_at(0, {{std::nullopt, "x"}, {"k1", "a"}, {std::nullopt, "y"}});
  EXPECT_EQ(records_of(clean({b0}).batches), (strings{"1:k1=a"}));
}

TEST(log_cleaner, aborted_records_go_and_never_hide_a_committed_value) {
  const std::string committed = batch_at(0, {{"k1", "v1"}});
  const std::string aborted_data = batch_at(1, {{"k1", "never"}, {"k2", "never"}}, {.producer_id = 7});
  const std::string abort = marker_at(3, 7, false);
  const std::vector<aborted_txn> aborted{{7, 1, 3}};
  EXPECT_EQ(records_of(clean({committed + aborted_data + abort}, aborted).batches), (strings{"0:k1=v1", "3:marker"}));
  // Once the marker is older than delete.retention.ms it goes too.
  EXPECT_EQ(records_of(clean({committed + aborted_data + abort}, aborted, t0 + day + 10).batches),
            (strings{"0:k1=v1"}));
}

TEST(log_cleaner, committed_transactional_records_are_cleaned_like_any_other) {
  const std::string plain = batch_at(0, {{"k1", "v1"}, {"k2", "v2"}});
  const std::string txn = batch_at(2, {{"k1", "t1"}}, {.producer_id = 9});
  const std::string commit = marker_at(3, 9, true);
  // Another producer's aborted transaction elsewhere does not touch producer 9's records.
  const std::vector<aborted_txn> aborted{{8, 0, 10}};
  EXPECT_EQ(records_of(clean({plain + txn + commit}, aborted).batches), (strings{"1:k2=v2", "2:k1=t1", "3:marker"}));
}

TEST(log_cleaner, cleaning_the_result_again_changes_nothing) {
  const std::string log = batch_at(0, {{"a", "1"}, {"b", "2"}, {"c", "3"}}, {.codec = compression_type::gzip}) +
                          batch_at(3, {{"b", std::nullopt}, {"d", "4"}}) + batch_at(5, {{"a", "5"}});
  const cleaned_log once = clean({log});
  const cleaned_log twice = clean({once.batches});
  EXPECT_EQ(twice.batches, once.batches);
  EXPECT_EQ(twice.records_kept, once.records_kept);
  EXPECT_EQ(records_of(once.batches), (strings{"2:c=3", "3:b=~", "4:d=4", "5:a=5"}));
}

TEST(log_cleaner, nothing_kept_leaves_no_batches) {
  const cleaned_log c = clean({batch_at(0, {{std::nullopt, "x"}})});
  EXPECT_TRUE(c.batches.empty());
  EXPECT_EQ(c.records_in, 1);
  EXPECT_EQ(c.records_kept, 0);
}

TEST(log_cleaner, damage_or_batches_out_of_order_fail_the_clean) {
  std::string damaged = batch_at(4, {{"k1", "a"}, {"k2", "b"}});
  damaged[record_batch_header_size] = 0x7f;  // the first record's length now runs past the batch
  const std::vector<std::string_view> one{damaged};
  auto r = clean_log(one, {}, cleaner_rules{t0, day});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().text.find("offset 4"), std::string::npos) << r.error().text;

  const std::string a = batch_at(0, {{"k1", "a"}, {"k2", "b"}});
  const std::string overlapping = batch_at(1, {{"k3", "c"}});
  const std::vector<std::string_view> both{a, overlapping};
  auto o = clean_log(both, {}, cleaner_rules{t0, day});
  ASSERT_FALSE(o.has_value());
  EXPECT_NE(o.error().text.find("overlaps"), std::string::npos) << o.error().text;
}

}  // namespace
}  // namespace chronik::kafka
