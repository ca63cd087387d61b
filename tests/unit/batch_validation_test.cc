// Produce validation (kafka/protocol/batch_validation.h): every way a produced batch can lie is
// refused with the fault Kafka's broker would answer, a refused blob is left exactly as it came,
// and the timestamp rewrites keep the batch's CRC valid.
#include "kafka/protocol/batch_validation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/compression_test_util.h"
#include "tests/unit/record_test_util.h"

namespace chronik::kafka {
namespace {

using testing::record;
using testing::three_records;

constexpr std::int64_t base_ts = 1'700'000'000'000;

record_batch_header header_for(std::int32_t count, compression_type codec = compression_type::none) {
  record_batch_header h;
  h.attributes = static_cast<std::int16_t>(codec);
  h.records_count = count;
  h.last_offset_delta = count - 1;
  h.base_timestamp = base_ts;
  h.max_timestamp = base_ts + 9;  // three_records' largest delta
  return h;
}

std::string good_batch() { return build_record_batch(header_for(3), three_records()); }

batch_rules rules_at(std::int64_t now_ms = base_ts) {
  batch_rules r;
  r.now_ms = now_ms;
  return r;
}

// Validates a copy and checks that a refusal leaves it untouched.
std::expected<accepted_records, batch_rejection> check(const std::string& blob, const batch_rules& rules = rules_at()) {
  std::string copy = blob;
  auto r = validate_produced_records(copy, rules);
  if (!r) {
    EXPECT_EQ(copy, blob) << "a refused blob was modified";
  }
  return r;
}

batch_fault fault_of(const std::string& blob, const batch_rules& rules = rules_at()) {
  auto r = check(blob, rules);
  EXPECT_FALSE(r.has_value()) << "accepted";
  return r ? batch_fault::corrupt : r.error().fault;
}

TEST(batch_validation, a_well_formed_batch_is_accepted_as_it_came) {
  std::string blob = good_batch();
  const std::string before = blob;
  auto r = validate_produced_records(blob, rules_at());
  ASSERT_TRUE(r.has_value()) << r.error().text;
  EXPECT_EQ(blob, before);
  ASSERT_EQ(r->batches.size(), 1u);
  EXPECT_EQ(r->batches[0].records, 3);
  EXPECT_EQ(r->batches[0].size, blob.size());
  EXPECT_EQ(r->records, 3);
}

TEST(batch_validation, several_batches_count_their_records) {
  const std::string blob = good_batch() + build_record_batch(header_for(1), record(0, 0, "x")) + good_batch();
  auto r = check(blob);
  ASSERT_TRUE(r.has_value()) << r.error().text;
  ASSERT_EQ(r->batches.size(), 3u);
  EXPECT_EQ(r->records, 7);
  EXPECT_EQ(r->batches[2].offset, r->batches[1].offset + r->batches[1].size);
}

// The remote crash of issue 13: a header claiming 2^31-1 records around one real record, with a
// valid CRC, was stored and acknowledged.
TEST(batch_validation, a_record_count_that_lies_is_refused) {
  record_batch_header h = header_for(0x7fffffff);
  const std::string blob = build_record_batch(h, record(0, 0, "one"));
  auto r = check(blob);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().fault, batch_fault::invalid_record);

  h = header_for(3);
  h.last_offset_delta = 0x7ffffffe;  // moved the end offset by 2^31
  EXPECT_EQ(fault_of(build_record_batch(h, three_records())), batch_fault::invalid_record);
  h = header_for(2);  // three records inside, two claimed: bytes left over
  h.max_timestamp = base_ts + 5;
  EXPECT_EQ(fault_of(build_record_batch(h, three_records())), batch_fault::invalid_record);
  h = header_for(0);
  h.last_offset_delta = 0;
  EXPECT_EQ(fault_of(build_record_batch(h, "")), batch_fault::invalid_record);
}

TEST(batch_validation, offset_deltas_must_count_from_zero) {
  const std::string records = record(0, 0, "a") + record(1, 2, "b") + record(2, 1, "c");
  auto r = check(build_record_batch(header_for(3), records));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().fault, batch_fault::invalid_record);
  EXPECT_EQ(r.error().record, 1);
}

TEST(batch_validation, damaged_records_are_refused_wherever_the_damage_is) {
  const std::string plain = three_records();
  // Cut at every byte: a record whose length, key, value or header count runs past the section.
  for (std::size_t cut = 0; cut < plain.size(); ++cut) {
    EXPECT_EQ(fault_of(build_record_batch(header_for(3), plain.substr(0, cut))), batch_fault::invalid_record) << cut;
  }
  // A record whose length claims more than its fields: the key length points past the record.
  std::string lying_key = record(0, 0, "abc");
  lying_key[4] = 0x7e;  // keyLength varint (zigzag 63) where -1 stood
  EXPECT_EQ(fault_of(build_record_batch(header_for(1), lying_key)), batch_fault::invalid_record);
  // A negative header count.
  std::string bad_headers = record(0, 0, "abc");
  bad_headers.back() = 0x01;  // zigzag -1
  EXPECT_EQ(fault_of(build_record_batch(header_for(1), bad_headers)), batch_fault::invalid_record);
  // An overlong varint as the record length.
  EXPECT_EQ(fault_of(build_record_batch(header_for(1), std::string(12, '\xff'))), batch_fault::invalid_record);
}

TEST(batch_validation, compressed_batches_are_checked_inside) {
  const std::string plain = three_records();
  for (auto [codec, payload] : std::vector<std::pair<compression_type, std::string>>{
           {compression_type::gzip, testing::gzip(plain)},
           {compression_type::snappy, testing::snappy_raw(plain)},
           {compression_type::snappy, testing::snappy_xerial(plain)},
           {compression_type::lz4, testing::lz4(plain)},
           {compression_type::zstd, testing::zstd(plain)}}) {
    const int id = static_cast<int>(codec);
    auto ok = check(build_record_batch(header_for(3, codec), payload));
    EXPECT_TRUE(ok.has_value()) << id << ": " << (ok ? "" : ok.error().text);
    // The same payload under a header that lies about the count.
    EXPECT_EQ(fault_of(build_record_batch(header_for(4, codec), payload)), batch_fault::invalid_record) << id;
    // Garbage where the compressed payload should be.
    std::string garbage = payload;
    for (std::size_t i = garbage.size() / 3; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 37);
    EXPECT_EQ(fault_of(build_record_batch(header_for(3, codec), garbage)), batch_fault::corrupt) << id;
  }
}

TEST(batch_validation, unknown_codecs_and_bombs_are_refused) {
  for (std::uint8_t id = 5; id <= 7; ++id) {
    EXPECT_EQ(fault_of(build_record_batch(header_for(3, static_cast<compression_type>(id)), three_records())),
              batch_fault::corrupt);
  }
  // 8 MiB of one record's value compresses to a few KiB; the bound here is 1 MiB.
  const std::string bomb = testing::zstd(record(0, 0, std::string(8 << 20, 'z')));
  batch_rules rules = rules_at();
  rules.max_inflated_bytes = 1 << 20;
  auto h = header_for(1, compression_type::zstd);
  h.max_timestamp = base_ts;
  EXPECT_EQ(fault_of(build_record_batch(h, bomb), rules), batch_fault::invalid_record);
  rules.max_inflated_bytes = 16 << 20;
  EXPECT_TRUE(check(build_record_batch(h, bomb), rules).has_value());
}

TEST(batch_validation, the_frame_is_checked_first) {
  std::string crc = good_batch();
  crc.back() ^= 0x20;
  EXPECT_EQ(fault_of(crc), batch_fault::corrupt);
  std::string magic1 = good_batch();
  magic1[16] = 1;
  EXPECT_EQ(fault_of(magic1), batch_fault::unsupported_magic);
  std::string magic3 = good_batch();
  magic3[16] = 3;
  EXPECT_EQ(fault_of(magic3), batch_fault::corrupt);
  EXPECT_EQ(fault_of(good_batch().substr(0, 70)), batch_fault::corrupt);
  EXPECT_EQ(fault_of(good_batch() + "tail"), batch_fault::corrupt);
  EXPECT_EQ(fault_of(""), batch_fault::corrupt);
  batch_rules small = rules_at();
  small.max_batch_bytes = good_batch().size() - 1;
  EXPECT_EQ(fault_of(good_batch(), small), batch_fault::too_large);
}

TEST(batch_validation, header_fields_a_client_may_not_set) {
  auto h = header_for(3);
  h.attributes = 0x20;  // control batch: only a broker writes transaction markers
  EXPECT_EQ(fault_of(build_record_batch(h, three_records())), batch_fault::invalid_record);
  h = header_for(3);
  h.base_offset = 42;  // the leader assigns offsets
  EXPECT_EQ(fault_of(build_record_batch(h, three_records())), batch_fault::invalid_record);
  h = header_for(3);
  h.producer_id = 7;  // a producer id needs a sequence number
  h.base_sequence = -1;
  EXPECT_EQ(fault_of(build_record_batch(h, three_records())), batch_fault::invalid_record);
  h.base_sequence = 0;
  EXPECT_TRUE(check(build_record_batch(h, three_records())).has_value());
}

TEST(batch_validation, one_bad_batch_refuses_the_whole_blob) {
  auto h = header_for(2);
  h.max_timestamp = 0;  // would be rewritten if the blob were accepted
  const std::string first = build_record_batch(h, record(0, 0, "a") + record(3, 1, "b"));
  std::string bad = good_batch();
  bad.back() ^= 1;
  auto r = check(first + bad);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().batch, 1);
}

TEST(batch_validation, create_time_outside_the_window_is_refused) {
  batch_rules rules = rules_at(base_ts);
  rules.timestamp_after_max_ms = 5;  // records at +0, +5, +9: the third is too far ahead
  auto r = check(good_batch(), rules);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().fault, batch_fault::invalid_timestamp);
  EXPECT_EQ(r.error().record, 2);
  rules.timestamp_after_max_ms = 9;
  EXPECT_TRUE(check(good_batch(), rules).has_value());
  rules = rules_at(base_ts + 1000);
  rules.timestamp_before_max_ms = 999;  // the first record is 1000 ms old
  EXPECT_EQ(fault_of(good_batch(), rules), batch_fault::invalid_timestamp);
  // Extreme values compare without overflow.
  rules = rules_at(std::numeric_limits<std::int64_t>::min() + 1);
  rules.timestamp_after_max_ms = 1;
  EXPECT_EQ(fault_of(good_batch(), rules), batch_fault::invalid_timestamp);
  auto h = header_for(1);
  h.base_timestamp = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(fault_of(build_record_batch(h, record(1, 0, "x"))), batch_fault::invalid_record);
}

TEST(batch_validation, max_timestamp_is_set_to_the_largest_record_timestamp) {
  auto h = header_for(3);
  h.max_timestamp = 0;  // a producer that left it unset
  std::string blob = build_record_batch(h, three_records());
  ASSERT_TRUE(validate_produced_records(blob, rules_at()).has_value());
  auto stored = split_record_batches(blob, crc_check::verify);  // the CRC was recomputed
  ASSERT_TRUE(stored.has_value()) << describe(stored.error());
  EXPECT_EQ(stored->front().header.max_timestamp, base_ts + 9);
  EXPECT_EQ(stored->front().header.timestamp(), timestamp_type::create_time);
}

TEST(batch_validation, log_append_time_stamps_the_leader_clock) {
  batch_rules rules = rules_at(base_ts + 60'000);
  rules.timestamps = timestamp_type::log_append_time;
  rules.timestamp_after_max_ms = 0;  // the window applies to CreateTime only
  std::string blob = good_batch() + good_batch();
  auto r = validate_produced_records(blob, rules);
  ASSERT_TRUE(r.has_value()) << r.error().text;
  auto stored = split_record_batches(blob, crc_check::verify);
  ASSERT_TRUE(stored.has_value()) << describe(stored.error());
  for (const auto& b : *stored) {
    EXPECT_EQ(b.header.max_timestamp, base_ts + 60'000);
    EXPECT_EQ(b.header.timestamp(), timestamp_type::log_append_time);
    auto positions = record_positions(b);
    ASSERT_TRUE(positions.has_value());
    for (const auto& p : *positions) EXPECT_EQ(p.timestamp, base_ts + 60'000);
  }
}

// Readers of stored batches: a batch that got onto disk before validation existed must not take
// the broker down (ListOffsets reserved memory from recordsCount and died with bad_alloc).
TEST(batch_validation, readers_survive_a_lying_batch_already_stored) {
  const std::string blob = build_record_batch(header_for(0x7fffffff), record(0, 0, "one"));
  auto views = split_record_batches(blob, crc_check::verify);
  ASSERT_TRUE(views.has_value());
  auto positions = record_positions(views->front());
  EXPECT_FALSE(positions.has_value());
}

}  // namespace
}  // namespace chronik::kafka
