// Looking inside record batches (kafka/protocol/batch_records.h): every codec a client may send
// decompresses to the records it compressed, records' offsets and timestamps are read in both
// timestamp types, and damaged or oversized input is an error, never a crash.
#include "kafka/protocol/batch_records.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/unit/compression_test_util.h"
#include "tests/unit/record_test_util.h"

namespace chronik::kafka {
namespace {

using testing::gzip;
using testing::lz4;
using testing::snappy_raw;
using testing::snappy_xerial;
using testing::three_records;
using testing::zstd;

std::string batch(compression_type codec, const std::string& payload, bool log_append_time = false) {
  record_batch_header h;
  h.base_offset = 100;
  h.attributes = static_cast<std::int16_t>(static_cast<std::uint8_t>(codec) | (log_append_time ? 0x8 : 0));
  h.last_offset_delta = 2;
  h.records_count = 3;
  h.base_timestamp = 1'000;
  h.max_timestamp = 1'009;
  return build_record_batch(h, payload);
}

std::expected<std::vector<record_position>, codec_error> positions_of(const std::string& b) {
  auto views = split_record_batches(b, crc_check::verify);
  EXPECT_TRUE(views.has_value());
  EXPECT_EQ(views->size(), 1u);
  return record_positions(views->front());
}

TEST(batch_records, every_codec_gives_back_the_records_offsets_and_timestamps) {
  const std::string plain = three_records();
  const std::vector<std::pair<compression_type, std::string>> cases = {
      {compression_type::none, plain},          {compression_type::gzip, gzip(plain)},
      {compression_type::snappy, snappy_raw(plain)}, {compression_type::snappy, snappy_xerial(plain)},
      {compression_type::lz4, lz4(plain)},      {compression_type::zstd, zstd(plain)},
  };
  for (const auto& [codec, payload] : cases) {
    auto d = decompress_records(codec, payload);
    ASSERT_TRUE(d.has_value()) << static_cast<int>(codec) << ": " << describe(d.error());
    EXPECT_EQ(*d, plain);
    auto p = positions_of(batch(codec, payload));
    ASSERT_TRUE(p.has_value()) << describe(p.error());
    ASSERT_EQ(p->size(), 3u);
    EXPECT_EQ((*p)[0].offset, 100);
    EXPECT_EQ((*p)[1].offset, 101);
    EXPECT_EQ((*p)[2].offset, 102);
    EXPECT_EQ((*p)[0].timestamp, 1'000);
    EXPECT_EQ((*p)[1].timestamp, 1'005);
    EXPECT_EQ((*p)[2].timestamp, 1'009);
  }
}

TEST(batch_records, log_append_time_gives_every_record_the_batch_timestamp) {
  auto p = positions_of(batch(compression_type::none, three_records(), true));
  ASSERT_TRUE(p.has_value());
  for (const auto& r : *p) EXPECT_EQ(r.timestamp, 1'009);
}

TEST(batch_records, damaged_input_is_an_error) {
  const std::string plain = three_records();
  for (auto [codec, payload] : std::vector<std::pair<compression_type, std::string>>{
           {compression_type::gzip, gzip(plain)},
           {compression_type::snappy, snappy_raw(plain)},
           {compression_type::snappy, snappy_xerial(plain)},
           {compression_type::lz4, lz4(plain)},
           {compression_type::zstd, zstd(plain)}}) {
    for (std::size_t cut : {std::size_t{0}, payload.size() / 3, payload.size() - 1}) {
      EXPECT_FALSE(decompress_records(codec, payload.substr(0, cut)).has_value())
          << static_cast<int>(codec) << " cut at " << cut;
    }
    std::string garbled = payload;
    for (std::size_t i = 4; i < garbled.size(); i += 3) garbled[i] = static_cast<char>(garbled[i] ^ 0x5a);
    EXPECT_FALSE(decompress_records(codec, garbled).has_value()) << static_cast<int>(codec) << " garbled";
  }
  // Records that claim more bytes than there are.
  std::string short_records = three_records();
  short_records.resize(short_records.size() - 10);
  EXPECT_FALSE(positions_of(batch(compression_type::none, short_records)).has_value());
}

// One record with the given key and value (nullopt: null) and one header "h" with a null value.
std::string keyed_record(const std::optional<std::string>& key, const std::optional<std::string>& value) {
  std::string body(1, '\0');
  testing::put_varlong(body, 0);  // timestamp delta
  testing::put_varlong(body, 0);  // offset delta
  for (const auto& field : {key, value}) {
    testing::put_varlong(body, field ? static_cast<std::int64_t>(field->size()) : -1);
    if (field) body += *field;
  }
  testing::put_varlong(body, 1);
  testing::put_varlong(body, 1);
  body += "h";
  testing::put_varlong(body, -1);
  std::string out;
  testing::put_varlong(out, static_cast<std::int64_t>(body.size()));
  return out + body;
}

TEST(batch_records, read_record_gives_views_of_the_key_and_value) {
  const std::string records = keyed_record("k1", "value") + keyed_record(std::nullopt, std::nullopt);
  reader r(records);
  auto first = read_record(r);
  ASSERT_TRUE(first.has_value()) << describe(first.error());
  EXPECT_EQ(first->key, "k1");
  EXPECT_EQ(first->value, "value");
  EXPECT_EQ(first->headers, 1);
  auto second = read_record(r);
  ASSERT_TRUE(second.has_value()) << describe(second.error());
  EXPECT_EQ(second->key_bytes, -1);
  EXPECT_EQ(second->value_bytes, -1);
  EXPECT_TRUE(second->key.empty());
  EXPECT_TRUE(second->value.empty());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(batch_records, output_beyond_the_limit_is_refused) {
  const std::string zeros(1 << 20, '\0');  // 1 MiB of zeros compresses to about a kilobyte
  for (auto [codec, payload] : std::vector<std::pair<compression_type, std::string>>{
           {compression_type::gzip, gzip(zeros)},
           {compression_type::snappy, snappy_raw(zeros)},
           {compression_type::lz4, lz4(zeros)},
           {compression_type::zstd, zstd(zeros)}}) {
    auto d = decompress_records(codec, payload, 64 << 10);
    ASSERT_FALSE(d.has_value()) << static_cast<int>(codec);
    EXPECT_EQ(d.error().code, codec_errc::too_large);
    EXPECT_TRUE(decompress_records(codec, payload, 2 << 20).has_value()) << static_cast<int>(codec);
  }
}

}  // namespace
}  // namespace chronik::kafka
