// kafka/protocol/txn_marker: the control batch that ends a transaction at a partition (KIP-98),
// laid out as Kafka's EndTransactionMarker: one record, key (version 0, type), value (version 0,
// coordinator epoch), in a batch with the control and transactional bits and no sequence.
#include "kafka/protocol/txn_marker.h"

#include <gtest/gtest.h>

#include "kafka/protocol/record_batch.h"

namespace chronik::kafka {
namespace {

record_batch_view only_batch(const std::string& bytes) {
  auto batches = split_record_batches(bytes, crc_check::verify);
  EXPECT_TRUE(batches.has_value());
  EXPECT_EQ(batches->size(), 1u);
  return batches->front();
}

TEST(txn_marker, a_marker_batch_round_trips_with_kafkas_layout) {
  const std::string bytes = build_txn_marker_batch(4242, 7, txn_marker{true, 19}, 1'700'000'000'000);
  const record_batch_view v = only_batch(bytes);
  EXPECT_TRUE(v.header.is_control());
  EXPECT_TRUE(v.header.is_transactional());
  EXPECT_EQ(v.header.producer_id, 4242);
  EXPECT_EQ(v.header.producer_epoch, 7);
  EXPECT_EQ(v.header.base_sequence, -1);
  EXPECT_EQ(v.header.records_count, 1);
  // The record after the 61-byte header: length 16 (zigzag 32), attributes 0, timestamp delta 0, offset delta 0,
  // key length 4 (zigzag 8), key 00 00 00 01 (version 0, COMMIT), value length 6 (zigzag 12),
  // value 00 00 00 00 00 13 (version 0, coordinator epoch 19), no headers.
  const std::string record = bytes.substr(record_batch_header_size);
  EXPECT_EQ(record, std::string("\x20\x00\x00\x00\x08\x00\x00\x00\x01\x0c\x00\x00\x00\x00\x00\x13\x00", 17));
  auto m = read_txn_marker(v);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, (txn_marker{true, 19}));
  auto abort = read_txn_marker(only_batch(build_txn_marker_batch(1, 0, txn_marker{false, 0}, 0)));
  ASSERT_TRUE(abort);
  EXPECT_FALSE(abort->commit);
}

TEST(txn_marker, other_batches_and_other_control_records_are_refused) {
  std::string bytes = build_txn_marker_batch(1, 0, txn_marker{true, 3}, 0);
  // A newer control record type (KRaft's leader change is 2) is no transaction marker.
  std::string other = bytes;
  other[record_batch_header_size + 8] = '\x02';
  record_batch_header h = *parse_record_batch_header(other);
  h.crc = compute_record_batch_crc(other);
  auto patched = build_record_batch(h, std::string_view(other).substr(record_batch_header_size));
  EXPECT_FALSE(read_txn_marker(only_batch(patched)));
  // A data batch.
  record_batch_header data;
  data.records_count = 1;
  const std::string plain = build_record_batch(data, std::string_view(bytes).substr(record_batch_header_size));
  EXPECT_FALSE(read_txn_marker(only_batch(plain)));
}

}  // namespace
}  // namespace chronik::kafka
