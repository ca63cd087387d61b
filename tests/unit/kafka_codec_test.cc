// The Kafka wire codec (kafka/protocol, docs/kafka.md "Codec"): headers, messages at every
// supported version, hand-computed byte fixtures, record batches and hostile input. The primitive
// types are kafka_wire_test.cc's.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/protocol/api.h"
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/api_versions.h"
#include "kafka/protocol/messages/create_topics.h"
#include "kafka/protocol/messages/delete_topics.h"
#include "kafka/protocol/messages/describe_configs.h"
#include "kafka/protocol/messages/fetch.h"
#include "kafka/protocol/messages/list_offsets.h"
#include "kafka/protocol/messages/metadata.h"
#include "kafka/protocol/messages/produce.h"
#include "kafka/protocol/record_batch.h"
#include "kafka/protocol/wire.h"
#include "tests/unit/hex_bytes.h"

namespace chronik::kafka {
namespace {

using test::hex;
using test::unhex;

// --- helpers ------------------------------------------------------------------------------------

std::string random_bytes(std::mt19937& rng, std::size_t max_size) {
  std::string out(std::uniform_int_distribution<std::size_t>(0, max_size)(rng), '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

// Encodes `sample` at `version`, decodes it, and checks that: the decoder consumed every byte,
// re-encoding gives the same bytes, every strict prefix fails to decode, and corrupted copies
// decode or fail without crashing.
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
  int prefixes_accepted = 0;
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    reader p(std::string_view(bytes).substr(0, n));
    if (decode(p, version)) ++prefixes_accepted;
  }
  EXPECT_EQ(prefixes_accepted, 0) << "v" << version;
  std::mt19937 rng(static_cast<std::uint32_t>(bytes.size() * 31 + version));
  for (int i = 0; i < 64 && !bytes.empty(); ++i) {
    std::string copy = bytes;
    copy[rng() % copy.size()] = static_cast<char>(rng());
    copy[rng() % copy.size()] = static_cast<char>(rng());
    reader m(copy);
    auto result = decode(m, version);
    if (result) {
      writer out;
      encode(*result, version, out);
    }
  }
}

// Random inputs at every version of `range`: the decoder must return, with a value or an error.
template <class Dec>
void fuzz_decoder(Dec decode, version_range range, std::uint32_t seed) {
  std::mt19937 rng(seed);
  for (std::int16_t v = range.min; v <= range.max; ++v) {
    for (int i = 0; i < 400; ++i) {
      const std::string junk = random_bytes(rng, 96);
      reader r(junk);
      (void)decode(r, v);
    }
  }
}


// --- api table and headers ----------------------------------------------------------------------

TEST(kafka_api, flexible_versions_and_header_versions) {
  struct row {
    api_key key;
    std::int16_t first_flexible;
  };
  const row rows[] = {{api_key::produce, 9},        {api_key::fetch, 12},
                      {api_key::list_offsets, 6},   {api_key::metadata, 9},
                      {api_key::api_versions, 3},   {api_key::create_topics, 5},
                      {api_key::delete_topics, 4},  {api_key::describe_configs, 4},
                      {api_key::offset_commit, 8},  {api_key::offset_fetch, 6},
                      {api_key::find_coordinator, 3}};
  for (const auto& r : rows) {
    EXPECT_EQ(first_flexible_version(r.key), r.first_flexible) << to_string(r.key);
    const auto flex = r.first_flexible;
    EXPECT_EQ(request_header_version(r.key, static_cast<std::int16_t>(flex - 1)), 1);
    EXPECT_EQ(request_header_version(r.key, flex), 2);
    const std::int16_t expected_response = r.key == api_key::api_versions ? 0 : 1;
    EXPECT_EQ(response_header_version(r.key, flex), expected_response) << to_string(r.key);
    EXPECT_EQ(response_header_version(r.key, static_cast<std::int16_t>(flex - 1)), 0);
  }
  EXPECT_EQ(first_flexible_version(api_key::sasl_handshake), std::nullopt);
  EXPECT_EQ(request_header_version(static_cast<api_key>(999), 7), 1);
}

TEST(kafka_header, request_header_v1_v2_and_response_headers) {
  const request_header v1{api_key::metadata, 4, 77, "cli"};
  const request_header v2{api_key::metadata, 9, 78, std::nullopt};
  writer w;
  encode_request_header(v1, w);
  EXPECT_EQ(hex(w.buffer()), "0003" "0004" "0000004d" "0003636c69");
  writer w2;
  encode_request_header(v2, w2);
  EXPECT_EQ(hex(w2.buffer()), "0003" "0009" "0000004e" "ffff" "00");
  for (const auto* bytes : {&w.buffer(), &w2.buffer()}) {
    reader r(*bytes);
    auto h = decode_request_header(r);
    ASSERT_TRUE(h) << describe(h.error());
    EXPECT_EQ(r.remaining(), 0u);
  }
  // An unknown tagged field in a v2 header is skipped.
  const std::string tagged_bytes = unhex("00030009000000010000" "01" "0702abcd" "77");
  reader tagged(tagged_bytes);
  auto h = decode_request_header(tagged);
  ASSERT_TRUE(h) << describe(h.error());
  EXPECT_EQ(h->client_id, "");
  EXPECT_EQ(tagged.remaining(), 1u);

  writer r0;
  encode_response_header(5, api_key::metadata, 8, r0);
  EXPECT_EQ(hex(r0.buffer()), "00000005");
  writer r1;
  encode_response_header(5, api_key::metadata, 9, r1);
  EXPECT_EQ(hex(r1.buffer()), "0000000500");
  writer av;
  encode_response_header(5, api_key::api_versions, 3, av);
  EXPECT_EQ(hex(av.buffer()), "00000005");  // ApiVersions: always v0
  reader rr(r1.buffer());
  EXPECT_EQ(decode_response_header(rr, api_key::metadata, 9).value(), 5);
  EXPECT_EQ(rr.remaining(), 0u);
}

TEST(kafka_header, truncated_headers_fail_at_every_prefix) {
  const std::string full = unhex("00120003000000070007" "7264" "6b61666b61" "00");
  reader ok_reader(full);
  ASSERT_TRUE(decode_request_header(ok_reader));
  for (std::size_t n = 0; n < full.size(); ++n) {
    reader r(std::string_view(full).substr(0, n));
    EXPECT_FALSE(decode_request_header(r)) << "prefix " << n;
  }
  const std::string negative_bytes = unhex("0012ffff00000001ffff");
  reader negative(negative_bytes);
  EXPECT_FALSE(decode_request_header(negative));
}

// --- ApiVersions --------------------------------------------------------------------------------

TEST(kafka_api_versions, v0_request_as_kafka_python_sends_it) {
  // Header v1: key 18, version 0, correlation id 1, client id "kafka-python"; empty body.
  const std::string frame = unhex("0012" "0000" "00000001" "000c" "6b61666b612d707974686f6e");
  reader r(frame);
  auto h = decode_request_header(r);
  ASSERT_TRUE(h) << describe(h.error());
  EXPECT_EQ(h->key, api_key::api_versions);
  EXPECT_EQ(h->api_version, 0);
  EXPECT_EQ(h->correlation_id, 1);
  EXPECT_EQ(h->client_id, "kafka-python");
  auto body = decode_api_versions_request(r, h->api_version);
  ASSERT_TRUE(body) << describe(body.error());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(kafka_api_versions, v3_request_as_librdkafka_sends_it) {
  // Header v2 (flexible): classic client id "rdkafka" then an empty tag section; body: compact
  // strings "librdkafka" and "2.0.2", empty tag section.
  const std::string frame = unhex("0012" "0003" "00000002" "0007" "72646b61666b61" "00"
                                  "0b" "6c696272646b61666b61" "06" "322e302e32" "00");
  reader r(frame);
  auto h = decode_request_header(r);
  ASSERT_TRUE(h) << describe(h.error());
  EXPECT_EQ(h->api_version, 3);
  EXPECT_EQ(h->client_id, "rdkafka");
  auto body = decode_api_versions_request(r, h->api_version);
  ASSERT_TRUE(body) << describe(body.error());
  EXPECT_EQ(body->client_software_name, "librdkafka");
  EXPECT_EQ(body->client_software_version, "2.0.2");
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(kafka_api_versions, v0_and_v3_response_bytes) {
  api_versions_response m;
  m.api_keys = {{api_key::api_versions, 0, 3}, {api_key::metadata, 0, 9}};
  writer v0;
  encode_response_header(1, api_key::api_versions, 0, v0);
  encode_api_versions_response(m, 0, v0);
  EXPECT_EQ(hex(v0.buffer()), "00000001" "0000" "00000002" "001200000003" "000300000009");
  writer v3;
  encode_response_header(1, api_key::api_versions, 3, v3);
  encode_api_versions_response(m, 3, v3);
  // Header v0 (no tag byte), then error, compact array (2+1), entries with tag bytes, throttle,
  // and an empty tag section.
  EXPECT_EQ(hex(v3.buffer()),
            "00000001" "0000" "03" "00120000000300" "00030000000900" "00000000" "00");
}

TEST(kafka_api_versions, v3_response_tagged_features_round_trip) {
  api_versions_response m;
  m.error = error_code::unsupported_version;
  m.api_keys = {{api_key::produce, 3, 9}};
  m.throttle_time_ms = 12;
  m.supported_features = {{"metadata.version", 1, 14}};
  m.finalized_features_epoch = 42;
  m.finalized_features = {{"metadata.version", 14, 1}};
  m.zk_migration_ready = true;
  writer w;
  encode_api_versions_response(m, 3, w);
  reader r(w.buffer());
  auto back = decode_api_versions_response(r, 3);
  ASSERT_TRUE(back) << describe(back.error());
  EXPECT_EQ(*back, m);
  // v0 drops what v0 cannot carry.
  writer w0;
  encode_api_versions_response(m, 0, w0);
  reader r0(w0.buffer());
  auto back0 = decode_api_versions_response(r0, 0);
  ASSERT_TRUE(back0);
  EXPECT_EQ(back0->throttle_time_ms, 0);
  EXPECT_TRUE(back0->supported_features.empty());
}

TEST(kafka_api_versions, every_version_round_trips) {
  api_versions_request req{"chronik-test", "1.0"};
  api_versions_response resp;
  resp.api_keys = {{api_key::fetch, 4, 12}, {api_key::produce, 3, 9}};
  resp.throttle_time_ms = 3;
  resp.supported_features = {{"f", 0, 1}};
  for (std::int16_t v = api_versions_versions.min; v <= api_versions_versions.max; ++v) {
    expect_round_trips(req, v, encode_api_versions_request, decode_api_versions_request);
    expect_round_trips(resp, v, encode_api_versions_response, decode_api_versions_response);
  }
  reader r(std::string_view{});
  EXPECT_EQ(decode_api_versions_request(r, 5).error().code, codec_errc::unsupported_version);
}

// --- Metadata -----------------------------------------------------------------------------------

TEST(kafka_metadata, v0_request_as_kafka_python_sends_it) {
  // kafka-python's bootstrap: Metadata v0 with an empty topic array (= all topics).
  const std::string frame = unhex("0003" "0000" "00000002" "000c" "6b61666b612d707974686f6e"
                                  "00000000");
  reader r(frame);
  auto h = decode_request_header(r);
  ASSERT_TRUE(h) << describe(h.error());
  EXPECT_EQ(h->key, api_key::metadata);
  EXPECT_EQ(h->correlation_id, 2);
  auto body = decode_metadata_request(r, h->api_version);
  ASSERT_TRUE(body) << describe(body.error());
  // The codec keeps the empty list; that v0 means all topics by it is the handler's rule
  // (kafka_handlers_test metadata_empty_list_means_all_topics_in_v0_only).
  EXPECT_EQ(body->topics, std::vector<metadata_request_topic>{});
  EXPECT_EQ(r.remaining(), 0u);
  // v1+: an empty array means no topics, null means all.
  const std::string v1_bytes = unhex("00000000");
  reader v1(v1_bytes);
  EXPECT_EQ(decode_metadata_request(v1, 1)->topics, std::vector<metadata_request_topic>{});
  const std::string v1_null_bytes = unhex("ffffffff");
  reader v1_null(v1_null_bytes);
  EXPECT_EQ(decode_metadata_request(v1_null, 1)->topics, std::nullopt);
  const std::string v0_null_bytes = unhex("ffffffff");
  reader v0_null(v0_null_bytes);
  EXPECT_FALSE(decode_metadata_request(v0_null, 0));  // v0's array is not nullable
  writer v0_all;
  encode_metadata_request(metadata_request{}, 0, v0_all);  // null goes out as v0's "all": empty
  EXPECT_EQ(hex(v0_all.buffer()), "00000000");
}

TEST(kafka_metadata, v0_response_bytes) {
  metadata_response m;
  m.brokers = {{1, "h", 9092, std::nullopt}};
  m.topics = {{error_code::none, "t", uuid{}, false, {{error_code::none, 0, 1, -1, {1}, {1}, {}}}}};
  writer w;
  encode_metadata_response(m, 0, w);
  EXPECT_EQ(hex(w.buffer()),
            "00000001" "00000001" "000168" "00002384"                 // brokers
            "00000001" "0000" "000174"                                // topic t
            "00000001" "0000" "00000000" "00000001" "0000000100000001" "0000000100000001");
}

// v12 by hand (round trips cannot catch an encoder and decoder wrong alike): a topic asked for by
// id with a null name, and the answer for an unknown id, null-named, without v8-10's cluster
// authorized operations.
TEST(kafka_metadata, v12_by_topic_id_bytes) {
  const uuid id{0xab, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xcd};
  const std::string id_hex = "ab" "0000000000000000000000000000" "cd";
  metadata_request req;
  req.topics = std::vector<metadata_request_topic>{{.topic_id = id}};
  writer w;
  encode_metadata_request(req, 12, w);
  // topics [1] {id, null name, no tags}, allow auto-creation, topic authorized ops, no tags
  const std::string req_hex = "02" + id_hex + "00" "00" "01" "00" "00";
  EXPECT_EQ(hex(w.buffer()), req_hex);
  reader r(w.buffer());
  EXPECT_EQ(decode_metadata_request(r, 12).value(), req);

  metadata_response resp;
  resp.brokers = {{1, "h", 9092, std::nullopt}};
  resp.controller_id = 1;
  resp.topics = {{.error = error_code::unknown_topic_id, .topic_id = id}};
  writer rw;
  encode_metadata_response(resp, 12, rw);
  EXPECT_EQ(hex(rw.buffer()), "00000000"                                  // throttle
                              "02" "00000001" "0268" "00002384" "00" "00"  // broker 1 h:9092
                              "00" "00000001"                              // cluster id, controller
                              "02" "0064" "00" + id_hex +                  // UNKNOWN_TOPIC_ID, null
                              "00" "01" "80000000" "00"                    // not internal, no parts
                              "00");
}

metadata_response sample_metadata_response() {
  metadata_response m;
  m.throttle_time_ms = 7;
  m.brokers = {{1, "10.0.0.1", 9092, "rack-a"}, {2, "10.0.0.2", 9093, std::nullopt}};
  m.cluster_id = "cluster-xyz";
  m.controller_id = 1;
  m.topics = {{error_code::none, "orders", uuid{4, 2}, false,
               {{error_code::none, 0, 1, 5, {1, 2}, {1, 2}, {}},
                {error_code::leader_not_available, 1, -1, 5, {2, 1}, {2}, {1}}},
               8},
              {error_code::unknown_topic_or_partition, "missing", uuid{}, false, {}, 0}};
  m.cluster_authorized_operations = 0;
  return m;
}

TEST(kafka_metadata, every_version_round_trips) {
  metadata_request req;
  req.topics = std::vector<metadata_request_topic>{{.name = "orders"}, {.name = "payments"}};
  req.allow_auto_topic_creation = false;
  req.include_cluster_authorized_operations = true;
  req.include_topic_authorized_operations = true;
  metadata_request all;
  const auto resp = sample_metadata_response();
  for (std::int16_t v = metadata_versions.min; v <= metadata_versions.max; ++v) {
    expect_round_trips(req, v, encode_metadata_request, decode_metadata_request);
    // v0 cannot carry null: it goes out as the empty list that means all topics there.
    if (v > 0) expect_round_trips(all, v, encode_metadata_request, decode_metadata_request);
    expect_round_trips(resp, v, encode_metadata_response, decode_metadata_response);
  }
  // v10 is the one version that carries every field of the sample (v11 drops the cluster's
  // authorized operations).
  writer w;
  encode_metadata_response(resp, 10, w);
  reader r(w.buffer());
  EXPECT_EQ(decode_metadata_response(r, 10).value(), resp);
}

// --- CreateTopics -------------------------------------------------------------------------------

TEST(kafka_create_topics, every_version_round_trips) {
  create_topics_request req;
  req.topics = {{"orders", 3, 2, {}, {{"cleanup.policy", "compact"}, {"retention.ms", {}}}},
                {"manual", -1, -1, {{0, {1, 2}}, {1, {2, 3}}}, {}}};
  req.timeout_ms = 5000;
  req.validate_only = true;
  create_topics_response resp;
  resp.throttle_time_ms = 4;
  uuid id{};
  id[0] = 0xAB;
  id[15] = 0xCD;
  resp.topics = {
      {"orders", id, error_code::none, std::nullopt, error_code::none, 3, 2,
       std::vector<created_topic_config>{{"cleanup.policy", "compact", false, 1, false}}},
      {"bad", uuid{}, error_code::invalid_replication_factor, "replication factor 5 > 3 brokers",
       error_code::invalid_config, -1, -1, std::nullopt}};
  for (std::int16_t v = create_topics_versions.min; v <= create_topics_versions.max; ++v) {
    expect_round_trips(req, v, encode_create_topics_request, decode_create_topics_request);
    expect_round_trips(resp, v, encode_create_topics_response, decode_create_topics_response);
  }
  writer w;
  encode_create_topics_response(resp, 7, w);
  reader r(w.buffer());
  EXPECT_EQ(decode_create_topics_response(r, 7).value(), resp);
}

TEST(kafka_create_topics, v0_request_bytes) {
  create_topics_request req;
  req.topics = {{"t", 1, 1, {}, {}}};
  req.timeout_ms = 1000;
  writer w;
  encode_create_topics_request(req, 0, w);
  EXPECT_EQ(hex(w.buffer()),
            "00000001" "000174" "00000001" "0001" "00000000" "00000000" "000003e8");
}

// --- Produce, Fetch, ListOffsets ----------------------------------------------------------------

TEST(kafka_produce, every_version_round_trips) {
  const produce_request req{"txn-1", -1, 30000,
                            {{"orders", {{0, "batch-bytes"}, {1, std::nullopt}}}, {"empty", {}}}};
  const produce_response resp{{{"orders",
                                {{0, error_code::none, 42, -1, 0, {}, std::nullopt},
                                 {1, error_code::corrupt_message, -1, -1, -1,
                                  {{3, "bad record"}, {4, std::nullopt}}, "batch rejected"}}}},
                              9};
  for (std::int16_t v = produce_versions.min; v <= produce_versions.max; ++v) {
    expect_round_trips(req, v, encode_produce_request, decode_produce_request);
    expect_round_trips(resp, v, encode_produce_response, decode_produce_response);
  }
  writer w;
  encode_produce_response(resp, 9, w);
  reader r(w.buffer());
  EXPECT_EQ(decode_produce_response(r, 9).value(), resp);
}

TEST(kafka_produce, v3_request_bytes) {
  const produce_request req{std::nullopt, 1, 1000, {{"t", {{0, "xy"}}}}};
  writer w;
  encode_produce_request(req, 3, w);
  EXPECT_EQ(hex(w.buffer()),
            "ffff" "0001" "000003e8" "00000001" "000174" "00000001" "00000000" "000000027879");
  writer flex;
  encode_produce_request(req, 9, flex);
  EXPECT_EQ(hex(flex.buffer()), "00" "0001" "000003e8" "02" "0274" "02" "00000000" "037879" "00"
                                "00" "00");
}

fetch_request sample_fetch_request() {
  return {.cluster_id = "cluster-xyz", .max_wait_ms = 500, .min_bytes = 1, .max_bytes = 52428800,
          .isolation_level = 1, .session_id = 12, .session_epoch = 3,
          .topics = {{.topic = "orders", .topic_id = uuid{0x0d, 1},
                      .partitions = {{0, 5, 100, 4, -1, 1048576}, {1, 5, 7, 4, -1, 1048576}}}},
          .forgotten_topics = {{.topic = "old", .topic_id = uuid{0x0d, 2}, .partitions = {2, 3}}},
          .rack_id = "rack-a"};
}

fetch_response sample_fetch_response() {
  const fetch_partition_response p0{
      .partition_index = 0, .high_watermark = 120, .last_stable_offset = 120,
      .log_start_offset = 0, .diverging_epoch = epoch_end_offset{4, 99},
      .current_leader = leader_id_and_epoch{2, 5}, .snapshot = snapshot_id{50, 3},
      .aborted_transactions = std::vector<aborted_transaction>{{7, 10}},
      .preferred_read_replica = 2, .records = std::string("\x00\x01\x02", 3)};
  const fetch_partition_response p1{.partition_index = 1,
                                    .error = error_code::not_leader_or_follower};
  return {.throttle_time_ms = 1, .session_id = 12,
          .topics = {{.topic = "orders", .topic_id = uuid{0x0d, 1}, .partitions = {p0, p1}}}};
}

TEST(kafka_fetch, every_version_round_trips) {
  const auto req = sample_fetch_request();
  const auto resp = sample_fetch_response();
  for (std::int16_t v = fetch_versions.min; v <= fetch_versions.max; ++v) {
    expect_round_trips(req, v, encode_fetch_request, decode_fetch_request);
    expect_round_trips(resp, v, encode_fetch_response, decode_fetch_response);
  }
  // v12 carries every field of the samples but the topic ids, v13 every one but the names.
  for (std::int16_t v : {12, 13}) {
    auto want_req = req;
    auto want_resp = resp;
    const auto keep_one = [v](auto& topic) { v >= 13 ? topic.topic.clear() : void(topic.topic_id = uuid{}); };
    std::ranges::for_each(want_req.topics, keep_one);
    std::ranges::for_each(want_req.forgotten_topics, keep_one);
    std::ranges::for_each(want_resp.topics, keep_one);
    writer w;
    encode_fetch_request(req, v, w);
    reader r(w.buffer());
    EXPECT_EQ(decode_fetch_request(r, v).value(), want_req) << "v" << v;
    writer rw;
    encode_fetch_response(resp, v, rw);
    reader rr(rw.buffer());
    EXPECT_EQ(decode_fetch_response(rr, v).value(), want_resp) << "v" << v;
  }
  // Below v12 the tagged fields cannot travel.
  writer old;
  encode_fetch_response(resp, 11, old);
  reader ro(old.buffer());
  EXPECT_EQ(decode_fetch_response(ro, 11).value().topics[0].partitions[0].diverging_epoch,
            std::nullopt);
}

TEST(kafka_fetch, v12_partition_tags_bytes) {
  fetch_response m;
  fetch_partition_response p;
  p.high_watermark = 1;
  p.current_leader = leader_id_and_epoch{2, 5};
  m.topics = {{.topic = "t", .partitions = {p}}};
  writer w;
  encode_fetch_response(m, 12, w);
  // throttle, error, session, topics(1+1), "t", partitions(1+1), index, error, hw, lso, lso-start,
  // aborted null (0), preferred replica, records null (0), tags: 1 field, tag 1, 9 bytes.
  EXPECT_EQ(hex(w.buffer()), "00000000" "0000" "00000000" "02" "0274" "02" "00000000" "0000"
                             "0000000000000001" "ffffffffffffffff" "ffffffffffffffff" "00"
                             "ffffffff" "00" "01" "01" "09" "00000002" "00000005" "00" "00" "00");
}

// v13 (KIP-516) by hand: the topic is its 16-byte id where v12 had its name, in the request and
// the answer.
TEST(kafka_fetch, v13_topic_id_bytes) {
  const uuid id{0xab, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xcd};
  const std::string id_hex = "ab" "0000000000000000000000000000" "cd";
  fetch_request req;
  req.max_wait_ms = 500;
  req.min_bytes = 1;
  req.topics = {{.topic = "ignored", .topic_id = id, .partitions = {{.partition = 0, .fetch_offset = 7}}}};
  writer w;
  encode_fetch_request(req, 13, w);
  // replica -1, max wait, min bytes, max bytes, isolation, session 0, epoch -1, topics [1] {id,
  // partitions [1] {0, epoch -1, offset 7, last epoch -1, log start -1, max 0, no tags}, no tags},
  // forgotten [0], rack "", no tags
  EXPECT_EQ(hex(w.buffer()), "ffffffff" "000001f4" "00000001" "7fffffff" "00" "00000000" "ffffffff"
                             "02" + id_hex + "02" "00000000" "ffffffff" "0000000000000007" "ffffffff"
                             "ffffffffffffffff" "00000000" "00" "00" "01" "01" "00");
  reader r(w.buffer());
  auto back = decode_fetch_request(r, 13);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->topics.at(0).topic_id, id);
  EXPECT_EQ(back->topics.at(0).topic, "") << "not on the wire in v13";

  fetch_response m;
  const fetch_partition_response unknown{.partition_index = 0, .error = error_code::unknown_topic_id};
  m.topics = {{.topic = "ignored", .topic_id = id, .partitions = {unknown}}};
  writer rw;
  encode_fetch_response(m, 13, rw);
  // throttle, error, session, topics [1] {id, partitions [1] {0, UNKNOWN_TOPIC_ID, hw -1, lso -1,
  // log start -1, aborted null, preferred -1, records null, no tags}, no tags}, no tags
  EXPECT_EQ(hex(rw.buffer()), "00000000" "0000" "00000000" "02" + id_hex + "02" "00000000" "0064"
                              "ffffffffffffffff" "ffffffffffffffff" "ffffffffffffffff" "00" "ffffffff" "00"
                              "00" "00" "00");
}

TEST(kafka_list_offsets, every_version_round_trips) {
  const list_offsets_request req{-1, 1, {{"orders", {{0, 5, list_offsets_earliest, 1},
                                                     {1, 5, 1700000000000, 1}}}}};
  const list_offsets_response resp{
      2, {{"orders", {{0, error_code::none, {0}, -1, 0, 5},
                      {1, error_code::offset_not_available, {}, 1700000000123, 77, 5}}}}};
  for (std::int16_t v = list_offsets_versions.min; v <= list_offsets_versions.max; ++v) {
    expect_round_trips(req, v, encode_list_offsets_request, decode_list_offsets_request);
    expect_round_trips(resp, v, encode_list_offsets_response, decode_list_offsets_response);
  }
}

// --- DeleteTopics, DescribeConfigs ---------------------------------------------------------------

TEST(kafka_delete_topics, every_version_round_trips) {
  uuid id{};
  id[3] = 9;
  // v0-5 carry plain names, v6 {name, id} entries (KIP-516).
  const delete_topics_request by_name{{"orders", "payments"}, {}, 15000};
  const delete_topics_request req{{}, {{"orders", uuid{}}, {"payments", id}}, 15000};
  const delete_topics_response resp{
      3, {{"orders", uuid{}, error_code::none, std::nullopt},
          {"missing", id, error_code::unknown_topic_or_partition, "no such topic"}}};
  for (std::int16_t v = delete_topics_versions.min; v <= delete_topics_versions.max; ++v) {
    expect_round_trips(v >= 6 ? req : by_name, v, encode_delete_topics_request, decode_delete_topics_request);
    expect_round_trips(resp, v, encode_delete_topics_response, decode_delete_topics_response);
  }
  const delete_topics_request by_id{{}, {{std::nullopt, id}}, 1000};
  expect_round_trips(by_id, 6, encode_delete_topics_request, decode_delete_topics_request);
  writer w;
  encode_delete_topics_request(by_name, 4, w);  // flexible string array: no per-element tags
  EXPECT_EQ(hex(w.buffer()), "03" "076f7264657273" "097061796d656e7473" "00003a98" "00");
}

TEST(kafka_describe_configs, every_version_round_trips) {
  const describe_configs_request req{
      {{config_resource_type::topic, "orders", std::vector<std::string>{"retention.ms"}},
       {config_resource_type::broker, "1", std::nullopt}},
      true, true};
  const describe_configs_response resp{
      5, {{error_code::none, std::nullopt, config_resource_type::topic, "orders",
           {{"retention.ms", "604800000", false, false, 5, false,
             {{"log.retention.ms", "604800000", 5}}, 5, "How long to keep"},
            {"secret", std::nullopt, true, true, -1, true, {}, 9, std::nullopt}}},
          {error_code::unknown_topic_or_partition, "gone", config_resource_type::topic, "x", {}}}};
  for (std::int16_t v = describe_configs_versions.min; v <= describe_configs_versions.max; ++v) {
    expect_round_trips(req, v, encode_describe_configs_request, decode_describe_configs_request);
    expect_round_trips(resp, v, encode_describe_configs_response, decode_describe_configs_response);
  }
}

// --- record batches ------------------------------------------------------------------------------

// One uncompressed record (key 01020304, value 050607, one header) as IBM/sarama's record_test.go
// encodes it; its CRC-32C 0x547961fd was checked independently of this code.
const std::string known_batch = unhex(
    "0000000000000000" "00000046" "00000000" "02" "547961fd" "0000" "00000000" "000001588dcd5938"
    "0000000000000000" "0000000000000000" "0000" "00000000" "00000001"
    "28000a000801020304060506070206" "08090a040b0c");

TEST(kafka_record_batch, known_batch_header_and_crc) {
  auto h = parse_record_batch_header(known_batch);
  ASSERT_TRUE(h) << describe(h.error());
  EXPECT_EQ(h->batch_length, 70);
  EXPECT_EQ(h->size_bytes(), known_batch.size());
  EXPECT_EQ(h->crc, 0x547961fdu);
  EXPECT_EQ(h->base_timestamp, 1479847795000);
  EXPECT_EQ(h->records_count, 1);
  EXPECT_EQ(h->compression(), compression_type::none);
  EXPECT_EQ(compute_record_batch_crc(known_batch), 0x547961fdu);
  auto batches = split_record_batches(known_batch);
  ASSERT_TRUE(batches) << describe(batches.error());
  ASSERT_EQ(batches->size(), 1u);
  // build_record_batch reproduces the bytes from the header and the records.
  const std::string_view payload = std::string_view(known_batch).substr(61);
  EXPECT_EQ(hex(build_record_batch(*h, payload)), hex(known_batch));
}

TEST(kafka_record_batch, rewriting_offset_and_epoch_keeps_the_crc) {
  std::string records = known_batch + known_batch;
  set_base_offset(records, known_batch.size(), 1000);
  set_partition_leader_epoch(records, known_batch.size(), 7);
  auto batches = split_record_batches(records);
  ASSERT_TRUE(batches) << describe(batches.error());
  ASSERT_EQ(batches->size(), 2u);
  EXPECT_EQ((*batches)[1].header.base_offset, 1000);
  EXPECT_EQ((*batches)[1].header.partition_leader_epoch, 7);
  EXPECT_EQ((*batches)[1].header.last_offset(), 1000);
  EXPECT_EQ((*batches)[1].offset, known_batch.size());
  // A flipped bit inside the CRC's range is detected, with the batch's CRC offset.
  records[known_batch.size() + 70] ^= 0x01;
  auto bad = split_record_batches(records);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, codec_errc::crc_mismatch);
  EXPECT_EQ(bad.error().offset, known_batch.size() + 17);
  EXPECT_TRUE(split_record_batches(records, crc_check::skip));
}

TEST(kafka_record_batch, attributes_magic_and_truncation) {
  record_batch_header h;
  h.attributes = 0x3C | 4;  // zstd, log-append time, transactional, control
  const std::string zstd = build_record_batch(h, "");
  auto parsed = parse_record_batch_header(zstd);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->compression(), compression_type::zstd);
  EXPECT_EQ(parsed->timestamp(), timestamp_type::log_append_time);
  EXPECT_TRUE(parsed->is_transactional() && parsed->is_control());
  for (const int magic : {0, 1}) {
    std::string legacy = known_batch;
    legacy[16] = static_cast<char>(magic);
    EXPECT_EQ(split_record_batches(legacy).error().code, codec_errc::unsupported_magic);
  }
  std::string bad_length = known_batch;
  bad_length[11] = 10;  // batchLength below the header size
  EXPECT_EQ(parse_record_batch_header(bad_length).error().code, codec_errc::corrupt_batch);
  const std::string two = known_batch + known_batch;
  for (std::size_t n = 1; n < two.size(); ++n) {
    const std::string_view prefix = std::string_view(two).substr(0, n);
    const bool whole = n == known_batch.size();
    EXPECT_EQ(split_record_batches(prefix).has_value(), whole) << n;
    auto lenient = split_record_batches(prefix, crc_check::verify, trailing_partial::ignore);
    ASSERT_TRUE(lenient) << n;
    EXPECT_EQ(lenient->size(), n >= known_batch.size() ? 1u : 0u) << n;
  }
  EXPECT_EQ(split_record_batches("")->size(), 0u);
}

// --- hostile input ------------------------------------------------------------------------------

TEST(kafka_fuzz, decoders_survive_garbage) {
  fuzz_decoder(decode_api_versions_request, api_versions_versions, 1);
  fuzz_decoder(decode_api_versions_response, api_versions_versions, 2);
  fuzz_decoder(decode_metadata_request, metadata_versions, 3);
  fuzz_decoder(decode_metadata_response, metadata_versions, 4);
  fuzz_decoder(decode_create_topics_request, create_topics_versions, 5);
  fuzz_decoder(decode_create_topics_response, create_topics_versions, 6);
  fuzz_decoder(decode_produce_request, produce_versions, 7);
  fuzz_decoder(decode_produce_response, produce_versions, 8);
  fuzz_decoder(decode_fetch_request, fetch_versions, 9);
  fuzz_decoder(decode_fetch_response, fetch_versions, 10);
  fuzz_decoder(decode_list_offsets_request, list_offsets_versions, 11);
  fuzz_decoder(decode_list_offsets_response, list_offsets_versions, 12);
  fuzz_decoder(decode_delete_topics_request, delete_topics_versions, 13);
  fuzz_decoder(decode_delete_topics_response, delete_topics_versions, 14);
  fuzz_decoder(decode_describe_configs_request, describe_configs_versions, 15);
  fuzz_decoder(decode_describe_configs_response, describe_configs_versions, 16);
  std::mt19937 rng(17);
  for (int i = 0; i < 2000; ++i) {
    const std::string junk = random_bytes(rng, 32);
    reader r(junk);
    (void)decode_request_header(r);
    std::string batch = known_batch;
    batch[rng() % batch.size()] = static_cast<char>(rng());
    (void)split_record_batches(batch);
    (void)split_record_batches(junk, crc_check::verify, trailing_partial::ignore);
  }
}

}  // namespace
}  // namespace chronik::kafka
