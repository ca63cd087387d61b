// Transaction markers (KIP-98): the control batches that end a producer's transaction at one
// partition. A marker is a magic-v2 batch with the control and transactional attribute bits, the
// producer's id and epoch, no sequence (-1), and exactly one control record:
//   key:   int16 version (0), int16 type (0 = ABORT, 1 = COMMIT)
//   value: int16 version (0), int32 coordinator epoch
// It takes one offset. Consumers never deliver it to the application; read_committed consumers use
// it to learn where a transaction ended (kafka/partition/producer_state.h keeps the partition's
// side). Control batches are never compressed.
#pragma once

#include <cstdint>
#include <expected>
#include <string>

#include "kafka/protocol/codec_error.h"
#include "kafka/protocol/record_batch.h"

namespace chronik::kafka {

struct txn_marker {
  bool commit = false;
  std::int32_t coordinator_epoch = -1;
  bool operator==(const txn_marker&) const = default;
};

// The whole marker batch, base offset 0 (the leader stamps it like any batch).
std::string build_txn_marker_batch(std::int64_t producer_id, std::int16_t producer_epoch, const txn_marker& m,
                                   std::int64_t timestamp_ms);

// The marker a control batch carries. Errors: not a control batch, compressed, not exactly one
// record, or a record that is not a transaction marker (a newer control record type).
std::expected<txn_marker, codec_error> read_txn_marker(const record_batch_view& batch);

}  // namespace chronik::kafka
