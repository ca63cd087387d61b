// Hand-laid bytes for the transactional producer codecs (schemas/kafka/init_producer_id.api,
// end_txn.api, txn_offset_commit.api, list_transactions.api). The round-trip and truncation checks
// of every API and version live in kafka_messages_test; these pin the wire layout itself, written
// out field by field from Kafka's message definitions (KIP-98, KIP-360, KIP-447, KIP-994), so a
// description that round-trips but puts a field in the wrong place or version cannot pass.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "kafka/protocol/messages/end_txn.h"
#include "kafka/protocol/messages/init_producer_id.h"
#include "kafka/protocol/messages/list_transactions.h"
#include "kafka/protocol/messages/txn_offset_commit.h"
#include "tests/unit/hex_bytes.h"

namespace chronik::kafka {
namespace {

using test::hex;
using test::unhex;

template <class T, class Enc>
std::string encoded(const T& m, std::int16_t version, Enc encode) {
  writer w;
  encode(m, version, w);
  return hex(w.buffer());
}

// Decodes hex `text` at `version` and requires every byte to be consumed.
template <class Dec>
auto decoded(std::string_view text, std::int16_t version, Dec decode) {
  const std::string bytes = unhex(text);
  reader r(bytes);
  auto m = decode(r, version);
  EXPECT_TRUE(m) << "v" << version << ": " << (m ? "" : describe(m.error()));
  EXPECT_EQ(r.remaining(), 0u) << "v" << version;
  return m ? *m : typename decltype(m)::value_type{};
}

// --- InitProducerId ----------------------------------------------------------------------------

TEST(kafka_txn_codec, init_producer_id_v0_request_bytes) {
  // Classic framing: int16-length nullable string, then the int32 timeout; v0 has no producer
  // id or epoch, so the decoder leaves both at -1.
  const init_producer_id_request txn{"tx", 60'000};
  EXPECT_EQ(encoded(txn, 0, encode_init_producer_id_request), "0002" "7478" "0000ea60");
  EXPECT_EQ(decoded("0002 7478 0000ea60", 0, decode_init_producer_id_request), txn);
  // An idempotent producer without a transactional id sends a null string (length -1).
  const init_producer_id_request idempotent{std::nullopt, 0};
  EXPECT_EQ(encoded(idempotent, 1, encode_init_producer_id_request), "ffff" "00000000");
  EXPECT_EQ(decoded("ffff 00000000", 1, decode_init_producer_id_request), idempotent);
}

TEST(kafka_txn_codec, init_producer_id_v3_request_bytes) {
  // Flexible (v2+): compact nullable string (length + 1), then timeout; v3 appends the producer
  // id and epoch the producer already holds (KIP-360), then an empty tagged-field section.
  const init_producer_id_request resume{"tx", 60'000, 1000, 5};
  EXPECT_EQ(encoded(resume, 3, encode_init_producer_id_request),
            "03" "7478" "0000ea60" "00000000000003e8" "0005" "00");
  EXPECT_EQ(decoded("03 7478 0000ea60 00000000000003e8 0005 00", 3,
                    decode_init_producer_id_request),
            resume);
  // A new producer: null id is compact length 0, and -1/-1 for "none yet".
  const init_producer_id_request fresh{std::nullopt, 60'000, -1, -1};
  EXPECT_EQ(encoded(fresh, 3, encode_init_producer_id_request),
            "00" "0000ea60" "ffffffffffffffff" "ffff" "00");
  // v2 is flexible but has no producer fields: they are not written, and read back as -1.
  EXPECT_EQ(encoded(resume, 2, encode_init_producer_id_request), "03" "7478" "0000ea60" "00");
  EXPECT_EQ(decoded("03 7478 0000ea60 00", 2, decode_init_producer_id_request),
            (init_producer_id_request{"tx", 60'000, -1, -1}));
}

TEST(kafka_txn_codec, init_producer_id_v2_response_bytes) {
  // throttle_time_ms, error, producer id, epoch, empty tags.
  const init_producer_id_response granted{0, error_code::none, 4096, 0};
  EXPECT_EQ(encoded(granted, 2, encode_init_producer_id_response),
            "00000000" "0000" "0000000000001000" "0000" "00");
  EXPECT_EQ(decoded("00000000 0000 0000000000001000 0000 00", 2,
                    decode_init_producer_id_response),
            granted);
  const init_producer_id_response refused{7, error_code::invalid_producer_epoch, -1, -1};
  EXPECT_EQ(encoded(refused, 2, encode_init_producer_id_response),
            "00000007" "002f" "ffffffffffffffff" "ffff" "00");
  // v0 and v1 are the same fields without the tagged section.
  EXPECT_EQ(encoded(refused, 0, encode_init_producer_id_response),
            "00000007" "002f" "ffffffffffffffff" "ffff");
}

// --- EndTxn ------------------------------------------------------------------------------------

TEST(kafka_txn_codec, end_txn_v3_bytes) {
  // Compact string, producer id, epoch, committed as one byte, empty tags.
  const end_txn_request commit{"tx", 1000, 5, true};
  EXPECT_EQ(encoded(commit, 3, encode_end_txn_request),
            "03" "7478" "00000000000003e8" "0005" "01" "00");
  EXPECT_EQ(decoded("03 7478 00000000000003e8 0005 01 00", 3, decode_end_txn_request), commit);
  // A tagged field this version does not define is skipped: one field, tag 5, two bytes.
  EXPECT_EQ(decoded("03 7478 00000000000003e8 0005 01 01 05 02 abcd", 3, decode_end_txn_request),
            commit);
  // v2 (classic) for contrast: int16-length string and no tagged section.
  const end_txn_request abort{"tx", 1000, 5, false};
  EXPECT_EQ(encoded(abort, 2, encode_end_txn_request), "0002" "7478" "00000000000003e8" "0005" "00");

  const end_txn_response fenced{0, error_code::invalid_producer_epoch};
  EXPECT_EQ(encoded(fenced, 3, encode_end_txn_response), "00000000" "002f" "00");
  EXPECT_EQ(decoded("00000000 002f 00", 3, decode_end_txn_response), fenced);
  EXPECT_EQ(encoded(fenced, 4, encode_end_txn_response), "00000000" "002f" "00");
}

// --- TxnOffsetCommit ---------------------------------------------------------------------------

TEST(kafka_txn_codec, txn_offset_commit_v2_and_v3_request_bytes) {
  txn_offset_commit_request m;
  m.transactional_id = "tx";
  m.group_id = "g";
  m.producer_id = 1000;
  m.producer_epoch = 5;
  m.generation_id = 3;
  m.member_id = "m";
  m.topics = {{"t", {{0, 42, 7, std::nullopt}}}};
  // v3 (KIP-447): the member's generation, id and (null) instance id after the epoch; compact
  // arrays carry count + 1; every struct ends with its own empty tagged section.
  EXPECT_EQ(encoded(m, 3, encode_txn_offset_commit_request),
            "037478" "0267" "00000000000003e8" "0005"
            "00000003" "026d" "00"
            "02" "0274"
            "02" "00000000" "000000000000002a" "00000007" "00" "00"
            "00"
            "00");
  // v2: classic framing, no member fields, but the committed leader epoch is there.
  EXPECT_EQ(encoded(m, 2, encode_txn_offset_commit_request),
            "00027478" "000167" "00000000000003e8" "0005"
            "00000001" "000174"
            "00000001" "00000000" "000000000000002a" "00000007" "ffff");
  // v1 lacks the leader epoch too; reading it back gives the defaults -1 and "".
  txn_offset_commit_request v1 = m;
  v1.generation_id = -1;
  v1.member_id.clear();
  v1.topics[0].partitions[0].committed_leader_epoch = -1;
  EXPECT_EQ(decoded("00027478 000167 00000000000003e8 0005 00000001 000174"
                    "00000001 00000000 000000000000002a ffff",
                    1, decode_txn_offset_commit_request),
            v1);
}

// --- ListTransactions --------------------------------------------------------------------------

TEST(kafka_txn_codec, list_transactions_duration_filter_is_v1_only) {
  const list_transactions_request req{{"Ongoing"}, {1000}, 60'000};
  // v1 (KIP-994): state filters, producer id filters, then the int64 duration filter.
  EXPECT_EQ(encoded(req, 1, encode_list_transactions_request),
            "02" "084f6e676f696e67" "02" "00000000000003e8" "000000000000ea60" "00");
  EXPECT_EQ(encoded(req, 0, encode_list_transactions_request),
            "02" "084f6e676f696e67" "02" "00000000000003e8" "00");
  EXPECT_EQ(decoded("02 084f6e676f696e67 02 00000000000003e8 00", 0,
                    decode_list_transactions_request),
            (list_transactions_request{{"Ongoing"}, {1000}, -1}));
}

}  // namespace
}  // namespace chronik::kafka
