// The `__transaction_state` record codec (kafka/txn/txn_records.h): keys and both value versions
// decode from bytes laid out by hand per Kafka's TransactionLogKey/TransactionLogValue; what chronik
// writes is exactly version 0's bytes; every truncation, leftover byte, unknown version and unknown
// status is refused; tombstones and every state round-trip; batches built for the log read back
// with their offsets, compressed or not.
#include "kafka/txn/txn_records.h"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "kafka/protocol/record_batch.h"
#include "tests/unit/compression_test_util.h"

namespace chronik::kafka {
namespace {

// Big-endian bytes written out by hand, independent of the codec's writer.
struct be {
  std::string out;
  be& i8(std::int8_t v) { return raw(static_cast<std::uint64_t>(v), 1); }
  be& i16(std::int16_t v) { return raw(static_cast<std::uint64_t>(v), 2); }
  be& i32(std::int32_t v) { return raw(static_cast<std::uint64_t>(v), 4); }
  be& i64(std::int64_t v) { return raw(static_cast<std::uint64_t>(v), 8); }
  be& str(const std::string& s) { return i16(static_cast<std::int16_t>(s.size())).bytes_of(s); }
  // KIP-482 compact forms (these tests stay under 127 bytes per length).
  be& uvar(std::uint8_t v) { return i8(static_cast<std::int8_t>(v)); }
  be& cstr(const std::string& s) { return uvar(static_cast<std::uint8_t>(s.size() + 1)).bytes_of(s); }
  be& bytes_of(const std::string& s) {
    out += s;
    return *this;
  }

 private:
  be& raw(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
};

txn_record_value ongoing_value() {
  txn_record_value v;
  v.producer_id = 4000;
  v.producer_epoch = 3;
  v.timeout_ms = 60'000;
  v.status = txn_status::ongoing;
  v.partitions = std::vector<txn_topic_partitions>{{"orders", {0, 7}}, {"__consumer_offsets", {12}}};
  v.last_update_ms = 1'700'000'000'123;
  v.start_ms = 1'700'000'000'000;
  return v;
}

// Version 0 of ongoing_value(), laid out field by field.
std::string ongoing_v0_bytes() {
  return be{}
      .i16(0)
      .i64(4000)
      .i16(3)
      .i32(60'000)
      .i8(1)
      .i32(2)
      .str("orders")
      .i32(2)
      .i32(0)
      .i32(7)
      .str("__consumer_offsets")
      .i32(1)
      .i32(12)
      .i64(1'700'000'000'123)
      .i64(1'700'000'000'000)
      .out;
}

std::string key_bytes(const std::string& id) { return be{}.i16(0).str(id).out; }

TEST(txn_records, key_is_version_zero_and_the_id) {
  const txn_log_record r{"my-txn", std::nullopt};
  EXPECT_EQ(encode_txn_key(r), key_bytes("my-txn"));
  auto d = decode_txn_record(key_bytes("my-txn"), std::nullopt);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(*d, r);  // a null value is a tombstone
  EXPECT_FALSE(encode_txn_value(r).has_value());
}

TEST(txn_records, writes_version_zero_byte_for_byte) {
  const txn_log_record r{"t", ongoing_value()};
  EXPECT_EQ(encode_txn_value(r), ongoing_v0_bytes());
}

TEST(txn_records, reads_hand_laid_version_zero) {
  auto d = decode_txn_record(key_bytes("t"), ongoing_v0_bytes());
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->transactional_id, "t");
  EXPECT_EQ(d->value, ongoing_value());
}

TEST(txn_records, null_partitions_is_what_empty_stores) {
  txn_record_value v;
  v.producer_id = 9;
  v.producer_epoch = 0;
  v.timeout_ms = 900'000;
  v.status = txn_status::empty;
  v.last_update_ms = 5;
  v.start_ms = -1;
  const std::string bytes = be{}.i16(0).i64(9).i16(0).i32(900'000).i8(0).i32(-1).i64(5).i64(-1).out;
  EXPECT_EQ(encode_txn_value(txn_log_record{"x", v}), bytes);
  auto d = decode_txn_record(key_bytes("x"), bytes);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_FALSE(d->value->partitions.has_value());
  // An empty (not null) array stays empty.
  v.partitions.emplace();
  auto e = decode_txn_record(key_bytes("x"), *encode_txn_value(txn_log_record{"x", v}));
  ASSERT_TRUE(e.has_value());
  ASSERT_TRUE(e->value->partitions.has_value());
  EXPECT_TRUE(e->value->partitions->empty());
}

// Version 1: flexible, with KIP-890's tags; an unknown tag is skipped.
std::string ongoing_v1_bytes(bool with_tags) {
  be b;
  b.i16(1).i64(4000).i16(3).i32(60'000).i8(1);
  b.uvar(3);  // two topics, compact
  b.cstr("orders").uvar(3).i32(0).i32(7).uvar(0);
  b.cstr("__consumer_offsets").uvar(2).i32(12).uvar(0);
  b.i64(1'700'000'000'123).i64(1'700'000'000'000);
  if (!with_tags) return b.uvar(0).out;
  b.uvar(4);
  b.uvar(0).uvar(8).i64(3999);  // PreviousProducerId
  b.uvar(1).uvar(8).i64(4001);  // NextProducerId
  b.uvar(2).uvar(2).i16(2);     // ClientTransactionVersion
  b.uvar(9).uvar(3).i8(1).i8(2).i8(3);  // a tag from the future
  return b.out;
}

TEST(txn_records, reads_version_one_with_and_without_tags) {
  auto plain = decode_txn_record(key_bytes("t"), ongoing_v1_bytes(false));
  ASSERT_TRUE(plain.has_value()) << plain.error().message;
  EXPECT_EQ(plain->value, ongoing_value());
  auto tagged = decode_txn_record(key_bytes("t"), ongoing_v1_bytes(true));
  ASSERT_TRUE(tagged.has_value()) << tagged.error().message;
  txn_record_value want = ongoing_value();
  want.previous_producer_id = 3999;
  want.next_producer_id = 4001;
  want.client_transaction_version = 2;
  EXPECT_EQ(tagged->value, want);
}

TEST(txn_records, version_one_null_partitions) {
  const std::string bytes = be{}.i16(1).i64(9).i16(0).i32(1000).i8(4).uvar(0).i64(5).i64(4).uvar(0).out;
  auto d = decode_txn_record(key_bytes("x"), bytes);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->value->status, txn_status::complete_commit);
  EXPECT_FALSE(d->value->partitions.has_value());
}

TEST(txn_records, a_known_tag_of_the_wrong_size_is_refused) {
  const std::string bytes =
      be{}.i16(1).i64(9).i16(0).i32(1000).i8(0).uvar(0).i64(5).i64(4).uvar(1).uvar(0).uvar(9).i64(1).i8(0).out;
  auto d = decode_txn_record(key_bytes("x"), bytes);
  ASSERT_FALSE(d.has_value());
  EXPECT_NE(d.error().message.find("tagged"), std::string::npos) << d.error().message;
}

TEST(txn_records, every_truncation_is_refused) {
  for (const std::string& value : {ongoing_v0_bytes(), ongoing_v1_bytes(true), ongoing_v1_bytes(false)}) {
    for (std::size_t n = 0; n < value.size(); ++n) {
      auto d = decode_txn_record(key_bytes("t"), std::string_view(value).substr(0, n));
      EXPECT_FALSE(d.has_value()) << "value cut at " << n << " of " << value.size();
    }
  }
  const std::string key = key_bytes("transactional");
  for (std::size_t n = 0; n < key.size(); ++n) {
    EXPECT_FALSE(decode_txn_record(std::string_view(key).substr(0, n), std::nullopt).has_value()) << n;
  }
}

TEST(txn_records, leftover_bytes_are_refused) {
  auto v = decode_txn_record(key_bytes("t"), ongoing_v0_bytes() + "x");
  ASSERT_FALSE(v.has_value());
  EXPECT_NE(v.error().message.find("1 bytes after the last field"), std::string::npos) << v.error().message;
  EXPECT_FALSE(decode_txn_record(key_bytes("t") + "x", std::nullopt).has_value());
}

TEST(txn_records, unknown_versions_are_refused_by_name) {
  auto k = decode_txn_record(be{}.i16(1).str("t").out, std::nullopt);
  ASSERT_FALSE(k.has_value());
  EXPECT_EQ(k.error().message, "transaction log key: version 1 is not known");
  std::string v2 = ongoing_v0_bytes();
  v2[1] = 2;
  auto v = decode_txn_record(key_bytes("t"), v2);
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().message, "transaction log value: version 2 is not known");
  std::string neg = ongoing_v0_bytes();
  neg[0] = static_cast<char>(0xff);
  EXPECT_FALSE(decode_txn_record(key_bytes("t"), neg).has_value());
}

TEST(txn_records, unknown_status_is_refused) {
  for (const std::int8_t status : {std::int8_t{8}, std::int8_t{-1}, std::int8_t{127}}) {
    const std::string bytes = be{}.i16(0).i64(9).i16(0).i32(1000).i8(status).i32(-1).i64(5).i64(4).out;
    auto d = decode_txn_record(key_bytes("x"), bytes);
    ASSERT_FALSE(d.has_value());
    EXPECT_NE(d.error().message.find("transaction_status " + std::to_string(status) + " is not known"),
              std::string::npos)
        << d.error().message;
  }
}

TEST(txn_records, truncation_error_names_the_field) {
  const std::string v = ongoing_v0_bytes();
  auto d = decode_txn_record(key_bytes("t"), std::string_view(v).substr(0, 2 + 8 + 1));
  ASSERT_FALSE(d.has_value());
  EXPECT_NE(d.error().message.find("producer_epoch"), std::string::npos) << d.error().message;
}

TEST(txn_records, every_state_round_trips_and_has_kafkas_name) {
  const std::vector<std::pair<txn_status, std::string>> names = {
      {txn_status::empty, "Empty"},
      {txn_status::ongoing, "Ongoing"},
      {txn_status::prepare_commit, "PrepareCommit"},
      {txn_status::prepare_abort, "PrepareAbort"},
      {txn_status::complete_commit, "CompleteCommit"},
      {txn_status::complete_abort, "CompleteAbort"},
      {txn_status::dead, "Dead"},
      {txn_status::prepare_epoch_fence, "PrepareEpochFence"}};
  for (const auto& [s, name] : names) {
    EXPECT_EQ(to_string(s), name);
    EXPECT_EQ(txn_status_from_string(name), s);
    txn_record_value v = ongoing_value();
    v.status = s;
    const txn_log_record r{"id-" + name, v};
    auto d = decode_txn_record(encode_txn_key(r), *encode_txn_value(r));
    ASSERT_TRUE(d.has_value()) << d.error().message;
    EXPECT_EQ(*d, r);
  }
  EXPECT_FALSE(txn_status_from_string("ongoing").has_value());
}

TEST(txn_records, extreme_values_round_trip) {
  txn_record_value v;
  v.producer_id = INT64_MAX;
  v.producer_epoch = INT16_MAX;
  v.timeout_ms = INT32_MIN;
  v.status = txn_status::prepare_abort;
  v.partitions = std::vector<txn_topic_partitions>{{"", {}}, {std::string(300, 't'), {INT32_MAX, -1}}};
  v.last_update_ms = INT64_MIN;
  v.start_ms = 0;
  const txn_log_record r{std::string(1000, 'i'), v};
  auto d = decode_txn_record(encode_txn_key(r), *encode_txn_value(r));
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(*d, r);
}

std::vector<txn_log_record> three_records() {
  txn_record_value empty;
  empty.producer_id = 1;
  empty.producer_epoch = 0;
  empty.timeout_ms = 1000;
  empty.last_update_ms = 2;
  return {{"a", empty}, {"b", ongoing_value()}, {"c", std::nullopt}};
}

// The records section of a one-batch blob, re-wrapped with `attributes` (compression, control) and
// a CRC computed afresh.
std::string rewrap(const std::string& batch, std::int16_t attributes, const std::string& section) {
  auto views = split_record_batches(batch, crc_check::skip);
  EXPECT_TRUE(views.has_value());
  record_batch_header h = views->front().header;
  h.attributes = attributes;
  return build_record_batch(h, section);
}

TEST(txn_records, a_built_batch_reads_back_with_offsets) {
  const auto records = three_records();
  std::string blob = build_txn_batch(records, 1'700'000'000'999);
  auto views = split_record_batches(blob, crc_check::verify);
  ASSERT_TRUE(views.has_value());
  const record_batch_header& h = views->front().header;
  EXPECT_EQ(h.records_count, 3);
  EXPECT_EQ(h.producer_id, -1);
  EXPECT_FALSE(h.is_transactional());
  EXPECT_EQ(h.base_timestamp, 1'700'000'000'999);
  set_base_offset(blob, 0, 40);
  std::string second = build_txn_batch(std::span(records).first(1), 5);
  set_base_offset(second, 0, 43);
  const std::string fetched = blob + second + second.substr(0, 20);  // a partial batch at the end
  auto read = read_txn_records(fetched);
  ASSERT_TRUE(read.has_value()) << read.error().text;
  ASSERT_EQ(read->size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*read)[i].offset, static_cast<std::int64_t>(40 + i));
    ASSERT_TRUE((*read)[i].record.has_value());
    EXPECT_EQ(*(*read)[i].record, records[i % 3]);
  }
}

TEST(txn_records, compressed_batches_are_read_and_control_batches_skipped) {
  const auto records = three_records();
  const std::string plain = build_txn_batch(records, 9);
  const std::string section = plain.substr(record_batch_header_size);
  auto gz = read_txn_records(rewrap(plain, static_cast<std::int16_t>(compression_type::gzip), testing::gzip(section)));
  ASSERT_TRUE(gz.has_value()) << gz.error().text;
  ASSERT_EQ(gz->size(), 3u);
  EXPECT_EQ(*(*gz)[1].record, records[1]);
  auto control = read_txn_records(rewrap(plain, 0x30, section) + plain);
  ASSERT_TRUE(control.has_value());
  EXPECT_EQ(control->size(), 3u) << "only the data batch's records";
}

TEST(txn_records, a_bad_record_is_reported_and_batch_damage_fails_the_read) {
  // A record whose value does not decode sits next to good ones.
  std::string blob = build_txn_batch(three_records(), 1);
  const std::string good_value = *encode_txn_value(txn_log_record{"b", ongoing_value()});
  const auto at = blob.find(good_value);
  ASSERT_NE(at, std::string::npos);
  blob[at + 1] = 9;  // value version 9
  const std::string fixed = rewrap(blob, 0, blob.substr(record_batch_header_size));
  auto read = read_txn_records(fixed);
  ASSERT_TRUE(read.has_value()) << read.error().text;
  ASSERT_EQ(read->size(), 3u);
  EXPECT_TRUE((*read)[0].record.has_value());
  ASSERT_FALSE((*read)[1].record.has_value());
  EXPECT_EQ((*read)[1].record.error().message, "transaction log value: version 9 is not known");
  EXPECT_TRUE((*read)[2].record.has_value());
  // A flipped byte breaks the CRC: the whole read fails.
  std::string damaged = build_txn_batch(three_records(), 1);
  damaged[damaged.size() - 3] ^= 0x40;
  EXPECT_FALSE(read_txn_records(damaged).has_value());
}

}  // namespace
}  // namespace chronik::kafka
