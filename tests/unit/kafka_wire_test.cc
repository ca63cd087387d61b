// The Kafka primitive types (kafka/protocol/wire.h, docs/kafka.md "Reading and writing"): integers,
// varints, strings, bytes, arrays, uuids and tagged fields, the reader's first-error rule, and
// lengths that claim more than the input.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/protocol/wire.h"
#include "tests/unit/hex_bytes.h"

namespace chronik::kafka {
namespace {

using test::hex;
using test::unhex;

// True when `read` leaves a reader over the hex input failed.
template <class F>
bool read_fails(std::string_view hex_input, F read) {
  const std::string bytes = unhex(hex_input);
  reader r(bytes);
  read(r);
  return !r.ok();
}

std::string error_text(const reader& r) { return r.ok() ? "ok" : describe(*r.error()); }

// --- primitives ---------------------------------------------------------------------------------

TEST(kafka_wire, integers_are_big_endian) {
  writer w;
  w.write_int8(-2);
  w.write_int16(0x1234);
  w.write_int32(-2);
  w.write_int64(0x0102030405060708);
  w.write_uint32(0xDEADBEEF);
  EXPECT_EQ(hex(w.buffer()), "fe1234fffffffe0102030405060708deadbeef");
  reader r(w.buffer());
  EXPECT_EQ(r.read_int8(), -2);
  EXPECT_EQ(r.read_int16(), 0x1234);
  EXPECT_EQ(r.read_int32(), -2);
  EXPECT_EQ(r.read_int64(), 0x0102030405060708);
  EXPECT_EQ(r.read_uint32(), 0xDEADBEEFu);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(kafka_wire, varints_match_the_protocol_guide) {
  // Unsigned varints: 7 bits per byte, least significant group first.
  writer w;
  w.write_uvarint(0);
  w.write_uvarint(127);
  w.write_uvarint(128);
  w.write_uvarint(300);
  w.write_uvarint(0xFFFFFFFF);
  EXPECT_EQ(hex(w.buffer()), "007f8001ac02ffffffff0f");
  // Zigzag: 0->0, -1->1, 1->2, -2->3, 63->126, -64->127.
  writer z;
  for (std::int32_t v : {0, -1, 1, -2, 63, -64}) z.write_varint(v);
  EXPECT_EQ(hex(z.buffer()), "000102037e7f");
  reader r(z.buffer());
  for (std::int32_t v : {0, -1, 1, -2, 63, -64}) EXPECT_EQ(r.read_varint(), v);
  writer l;
  const std::int64_t longs[] = {INT64_MIN, INT64_MAX, -1, std::int64_t{1} << 40};
  for (const std::int64_t v : longs) l.write_varlong(v);
  reader lr(l.buffer());
  for (const std::int64_t v : longs) EXPECT_EQ(lr.read_varlong(), v);
  EXPECT_TRUE(lr.ok());
  EXPECT_EQ(lr.remaining(), 0u);
}

TEST(kafka_wire, overlong_varints_are_rejected) {
  EXPECT_TRUE(read_fails("ffffffff1f", [](reader& r) { r.read_uvarint(); }));  // > 32 bits
  EXPECT_TRUE(read_fails("ffffffffffffffffff7f", [](reader& r) { r.read_uvarlong(); }));  // > 64
  EXPECT_TRUE(read_fails("ffffffffffffffffffffff", [](reader& r) { r.read_uvarlong(); }));
  EXPECT_FALSE(read_fails("ffffffff0f", [](reader& r) { r.read_uvarint(); }));  // 2^32-1 is fine
}

TEST(kafka_wire, strings_bytes_and_arrays) {
  writer w;
  w.write_string("ab");
  w.write_nullable_string(std::nullopt);
  w.write_compact_string("ab");
  w.write_compact_nullable_string(std::nullopt);
  w.write_bytes("x");
  w.write_nullable_bytes(std::nullopt);
  w.write_compact_bytes("");
  w.write_array_length(std::int32_t{-1});
  w.write_compact_array_length(std::int32_t{-1});
  w.write_compact_array_length(std::int32_t{2});
  w.write_int16(0);
  EXPECT_EQ(hex(w.buffer()),
            "00026162ffff03616200" "0000000178ffffffff01" "ffffffff" "0003" "0000");
  reader r(w.buffer());
  EXPECT_EQ(r.read_string(), "ab");
  EXPECT_EQ(r.read_nullable_string(), std::nullopt);
  EXPECT_EQ(r.read_compact_string(), "ab");
  EXPECT_EQ(r.read_compact_nullable_string(), std::nullopt);
  EXPECT_EQ(r.read_bytes(), "x");
  EXPECT_EQ(r.read_nullable_bytes(), std::nullopt);
  EXPECT_EQ(r.read_compact_bytes(), "");
  EXPECT_EQ(r.read_array_length(), -1);
  EXPECT_EQ(r.read_compact_array_length(), -1);
  EXPECT_EQ(r.read_compact_array_length(), 2);
  EXPECT_TRUE(r.ok()) << error_text(r);
  // The array length was accepted only because two bytes follow it.
}

TEST(kafka_wire, uuid_is_sixteen_raw_bytes) {
  writer w;
  w.write_uuid(uuid{0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff});
  EXPECT_EQ(hex(w.buffer()), "0102" "00000000000000000000000000" "ff");
}

TEST(kafka_wire, first_error_is_kept_and_later_reads_return_zero) {
  const std::string r_bytes = unhex("0001" "ff");
  reader r(r_bytes);
  EXPECT_EQ(r.read_int16(), 1);
  EXPECT_EQ(r.read_int32(), 0);  // only one byte left
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error()->code, codec_errc::truncated);
  EXPECT_EQ(r.error()->offset, 2u);
  EXPECT_EQ(r.read_int8(), 0);
  EXPECT_EQ(r.read_string(), "");
  EXPECT_EQ(r.error()->offset, 2u);  // unchanged by the later reads
}

TEST(kafka_wire, oversized_lengths_are_errors_not_allocations) {
  const auto string = [](reader& r) { r.read_string(); };
  const auto array = [](reader& r) { r.read_array_length(); };
  EXPECT_TRUE(read_fails("7fff0102", string));  // a 32767-byte string in 2 bytes
  EXPECT_TRUE(read_fails("7fffffff01", [](reader& r) { r.read_bytes(); }));  // 2 GiB of bytes
  EXPECT_TRUE(read_fails("7fffffff00000000", array));  // 2^31-1 elements
  EXPECT_TRUE(read_fails("ffffffff07", [](reader& r) { r.read_compact_string(); }));
  EXPECT_TRUE(read_fails("ffffffff0f", [](reader& r) { r.read_compact_array_length(); }));
  EXPECT_TRUE(read_fails("fffe", string));      // length -2
  EXPECT_TRUE(read_fails("ffff", string));      // null where not nullable
  EXPECT_TRUE(read_fails("fffffffe", array));   // array length -2
  EXPECT_FALSE(read_fails("ffff", [](reader& r) { r.read_nullable_string(); }));
  EXPECT_FALSE(read_fails("00000002abcd", array));  // two elements fit in two bytes
}

TEST(kafka_wire, tagged_fields_known_unknown_and_out_of_order) {
  writer w;
  w.write_tagged_fields(framing::flexible, {{1, unhex("0007")}, {5, "junk"}, {9, ""}});
  EXPECT_EQ(hex(w.buffer()), "030102000705046a756e6b0900");
  reader r(w.buffer());
  std::int16_t seen = 0;
  int calls = 0;
  r.read_tagged_fields(framing::flexible, [&](std::uint32_t tag, reader& field) {
    ++calls;
    if (tag == 1) seen = field.read_int16();  // 5 and 9 are unknown: left unread, skipped
  });
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(seen, 7);
  EXPECT_EQ(calls, 3);

  const std::string bad_bytes = unhex("02" "0500" "0100");  // tag 5 then tag 1
  reader bad(bad_bytes);
  bad.skip_tagged_fields(framing::flexible);
  EXPECT_FALSE(bad.ok());
  const std::string too_big_bytes = unhex("01" "0105" "00");  // a 5-byte field with 1 byte left
  reader too_big(too_big_bytes);
  too_big.skip_tagged_fields(framing::flexible);
  EXPECT_FALSE(too_big.ok());
  // A known field that is shorter than its reader expects fails the whole read.
  const std::string short_field_bytes = unhex("01" "0101" "00");
  reader short_field(short_field_bytes);
  short_field.read_tagged_fields(framing::flexible,
                                 [](std::uint32_t, reader& field) { field.read_int16(); });
  ASSERT_FALSE(short_field.ok());
  EXPECT_EQ(short_field.error()->offset, 3u);
  // Classic framing has no tagged section at all.
  const std::string classic_bytes = unhex("05");
  reader classic(classic_bytes);
  classic.skip_tagged_fields(framing::classic);
  EXPECT_EQ(classic.remaining(), 1u);
}

}  // namespace
}  // namespace chronik::kafka
