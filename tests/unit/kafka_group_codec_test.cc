// Codecs of the consumer group APIs (kafka/protocol/messages: FindCoordinator, JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch): a round trip at every version
// (re-encoding, full consumption, every truncated prefix refused, corrupted copies survive),
// hand-computed byte fixtures for one classic and one flexible version, and random input.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "kafka/protocol/field_values.h"
#include "kafka/protocol/messages/find_coordinator.h"
#include "kafka/protocol/messages/heartbeat.h"
#include "kafka/protocol/messages/join_group.h"
#include "kafka/protocol/messages/leave_group.h"
#include "kafka/protocol/messages/offset_commit.h"
#include "kafka/protocol/messages/offset_fetch.h"
#include "kafka/protocol/messages/sync_group.h"
#include "tests/unit/hex_bytes.h"

namespace chronik::kafka {
namespace {

using test::hex;

template <class T, class Enc, class Dec>
void expect_round_trips(const T& sample, std::int16_t version, Enc encode, Dec decode) {
  writer w;
  encode(sample, version, w);
  const std::string bytes = w.take();
  reader r(bytes);
  auto decoded = decode(r, version);
  ASSERT_TRUE(decoded) << "v" << version << ": " << describe(decoded.error());
  EXPECT_EQ(r.remaining(), 0u) << "v" << version;
  writer again;
  encode(*decoded, version, again);
  EXPECT_EQ(hex(again.buffer()), hex(bytes)) << "v" << version;
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    reader p(std::string_view(bytes).substr(0, n));
    EXPECT_FALSE(decode(p, version)) << "v" << version << " prefix " << n;
  }
  std::mt19937 rng(static_cast<std::uint32_t>(bytes.size() * 31 + version));
  for (int i = 0; i < 64 && !bytes.empty(); ++i) {
    std::string copy = bytes;
    copy[rng() % copy.size()] = static_cast<char>(rng());
    reader m(copy);
    if (auto result = decode(m, version)) {
      writer out;
      encode(*result, version, out);
    }
  }
}

template <class Dec>
void fuzz_decoder(Dec decode, version_range range) {
  std::mt19937 rng(range.max * 7 + 1);
  for (std::int16_t v = range.min; v <= range.max; ++v) {
    for (int i = 0; i < 300; ++i) {
      std::string junk(rng() % 96, '\0');
      for (auto& c : junk) c = static_cast<char>(rng());
      reader r(junk);
      (void)decode(r, v);
    }
  }
}

template <class T, class Enc>
std::string encoded(const T& m, std::int16_t version, Enc encode) {
  writer w;
  encode(m, version, w);
  return hex(w.buffer());
}

TEST(kafka_group_codec, find_coordinator_round_trips) {
  find_coordinator_request req{"group-1", coordinator_key_group, {}};
  find_coordinator_response resp{0, error_code::none, std::nullopt, 2, "127.0.0.2", 9092, {}};
  for (std::int16_t v = 0; v <= 3; ++v) {
    expect_round_trips(req, v, encode_find_coordinator_request, decode_find_coordinator_request);
    expect_round_trips(resp, v, encode_find_coordinator_response, decode_find_coordinator_response);
  }
  find_coordinator_request batch{"", coordinator_key_group, {"a", "b"}};
  find_coordinator_response batch_resp;
  batch_resp.coordinators = {{"a", 1, "h", 9092, error_code::none, std::nullopt},
                             {"b", -1, "", -1, error_code::coordinator_not_available, "no"}};
  expect_round_trips(batch, 4, encode_find_coordinator_request, decode_find_coordinator_request);
  expect_round_trips(batch_resp, 4, encode_find_coordinator_response,
                     decode_find_coordinator_response);
}

TEST(kafka_group_codec, find_coordinator_bytes) {
  // v0 request: string "g".
  EXPECT_EQ(encoded(find_coordinator_request{"g"}, 0, encode_find_coordinator_request), "000167");
  // v3 request (flexible): compact "g" (len+1 = 2), key type 0, no tags.
  EXPECT_EQ(encoded(find_coordinator_request{"g"}, 3, encode_find_coordinator_request), "02670000");
  // v3 response: throttle 0, error 0, null message (0), node 1, compact "h", port 9092, no tags.
  find_coordinator_response r{0, error_code::none, std::nullopt, 1, "h", 9092, {}};
  EXPECT_EQ(encoded(r, 3, encode_find_coordinator_response),
            "00000000" "0000" "00" "00000001" "0268" "00002384" "00");
}

join_group_request sample_join() {
  join_group_request m;
  m.group_id = "g";
  m.session_timeout_ms = 30'000;
  m.rebalance_timeout_ms = 60'000;
  m.member_id = "m-1";
  m.group_instance_id = "inst";
  m.protocol_type = "consumer";
  m.protocols = {{"range", std::string("\x00\x01", 2)}, {"roundrobin", ""}};
  return m;
}

TEST(kafka_group_codec, join_group_round_trips) {
  join_group_response resp;
  resp.generation_id = 3;
  resp.protocol_type = "consumer";
  resp.protocol_name = "range";
  resp.leader = "m-1";
  resp.member_id = "m-2";
  resp.members = {{"m-1", "inst", "meta"}, {"m-2", std::nullopt, ""}};
  for (std::int16_t v = 0; v <= 7; ++v) {
    join_group_request req = sample_join();
    if (v < 5) req.group_instance_id.reset();
    if (v < 1) req.rebalance_timeout_ms = -1;
    expect_round_trips(req, v, encode_join_group_request, decode_join_group_request);
    join_group_response r = resp;
    if (v < 7) r.protocol_type.reset();
    if (v < 5) {
      for (auto& m : r.members) m.group_instance_id.reset();
    }
    expect_round_trips(r, v, encode_join_group_response, decode_join_group_response);
  }
  // v7 may say "no protocol" (null), which classic versions write as "".
  join_group_response none;
  none.error = error_code::member_id_required;
  none.member_id = "c-1";
  expect_round_trips(none, 7, encode_join_group_response, decode_join_group_response);
  EXPECT_EQ(encoded(none, 4, encode_join_group_response),
            "00000000" "004f" "ffffffff" "0000" "0000" "0003632d31" "00000000");
}

TEST(kafka_group_codec, join_group_v6_request_bytes) {
  join_group_request m;
  m.group_id = "g";
  m.session_timeout_ms = 10;
  m.rebalance_timeout_ms = 20;
  m.member_id = "";
  m.protocol_type = "c";
  m.protocols = {{"r", "x"}};
  EXPECT_EQ(encoded(m, 6, encode_join_group_request),
            "0267" "0000000a" "00000014" "01" "00" "0263" "02" "0272" "0278" "00" "00");
}

TEST(kafka_group_codec, sync_group_round_trips) {
  sync_group_request req{"g", 4, "m-1", "inst", "consumer", "range",
                         {{"m-1", "a1"}, {"m-2", std::string("\x00", 1)}}};
  sync_group_response resp{0, error_code::none, "consumer", "range", "assignment"};
  for (std::int16_t v = 0; v <= 5; ++v) {
    sync_group_request r = req;
    if (v < 3) r.group_instance_id.reset();
    if (v < 5) {
      r.protocol_type.reset();
      r.protocol_name.reset();
    }
    expect_round_trips(r, v, encode_sync_group_request, decode_sync_group_request);
    sync_group_response s = resp;
    if (v < 5) {
      s.protocol_type.reset();
      s.protocol_name.reset();
    }
    expect_round_trips(s, v, encode_sync_group_response, decode_sync_group_response);
  }
  // v4 response: throttle, error 27, compact bytes "" (1), no tags.
  EXPECT_EQ(encoded(sync_group_response{0, error_code::rebalance_in_progress, {}, {}, ""}, 4,
                    encode_sync_group_response),
            "00000000" "001b" "01" "00");
}

TEST(kafka_group_codec, heartbeat_round_trips_and_bytes) {
  for (std::int16_t v = 0; v <= 4; ++v) {
    heartbeat_request req{"g", 2, "m", v >= 3 ? std::optional<std::string>("i") : std::nullopt};
    expect_round_trips(req, v, encode_heartbeat_request, decode_heartbeat_request);
    expect_round_trips(heartbeat_response{0, error_code::illegal_generation}, v,
                       encode_heartbeat_response, decode_heartbeat_response);
  }
  EXPECT_EQ(encoded(heartbeat_request{"g", 1, "m", {}}, 0, encode_heartbeat_request),
            "0001" "67" "00000001" "0001" "6d");
  EXPECT_EQ(encoded(heartbeat_request{"g", 1, "m", {}}, 4, encode_heartbeat_request),
            "0267" "00000001" "026d" "00" "00");
  EXPECT_EQ(encoded(heartbeat_response{0, error_code::rebalance_in_progress}, 0,
                    encode_heartbeat_response),
            "001b");
}

TEST(kafka_group_codec, leave_group_round_trips) {
  for (std::int16_t v = 0; v <= 4; ++v) {
    leave_group_request req;
    req.group_id = "g";
    leave_group_response resp;
    resp.error = error_code::none;
    if (v <= 2) {
      req.member_id = "m-1";
    } else {
      req.members = {{"m-1", std::nullopt}, {"m-2", "inst"}};
      resp.members = {{"m-1", std::nullopt, error_code::none},
                      {"m-2", "inst", error_code::unknown_member_id}};
    }
    expect_round_trips(req, v, encode_leave_group_request, decode_leave_group_request);
    expect_round_trips(resp, v, encode_leave_group_response, decode_leave_group_response);
  }
  leave_group_request v3;
  v3.group_id = "g";
  v3.members = {{"m", std::nullopt}};
  EXPECT_EQ(encoded(v3, 3, encode_leave_group_request), "000167" "00000001" "00016d" "ffff");
}

TEST(kafka_group_codec, offset_commit_round_trips) {
  offset_commit_request req;
  req.group_id = "g";
  req.generation_id = 5;
  req.member_id = "m";
  req.group_instance_id = "i";
  req.retention_time_ms = 1000;
  req.topics = {{"t", {{0, 42, 3, 77, "meta"}, {1, 7, -1, -1, std::nullopt}}}};
  offset_commit_response resp{0, {{"t", {{0, error_code::none}, {1, error_code::illegal_generation}}}}};
  for (std::int16_t v = 0; v <= 8; ++v) {
    offset_commit_request r = req;
    if (v < 1) {
      r.generation_id = -1;
      r.member_id.clear();
    }
    if (v < 7) r.group_instance_id.reset();
    if (v < 2 || v > 4) r.retention_time_ms = -1;
    for (auto& p : r.topics[0].partitions) {
      if (v < 6) p.committed_leader_epoch = -1;
      if (v != 1) p.commit_timestamp = -1;
    }
    expect_round_trips(r, v, encode_offset_commit_request, decode_offset_commit_request);
    expect_round_trips(resp, v, encode_offset_commit_response, decode_offset_commit_response);
  }
  offset_commit_request small{"g", -1, "", {}, -1, {{"t", {{0, 1, -1, -1, std::nullopt}}}}};
  EXPECT_EQ(encoded(small, 0, encode_offset_commit_request),
            "000167" "00000001" "000174" "00000001" "00000000" "0000000000000001" "ffff");
}

TEST(kafka_group_codec, offset_fetch_round_trips) {
  offset_fetch_request req{"g", std::vector<offset_fetch_topic>{{"t", {0, 1}}}, true};
  offset_fetch_response resp;
  resp.topics = {{"t", {{0, 42, 3, "meta", error_code::none}, {1, -1, -1, "", error_code::none}}}};
  resp.error = error_code::not_coordinator;
  for (std::int16_t v = 0; v <= 7; ++v) {
    offset_fetch_request r = req;
    if (v < 7) r.require_stable = false;
    expect_round_trips(r, v, encode_offset_fetch_request, decode_offset_fetch_request);
    if (v >= 2) {
      r.topics.reset();  // all topics
      expect_round_trips(r, v, encode_offset_fetch_request, decode_offset_fetch_request);
    }
    offset_fetch_response s = resp;
    if (v < 5) {
      for (auto& p : s.topics[0].partitions) p.committed_leader_epoch = -1;
    }
    if (v < 2) s.error = error_code::none;
    expect_round_trips(s, v, encode_offset_fetch_response, decode_offset_fetch_response);
  }
  // v2 null topics: int32 -1. v6: compact null (0), no tags.
  EXPECT_EQ(encoded(offset_fetch_request{"g", std::nullopt, false}, 2, encode_offset_fetch_request),
            "000167" "ffffffff");
  EXPECT_EQ(encoded(offset_fetch_request{"g", std::nullopt, false}, 6, encode_offset_fetch_request),
            "0267" "00" "00");
  // v0-1 cannot be null: the decoder refuses -1 there.
  const std::string null_v1("\x00\x01g\xff\xff\xff\xff", 7);
  reader r(null_v1);
  EXPECT_FALSE(decode_offset_fetch_request(r, 1));
}

TEST(kafka_group_codec, versions_outside_the_range_are_refused_and_junk_never_crashes) {
  reader r(std::string_view{});
  EXPECT_EQ(decode_join_group_request(r, 8).error().code, codec_errc::unsupported_version);
  EXPECT_EQ(decode_offset_fetch_request(r, 8).error().code, codec_errc::unsupported_version);
  EXPECT_EQ(decode_find_coordinator_request(r, 5).error().code, codec_errc::unsupported_version);
  fuzz_decoder(decode_find_coordinator_request, find_coordinator_versions);
  fuzz_decoder(decode_find_coordinator_response, find_coordinator_versions);
  fuzz_decoder(decode_join_group_request, join_group_versions);
  fuzz_decoder(decode_join_group_response, join_group_versions);
  fuzz_decoder(decode_sync_group_request, sync_group_versions);
  fuzz_decoder(decode_sync_group_response, sync_group_versions);
  fuzz_decoder(decode_heartbeat_request, heartbeat_versions);
  fuzz_decoder(decode_heartbeat_response, heartbeat_versions);
  fuzz_decoder(decode_leave_group_request, leave_group_versions);
  fuzz_decoder(decode_leave_group_response, leave_group_versions);
  fuzz_decoder(decode_offset_commit_request, offset_commit_versions);
  fuzz_decoder(decode_offset_commit_response, offset_commit_versions);
  fuzz_decoder(decode_offset_fetch_request, offset_fetch_versions);
  fuzz_decoder(decode_offset_fetch_response, offset_fetch_versions);
}

}  // namespace
}  // namespace chronik::kafka
