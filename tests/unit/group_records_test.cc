// The `__consumer_offsets` record codec (kafka/groups/group_records.h): every record kind and
// tombstone round-trips; every version Kafka has written decodes from bytes laid out by hand per
// Kafka's message definitions (OffsetCommitKey/Value, GroupMetadataKey/Value); unknown record
// types are told apart from damage; and batches built for the log read back, compressed or not.
#include "kafka/groups/group_records.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "kafka/protocol/record_batch.h"
#include "kafka/protocol/txn_marker.h"
#include "tests/fuzz/mutate.h"
#include "tests/unit/compression_test_util.h"
#include "tests/unit/record_test_util.h"

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
  be& null_str() { return i16(-1); }
  be& blob(const std::string& s) { return i32(static_cast<std::int32_t>(s.size())).bytes_of(s); }
  // KIP-482 compact forms: unsigned varint of length + 1 (these tests stay under 127 bytes).
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

group_log_record offset_commit() {
  return {offset_record_key{"g1", "orders", 7},
          offset_record_value{
              .offset = 1234, .leader_epoch = 5, .metadata = "m", .commit_timestamp_ms = 1'700'000'000'000}};
}

group_record_value two_members() {
  group_record_value v;
  v.protocol_type = "consumer";
  v.generation = 3;
  v.protocol = "range";
  v.leader = "c-1";
  v.current_state_timestamp_ms = 1'700'000'000'500;
  v.members.push_back({"c-1", std::nullopt, "client-a", "/127.0.0.1", 300'000, 10'000, "sub-a", "asg-a"});
  v.members.push_back({"c-2", "instance-2", "client-b", "/127.0.0.2", 60'000, 45'000, std::string("\0\1", 2), ""});
  return v;
}

group_log_record group_metadata() { return {group_record_key{"g1"}, two_members()}; }

group_log_record decoded(std::string_view key, std::optional<std::string_view> value) {
  auto r = decode_group_record(key, value);
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return r.value_or(group_log_record{});
}

void expect_malformed(std::string_view key, std::optional<std::string_view> value, const std::string& naming = "") {
  auto r = decode_group_record(key, value);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, group_record_errc::malformed) << r.error().message;
  if (!naming.empty()) {
    EXPECT_NE(r.error().message.find(naming), std::string::npos) << r.error().message;
  }
}

TEST(group_records, every_record_kind_and_tombstone_round_trips) {
  group_record_value empty_group;
  empty_group.protocol_type = "consumer";
  const std::vector<group_log_record> records = {
      offset_commit(),
      {offset_record_key{"g1", "orders", 7}, std::nullopt},
      group_metadata(),
      {group_record_key{"g2"}, empty_group},
      {group_record_key{"g1"}, std::nullopt},
      {offset_record_key{"", "", -1}, offset_record_value{}},
  };
  for (const group_log_record& rec : records) {
    const std::string key = encode_key(rec);
    const std::optional<std::string> value = encode_value(rec);
    EXPECT_EQ(value.has_value(), rec.value.has_value());
    EXPECT_EQ(decoded(key, value ? std::optional<std::string_view>(*value) : std::nullopt), rec);
  }
}

TEST(group_records, writes_kafkas_offset_commit_key_1_and_value_3) {
  const group_log_record rec = offset_commit();
  EXPECT_EQ(encode_key(rec), be{}.i16(1).str("g1").str("orders").i32(7).out);
  EXPECT_EQ(encode_value(rec), be{}.i16(3).i64(1234).i32(5).str("m").i64(1'700'000'000'000).out);
}

TEST(group_records, writes_kafkas_group_metadata_key_2_and_value_3) {
  const std::string expected = be{}
                                   .i16(3)
                                   .str("consumer")
                                   .i32(3)
                                   .str("range")
                                   .str("c-1")
                                   .i64(1'700'000'000'500)
                                   .i32(2)
                                   .str("c-1").null_str().str("client-a").str("/127.0.0.1").i32(300'000).i32(10'000)
                                   .blob("sub-a").blob("asg-a")
                                   .str("c-2").str("instance-2").str("client-b").str("/127.0.0.2")
                                   .i32(60'000).i32(45'000)
                                   .blob(std::string("\0\1", 2)).blob("")
                                   .out;
  EXPECT_EQ(encode_key(group_metadata()), be{}.i16(2).str("g1").out);
  EXPECT_EQ(encode_value(group_metadata()), expected);
}

TEST(group_records, reads_every_offset_commit_value_version) {
  const std::string key = be{}.i16(0).str("g").str("t").i32(2).out;  // type 0: the oldest key
  const auto value_of = [&](const std::string& bytes) {
    const group_log_record r = decoded(key, bytes);
    EXPECT_EQ(r.key, (group_record_key_variant{offset_record_key{"g", "t", 2}}));
    return r.value ? std::get<offset_record_value>(*r.value) : offset_record_value{};
  };
  EXPECT_EQ(value_of(be{}.i16(0).i64(10).str("a").i64(100).out),
            (offset_record_value{.offset = 10, .metadata = "a", .commit_timestamp_ms = 100}));
  EXPECT_EQ(value_of(be{}.i16(1).i64(11).str("b").i64(101).i64(9101).out),
            (offset_record_value{
                .offset = 11, .metadata = "b", .commit_timestamp_ms = 101, .expire_timestamp_ms = 9101}));
  EXPECT_EQ(value_of(be{}.i16(2).i64(12).str("").i64(102).out),
            (offset_record_value{.offset = 12, .commit_timestamp_ms = 102}));
  EXPECT_EQ(value_of(be{}.i16(3).i64(13).i32(4).str("d").i64(103).out),
            (offset_record_value{.offset = 13, .leader_epoch = 4, .metadata = "d", .commit_timestamp_ms = 103}));
  // Version 4 is flexible: a compact string and a tagged-field section, whose unknown tag (7,
  // two bytes) is skipped.
  EXPECT_EQ(value_of(be{}.i16(4).i64(14).i32(6).cstr("e").i64(104).uvar(1).uvar(7).uvar(2).bytes_of("xy").out),
            (offset_record_value{.offset = 14, .leader_epoch = 6, .metadata = "e", .commit_timestamp_ms = 104}));
}

// A member laid out for `version` of GroupMetadataValue (classic framing).
be& classic_member(be& b, std::int16_t version) {
  b.str("m-1");
  if (version >= 3) b.str("static-1");
  b.str("cid").str("/10.0.0.1");
  if (version >= 1) b.i32(90'000);
  return b.i32(20'000).blob("sub").blob("asg");
}

TEST(group_records, reads_every_group_metadata_value_version) {
  const std::string key = be{}.i16(2).str("grp").out;
  for (std::int16_t version = 0; version <= 3; ++version) {
    be b;
    b.i16(version).str("consumer").i32(8).str("roundrobin").null_str();
    if (version >= 2) b.i64(555);
    b.i32(1);
    classic_member(b, version);
    const group_log_record r = decoded(key, b.out);
    ASSERT_TRUE(r.value.has_value()) << "version " << version;
    const auto& v = std::get<group_record_value>(*r.value);
    EXPECT_EQ(v.protocol_type, "consumer");
    EXPECT_EQ(v.generation, 8);
    EXPECT_EQ(v.protocol, "roundrobin");
    EXPECT_EQ(v.leader, std::nullopt);
    EXPECT_EQ(v.current_state_timestamp_ms, version >= 2 ? 555 : -1);
    ASSERT_EQ(v.members.size(), 1u);
    const group_member_record& m = v.members[0];
    EXPECT_EQ(m.member_id, "m-1");
    EXPECT_EQ(m.group_instance_id, version >= 3 ? std::optional<std::string>("static-1") : std::nullopt);
    EXPECT_EQ(m.client_id, "cid");
    EXPECT_EQ(m.client_host, "/10.0.0.1");
    EXPECT_EQ(m.session_timeout_ms, 20'000);
    // Version 0 has no rebalance timeout: Kafka loads the session timeout in its place.
    EXPECT_EQ(m.rebalance_timeout_ms, version >= 1 ? 90'000 : 20'000);
    EXPECT_EQ(m.subscription, "sub");
    EXPECT_EQ(m.assignment, "asg");
  }
}

TEST(group_records, reads_flexible_group_metadata_value_4) {
  const std::string value = be{}
                                .i16(4)
                                .cstr("consumer")
                                .i32(2)
                                .uvar(0)  // protocol: null
                                .cstr("m-1")
                                .i64(77)
                                .uvar(2)  // one member
                                .cstr("m-1").uvar(0).cstr("cid").cstr("host").i32(5'000).i32(6'000)
                                .cstr("s").cstr("a").uvar(0)
                                .uvar(1).uvar(3).uvar(1).bytes_of("z")  // an unknown tag, skipped
                                .out;
  const group_log_record r = decoded(be{}.i16(2).str("grp").out, value);
  ASSERT_TRUE(r.value.has_value());
  group_record_value expected;
  expected.protocol_type = "consumer";
  expected.generation = 2;
  expected.leader = "m-1";
  expected.current_state_timestamp_ms = 77;
  expected.members.push_back({"m-1", std::nullopt, "cid", "host", 5'000, 6'000, "s", "a"});
  EXPECT_EQ(std::get<group_record_value>(*r.value), expected);
}

TEST(group_records, kip_848_and_later_key_types_are_unknown_not_malformed) {
  for (std::int16_t type : {3, 4, 5, 8, 100, -1}) {
    const std::string key = be{}.i16(type).str("g").out;
    const std::string_view version0("\0\0", 2);
    for (auto value : {std::optional<std::string_view>{}, std::optional<std::string_view>(version0)}) {
      auto r = decode_group_record(key, value);
      ASSERT_FALSE(r.has_value()) << type;
      EXPECT_EQ(r.error().code, group_record_errc::unknown_type) << type;
    }
  }
}

TEST(group_records, damaged_records_are_malformed_and_name_the_field) {
  const std::string okey = encode_key(offset_commit());
  const std::string ovalue = *encode_value(offset_commit());
  // An unknown value version: Kafka refuses it too.
  expect_malformed(okey, be{}.i16(5).bytes_of(ovalue.substr(2)).out, "version 5");
  expect_malformed(okey, be{}.i16(-1).out, "version -1");
  // A null where the schema has a non-nullable string.
  expect_malformed(okey, be{}.i16(3).i64(1).i32(1).null_str().i64(1).out, "metadata");
  expect_malformed(be{}.i16(1).null_str().str("t").i32(0).out, std::nullopt, "group");
  // Bytes after the last field.
  expect_malformed(okey + "x", std::nullopt, "after the last field");
  expect_malformed(okey, ovalue + "x", "after the last field");
  // A member count larger than the bytes.
  expect_malformed(be{}.i16(2).str("g").out, be{}.i16(3).str("c").i32(1).null_str().null_str().i64(0).i32(1000).out,
                   "members");
  // Cut inside the metadata string.
  expect_malformed(okey, ovalue.substr(0, 2 + 8 + 4 + 2), "metadata");
  expect_malformed(okey, ovalue.substr(0, 2 + 8 + 4 + 2 + 1 + 3), "commit_timestamp");
  // Cut inside the first member's client host: version, protocol type, generation, protocol,
  // leader, state timestamp, member count, then member id, instance id (null), client id.
  const std::size_t host_at = 2 + 10 + 4 + 7 + 5 + 8 + 4 + 5 + 2 + 10;
  expect_malformed(encode_key(group_metadata()), encode_value(group_metadata())->substr(0, host_at + 3),
                   "members.client_host");
}

TEST(group_records, every_truncation_of_a_valid_record_is_malformed) {
  for (const group_log_record& rec : {offset_commit(), group_metadata()}) {
    const std::string key = encode_key(rec);
    const std::string value = *encode_value(rec);
    for (std::size_t cut = 0; cut < key.size(); ++cut) {
      auto r = decode_group_record(key.substr(0, cut), value);
      ASSERT_FALSE(r.has_value()) << "key cut at " << cut;
      EXPECT_EQ(r.error().code, group_record_errc::malformed) << "key cut at " << cut;
    }
    for (std::size_t cut = 0; cut < value.size(); ++cut) {
      expect_malformed(key, std::string_view(value).substr(0, cut));
    }
  }
}

TEST(group_records, a_built_batch_reads_back_with_offsets) {
  const std::vector<group_log_record> records = {offset_commit(), group_metadata(),
                                                 {offset_record_key{"g1", "orders", 7}, std::nullopt},
                                                 {group_record_key{"g1"}, std::nullopt}};
  std::string blob = build_group_batch(records, 1'700'000'000'999);
  auto views = split_record_batches(blob, crc_check::verify);
  ASSERT_TRUE(views.has_value()) << describe(views.error());
  ASSERT_EQ(views->size(), 1u);
  const record_batch_header& h = views->front().header;
  EXPECT_EQ(h.records_count, 4);
  EXPECT_EQ(h.last_offset_delta, 3);
  EXPECT_EQ(h.attributes, 0);
  EXPECT_EQ(h.base_timestamp, 1'700'000'000'999);
  EXPECT_EQ(h.max_timestamp, 1'700'000'000'999);
  EXPECT_EQ(h.producer_id, -1);
  // Stamped as the leader stamps it, then a second batch and a partial third, as fetch returns.
  set_base_offset(blob, 0, 40);
  std::string second = build_group_batch(std::span(records).first(1), 5);
  set_base_offset(second, 0, 44);
  const std::string fetched = blob + second + second.substr(0, second.size() - 3);
  auto read = read_group_records(fetched);
  ASSERT_TRUE(read.has_value()) << describe(read.error());
  ASSERT_EQ(read->size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*read)[i].offset, 40 + static_cast<std::int64_t>(i));
    ASSERT_TRUE((*read)[i].record.has_value()) << (*read)[i].record.error().message;
    EXPECT_EQ(*(*read)[i].record, records[i % 4]);
  }
}

// The records section of a one-batch blob, re-wrapped with `attributes` (compression, control).
std::string rewrap(const std::string& batch, std::int16_t attributes, const std::string& section) {
  auto views = split_record_batches(batch, crc_check::verify);
  EXPECT_TRUE(views.has_value());
  record_batch_header h = views->front().header;
  h.attributes = attributes;
  return build_record_batch(h, section);
}

TEST(group_records, compressed_batches_are_read) {
  const std::vector<group_log_record> records = {offset_commit(), group_metadata()};
  const std::string plain = build_group_batch(records, 9);
  const std::string section = plain.substr(record_batch_header_size);
  for (auto [codec, payload] : std::vector<std::pair<compression_type, std::string>>{
           {compression_type::gzip, testing::gzip(section)},
           {compression_type::snappy, testing::snappy_xerial(section)},
           {compression_type::lz4, testing::lz4(section)},
           {compression_type::zstd, testing::zstd(section)}}) {
    auto read = read_group_records(rewrap(plain, static_cast<std::int16_t>(codec), payload));
    ASSERT_TRUE(read.has_value()) << static_cast<int>(codec) << ": " << describe(read.error());
    ASSERT_EQ(read->size(), 2u);
    EXPECT_EQ((*read)[0].record.value_or(group_log_record{}), records[0]);
    EXPECT_EQ((*read)[1].record.value_or(group_log_record{}), records[1]);
  }
}

TEST(group_records, control_batches_are_skipped) {
  const std::string data = build_group_batch(std::vector<group_log_record>{offset_commit()}, 1);
  // A COMMIT marker's record: key = version 0, type 1; value = version 0, coordinator epoch 0.
  std::string rec(1, '\0');
  testing::put_varlong(rec, 0);
  testing::put_varlong(rec, 0);
  const std::string mkey = be{}.i16(0).i16(1).out;
  const std::string mvalue = be{}.i16(0).i32(0).out;
  testing::put_varlong(rec, static_cast<std::int64_t>(mkey.size()));
  rec += mkey;
  testing::put_varlong(rec, static_cast<std::int64_t>(mvalue.size()));
  rec += mvalue;
  testing::put_varlong(rec, 0);
  std::string section;
  testing::put_varlong(section, static_cast<std::int64_t>(rec.size()));
  section += rec;
  const std::string control = rewrap(data, 0x30, section);  // transactional | control
  auto read = read_group_records(control + data);
  ASSERT_TRUE(read.has_value()) << describe(read.error());
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].record.value_or(group_log_record{}), offset_commit());
}

TEST(group_records, a_transactional_batch_names_its_producer_and_has_no_sequence) {
  const std::vector<group_log_record> records = {offset_commit(), offset_commit()};
  std::string blob = build_group_txn_batch(records, 77, 4242, 3);
  auto views = split_record_batches(blob, crc_check::verify);
  ASSERT_TRUE(views.has_value()) << describe(views.error());
  const record_batch_header& h = views->front().header;
  EXPECT_EQ(h.attributes, 0x10) << "transactional, not control, uncompressed, CreateTime";
  EXPECT_TRUE(h.is_transactional());
  EXPECT_FALSE(h.is_control());
  EXPECT_EQ(h.producer_id, 4242);
  EXPECT_EQ(h.producer_epoch, 3);
  EXPECT_EQ(h.base_sequence, -1);
  EXPECT_EQ(h.records_count, 2);
  set_base_offset(blob, 0, 10);
  auto read = read_group_records(blob);
  ASSERT_TRUE(read.has_value()) << describe(read.error());
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[1].offset, 11);
  EXPECT_EQ((*read)[1].producer_id, 4242);
  EXPECT_EQ((*read)[1].producer_epoch, 3);
  // A plain batch's records carry no producer.
  auto plain = read_group_records(build_group_batch(records, 77));
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->front().producer_id, -1);
}

TEST(group_records, the_log_reads_records_and_markers_in_order) {
  const std::vector<group_log_record> one = {offset_commit()};
  std::string plain = build_group_batch(one, 1);
  std::string txn = build_group_txn_batch(one, 1, 9, 1);
  std::string commit = build_txn_marker_batch(9, 1, txn_marker{true, 5}, 2);
  std::string abort = build_txn_marker_batch(8, 0, txn_marker{false, 5}, 2);
  set_base_offset(plain, 0, 20);
  set_base_offset(txn, 0, 21);
  set_base_offset(commit, 0, 22);
  set_base_offset(abort, 0, 23);
  const std::string blob = plain + txn + commit + abort;
  auto all = read_group_log(blob);
  ASSERT_TRUE(all.has_value()) << describe(all.error());
  ASSERT_EQ(all->size(), 4u);
  const auto& p = std::get<group_log_entry>((*all)[0]);
  EXPECT_EQ(p.offset, 20);
  EXPECT_EQ(p.producer_id, -1);
  const auto& t = std::get<group_log_entry>((*all)[1]);
  EXPECT_EQ(t.offset, 21);
  EXPECT_EQ(t.producer_id, 9);
  EXPECT_EQ(t.record.value_or(group_log_record{}), offset_commit());
  EXPECT_EQ(std::get<group_log_marker>((*all)[2]), (group_log_marker{22, 9, 1, true}));
  EXPECT_EQ(std::get<group_log_marker>((*all)[3]), (group_log_marker{23, 8, 0, false}));
  // What the owner reads once loaded: the plain batch is not decoded.
  auto txns = read_group_log(blob, group_log_filter::transactions);
  ASSERT_TRUE(txns.has_value());
  ASSERT_EQ(txns->size(), 3u);
  EXPECT_EQ(std::get<group_log_entry>((*txns)[0]).offset, 21);
  // read_group_records leaves the markers out.
  auto records = read_group_records(blob);
  ASSERT_TRUE(records.has_value());
  EXPECT_EQ(records->size(), 2u);
}

TEST(group_records, one_bad_record_does_not_hide_the_rest) {
  // Records written by hand: an unknown type, a null key, a garbled value, then a good one.
  const auto one = [](std::int32_t delta, const std::optional<std::string>& key, const std::string& value) {
    std::string body(1, '\0');
    testing::put_varlong(body, 0);
    testing::put_varlong(body, delta);
    testing::put_varlong(body, key ? static_cast<std::int64_t>(key->size()) : -1);
    if (key) body += *key;
    testing::put_varlong(body, static_cast<std::int64_t>(value.size()));
    body += value;
    testing::put_varlong(body, 0);
    std::string out;
    testing::put_varlong(out, static_cast<std::int64_t>(body.size()));
    return out + body;
  };
  const group_log_record good = offset_commit();
  const std::string section = one(0, be{}.i16(3).str("g").out, "whatever") + one(1, std::nullopt, "v") +
                              one(2, encode_key(good), std::string("\0\3", 2)) +
                              one(3, encode_key(good), *encode_value(good));
  record_batch_header h;
  h.last_offset_delta = 3;
  h.records_count = 4;
  auto read = read_group_records(build_record_batch(h, section));
  ASSERT_TRUE(read.has_value()) << describe(read.error());
  ASSERT_EQ(read->size(), 4u);
  EXPECT_EQ((*read)[0].record.error().code, group_record_errc::unknown_type);
  EXPECT_EQ((*read)[1].record.error().code, group_record_errc::malformed);
  EXPECT_EQ((*read)[2].record.error().code, group_record_errc::malformed);
  ASSERT_TRUE((*read)[3].record.has_value());
  EXPECT_EQ(*(*read)[3].record, good);
  EXPECT_EQ((*read)[3].offset, 3);
}

TEST(group_records, batch_damage_is_an_error_for_the_read) {
  std::string blob = build_group_batch(std::vector<group_log_record>{offset_commit()}, 1);
  std::string flipped = blob;
  flipped[flipped.size() - 1] = static_cast<char>(flipped.back() ^ 0x01);
  auto crc = read_group_records(flipped);
  ASSERT_FALSE(crc.has_value());
  EXPECT_EQ(crc.error().code, codec_errc::crc_mismatch);
  // A valid CRC over records that claim more than the section holds.
  record_batch_header h;
  h.last_offset_delta = 1;
  h.records_count = 2;
  EXPECT_FALSE(read_group_records(build_record_batch(h, blob.substr(record_batch_header_size))).has_value());
  // Bytes after the claimed records.
  h.last_offset_delta = 0;
  h.records_count = 1;
  const std::string extra = blob.substr(record_batch_header_size) + std::string(1, '\0');
  EXPECT_FALSE(read_group_records(build_record_batch(h, extra)).has_value());
  // Nothing, and only a partial batch, read as no records.
  EXPECT_TRUE(read_group_records("").value().empty());
  EXPECT_TRUE(read_group_records(std::string_view(blob).substr(0, blob.size() - 1)).value().empty());
}

// What a decoded record must satisfy: written again (as key type 1 and value version 3), it
// decodes to itself, less the version-1 expire timestamp, which version 3 does not carry.
void expect_reencodes(const group_log_record& rec) {
  group_log_record expected = rec;
  if (expected.value) {
    if (auto* v = std::get_if<offset_record_value>(&*expected.value)) v->expire_timestamp_ms = -1;
  }
  const std::string key = encode_key(rec);
  const std::optional<std::string> value = encode_value(rec);
  EXPECT_EQ(decoded(key, value ? std::optional<std::string_view>(*value) : std::nullopt), expected);
}

// A seeded smoke run of the mutator the fuzz targets use (tests/fuzz/mutate.h): whatever the
// bytes, decoding returns a record or an error, never crashes, and a record re-encodes.
TEST(group_records, mutated_records_never_crash_and_what_decodes_reencodes) {
  std::mt19937_64 rng(20261206);
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {encode_key(offset_commit()), *encode_value(offset_commit())},
      {encode_key(group_metadata()), *encode_value(group_metadata())},
      {be{}.i16(0).str("g").str("t").i32(2).out, be{}.i16(1).i64(11).str("b").i64(101).i64(9101).out},
      {be{}.i16(2).str("grp").out,
       be{}.i16(4).cstr("c").i32(2).uvar(0).uvar(0).i64(7).uvar(2).cstr("m").uvar(0).cstr("i").cstr("h")
           .i32(1).i32(2).cstr("s").cstr("a").uvar(0).uvar(0).out},
  };
  int accepted = 0;
  int refused = 0;
  for (int i = 0; i < 20'000; ++i) {
    auto [key, value] = seeds[rng() % seeds.size()];
    const int rounds = 1 + static_cast<int>(rng() % 3);
    for (int r = 0; r < rounds; ++r) fuzz::mutate(rng() % 4 == 0 ? key : value, rng);
    const bool tombstone = rng() % 8 == 0;
    auto rec = decode_group_record(key, tombstone ? std::nullopt : std::optional<std::string_view>(value));
    if (!rec) {
      ++refused;
      continue;
    }
    ++accepted;
    expect_reencodes(*rec);
    if (HasFailure()) return;
  }
  EXPECT_GT(accepted, 0);
  EXPECT_GT(refused, 0);
}

TEST(group_records, mutated_batches_never_crash) {
  std::mt19937_64 rng(61220);
  const std::vector<group_log_record> records = {offset_commit(), group_metadata(),
                                                 {group_record_key{"g1"}, std::nullopt}};
  const std::string seed = build_group_batch(records, 3);
  int read = 0;
  for (int i = 0; i < 5'000; ++i) {
    std::string blob = seed;
    fuzz::mutate(blob, rng);
    // Mostly fix the CRC, so mutations reach the records rather than only the checksum.
    if (rng() % 4 != 0 && blob.size() >= record_batch_header_size) {
      auto h = parse_record_batch_header(blob);
      if (h) {
        const std::uint32_t crc = compute_record_batch_crc(std::string_view(blob).substr(0, h->size_bytes()));
        for (std::size_t b = 0; b < 4; ++b) {
          blob[record_batch_crc_offset + b] = static_cast<char>(crc >> (24 - 8 * b));
        }
      }
    }
    auto entries = read_group_records(blob);
    if (!entries) continue;
    ++read;
    for (const group_log_entry& e : *entries) {
      if (e.record) expect_reencodes(*e.record);
    }
    if (HasFailure()) return;
  }
  EXPECT_GT(read, 0);
}

}  // namespace
}  // namespace chronik::kafka
