// The generated Kafka message codecs (schemas/kafka/*.api, docs/kafka-schemas.md), for every API
// and version in the catalog: samples round-trip, every truncation is refused, lengths that claim
// more than the input are refused before anything is allocated, the catalog agrees with the header
// rules of api.cc, and requests captured from real clients (tests/fuzz/corpus/kafka_request,
// tests/fuzz/capture_corpus.py) decode and encode again byte for byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/catalog.h"
#include "kafka/protocol/messages/samples.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {
namespace {

std::string side_name(bool request) { return request ? "request" : "response"; }

TEST(KafkaMessages, TheCatalogHasEveryDescribedApiOnceInKeyOrder) {
  const auto codecs = message_codecs();
  ASSERT_FALSE(codecs.empty());
  for (std::size_t i = 1; i < codecs.size(); ++i) EXPECT_LT(codecs[i - 1].key, codecs[i].key);
  for (const message_codec& c : codecs) {
    EXPECT_EQ(find_message_codec(c.key), &c);
    EXPECT_LE(c.versions.min, c.versions.max) << c.name;
  }
  EXPECT_EQ(find_message_codec(static_cast<api_key>(999)), nullptr);
}

// The header versions (api.cc) follow the body framing the descriptions declare: a disagreement
// would frame the header of a version one way and its body the other.
TEST(KafkaMessages, TheCatalogAgreesWithTheHeaderRules) {
  for (const message_codec& c : message_codecs()) {
    EXPECT_NE(to_string(c.key), "Unknown") << c.name;
    const std::optional<std::int16_t> flex = first_flexible_version(c.key);
    EXPECT_EQ(flex.value_or(-1), c.first_flexible) << c.name;
    for (std::int16_t v = c.versions.min; v <= c.versions.max; ++v) {
      const bool flexible = c.first_flexible >= 0 && v >= c.first_flexible;
      EXPECT_EQ(body_framing(c.key, v), flexible ? framing::flexible : framing::classic) << c.name << " v" << v;
    }
  }
}

TEST(KafkaMessages, EverySampleOfEveryVersionRoundTrips) {
  int checked = 0;
  for (const message_codec& c : message_codecs()) {
    for (std::int16_t v = c.versions.min; v <= c.versions.max; ++v) {
      for (const bool request : {true, false}) {
        for (std::uint64_t seed = 1; seed <= 40; ++seed) {
          const std::string why = samples::round_trip(c.key, request, v, seed);
          ASSERT_EQ(why, "") << c.name << " v" << v << " " << side_name(request) << " seed " << seed;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

TEST(KafkaMessages, VersionsOutsideTheRangeAreRefusedAsUnsupported) {
  for (const message_codec& c : message_codecs()) {
    for (const std::int16_t v : {static_cast<std::int16_t>(c.versions.min - 1), static_cast<std::int16_t>(c.versions.max + 1)}) {
      auto got = c.reencode_request("", v);
      ASSERT_FALSE(got.has_value()) << c.name << " v" << v;
      EXPECT_EQ(got.error().code, codec_errc::unsupported_version) << c.name << " v" << v;
    }
  }
}

// A strict prefix of a body always misses a field, so it must be refused, whatever byte it ends at.
TEST(KafkaMessages, EveryTruncationOfASampleIsRefused) {
  for (const message_codec& c : message_codecs()) {
    for (std::int16_t v = c.versions.min; v <= c.versions.max; ++v) {
      for (const bool request : {true, false}) {
        const std::string whole = samples::encoded(c.key, request, v, 7);
        const auto reencode = request ? c.reencode_request : c.reencode_response;
        ASSERT_TRUE(reencode(whole, v).has_value()) << c.name << " v" << v;
        for (std::size_t cut = 0; cut < whole.size(); ++cut) {
          EXPECT_FALSE(reencode(std::string_view(whole).substr(0, cut), v).has_value())
              << c.name << " v" << v << " " << side_name(request) << " cut at " << cut << " of " << whole.size();
        }
      }
    }
  }
}

// A body that is only a huge array count: the decoder must refuse it from the count and the bytes
// that remain, not reserve memory for two billion elements first (under ASan an allocation of that
// size would fail the test).
TEST(KafkaMessages, CountsLargerThanTheInputAreRefusedBeforeAllocating) {
  for (const message_codec& c : message_codecs()) {
    for (std::int16_t v = c.versions.min; v <= c.versions.max; ++v) {
      for (const bool request : {true, false}) {
        const auto reencode = request ? c.reencode_request : c.reencode_response;
        // Every field position is tried by prefixing a valid sample's start and then a huge count.
        const std::string whole = samples::encoded(c.key, request, v, 3);
        for (std::size_t at = 0; at <= std::min<std::size_t>(whole.size(), 24); ++at) {
          std::string bad = whole.substr(0, at) + std::string("\x7f\xff\xff\xff", 4) + std::string(8, '\0');
          (void)reencode(bad, v);  // refused or accepted, it must not allocate 2^31 elements
          std::string flexible_bad = whole.substr(0, at) + std::string("\xff\xff\xff\xff\x07", 5);
          (void)reencode(flexible_bad, v);
        }
      }
    }
  }
}

// Requests captured from kcat, kafka-python and confluent-kafka (librdkafka) by
// tests/fuzz/capture_corpus.py: each body must decode and encode again to the very same bytes.
TEST(KafkaMessages, RequestsFromRealClientsReencodeByteForByte) {
  const std::filesystem::path dir = std::filesystem::path(CHRONIK_FUZZ_CORPUS_DIR) / "kafka_request";
  int checked = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("seed-") || name.starts_with("seed-gen-")) continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::string frame(std::istreambuf_iterator<char>(in), {});
    reader r(frame);
    auto header = decode_request_header(r);
    ASSERT_TRUE(header.has_value()) << name;
    const message_codec* c = find_message_codec(header->key);
    ASSERT_NE(c, nullptr) << name;
    const std::string_view body = std::string_view(frame).substr(r.offset());
    auto again = c->reencode_request(body, header->api_version);
    ASSERT_TRUE(again.has_value()) << name << ": " << describe(again.error());
    EXPECT_EQ(*again, body) << name << " (" << c->name << " v" << header->api_version << ")";
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace chronik::kafka
