// Idempotent producers' state in one partition (docs/kafka.md "Idempotent producers"; KIP-98,
// KIP-360). Pure: no I/O, no clock.
//
// A producer with an id numbers its batches per partition: each batch carries the producer id,
// its epoch and the sequence of its first record. The partition remembers, per producer, the epoch
// and the last five batches it appended, and decides for each new batch whether it continues the
// sequence (append), repeats one of those five (a retry whose first attempt was written: answer it
// with the original offset, append nothing) or leaves a gap or comes from an older epoch (refuse).
// Clients bound their in-flight requests per partition by five for exactly this window.
//
// Transactions (KIP-98) add, per producer, the first offset of its open transaction and the epoch
// of the coordinator that last ended one; per partition, the first offset of every open
// transaction (the last stable offset, LSO, is the least of them: read_committed consumers read
// only below it) and the aborted transactions still in the log (they skip those records). A
// transaction opens with the producer's first transactional batch and ends with a marker, a
// control batch the coordinator has written (kafka/protocol/txn_marker.h).
//
// Where each piece runs:
//  - producer_table: the state as of some point of the log, and the rules (check/apply). Every
//    replica applies the committed entries' batches in log order, so every replica holds the same
//    table at the same index.
//  - producer_history: the applied table, plus what is needed to produce the table as of any
//    earlier cut of the log still held (the table at the log start and the idempotent batches of
//    each entry since). A snapshot is taken at a cut below the applied index (retention), and must
//    hold the state there, not the current one: the entries after the cut are replayed on top.
//  - producer_guard: the leader's view for deciding, the applied table plus its own proposals of
//    this term that have not applied yet. A new leader decides only once every earlier entry is
//    applied (partition_replica::leader_ready), so that union is exactly what the log will hold.
#pragma once

#include <cstdint>
#include <deque>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "consensus/core/types.h"
#include "kafka/protocol/record_batch.h"

namespace chronik::kafka {

// The batches remembered per producer: Kafka's window, which clients match with
// max.in.flight.requests.per.connection <= 5.
inline constexpr std::size_t producer_batches_kept = 5;

// What decides about one batch: from its header.
struct producer_batch_id {
  std::int64_t producer_id = -1;
  std::int16_t epoch = -1;
  std::int32_t first_seq = -1;
  std::int32_t last_seq = -1;
  bool transactional = false;
  static producer_batch_id of(const record_batch_header& h);
  // A coordinator's transactional write for the producer (TxnOffsetCommit) carries no sequence:
  // it moves the epoch and opens the transaction, and is never kept for duplicate checks.
  bool sequenced() const { return first_seq >= 0; }
};

// The sequence after `seq` advanced by `delta` records: sequences wrap from INT32_MAX to 0.
std::int32_t advance_sequence(std::int32_t seq, std::int32_t delta);

// One batch a producer appended: enough to answer a retry of it.
struct producer_batch {
  std::int32_t first_seq = 0;
  std::int32_t last_seq = 0;
  std::int64_t first_offset = 0;
  std::int64_t timestamp = -1;        // the batch's max timestamp (Kafka's lastTimestamp)
  consensus::log_index index;         // the Raft entry holding it
  bool operator==(const producer_batch&) const = default;
};

struct producer_entry {
  std::int16_t epoch = -1;
  std::deque<producer_batch> batches;  // oldest first, at most producer_batches_kept
  std::int32_t coordinator_epoch = -1;   // of the last marker; an older coordinator is fenced
  std::int64_t txn_first_offset = -1;    // the open transaction's first offset; -1: none open
  bool operator==(const producer_entry&) const = default;
  std::int64_t last_timestamp() const { return batches.empty() ? -1 : batches.back().timestamp; }
  // The Raft index of the newest batch (0 with none): what an expiry decision was made on.
  std::uint64_t last_index() const { return batches.empty() ? 0 : batches.back().index.value; }
};

enum class sequence_verdict : std::uint8_t {
  append,        // continues the producer's sequence (or starts it)
  duplicate,     // equals one of the producer's kept batches: not appended again
  out_of_order,  // a gap, or a new epoch not starting at 0: OUT_OF_ORDER_SEQUENCE_NUMBER
  old_epoch,     // an epoch below the producer's: INVALID_PRODUCER_EPOCH
  invalid_txn_state,  // a plain batch from a producer whose transaction is open: INVALID_TXN_STATE
  unknown_producer,   // a producer never known here starting past sequence 0: UNKNOWN_PRODUCER_ID
};
std::string_view to_string(sequence_verdict v);

struct sequence_check {
  sequence_verdict verdict = sequence_verdict::append;
  std::optional<producer_batch> original;  // the kept batch a duplicate repeats
};

// Kafka's rules for a client's batch against the producer's entry (nullptr: unknown producer).
//  1. A batch of the entry's epoch with the first and last sequence of a kept batch is a duplicate.
//  2. An epoch below the entry's is refused.
//  3. A new epoch (above the entry's) must start at sequence 0.
//  4. In the same epoch the batch must follow the last one: first = last + 1, or 0 after INT32_MAX.
//  5. An unknown producer starts at sequence 0, unless this partition may have forgotten it
//     (`may_be_forgotten`: expiry erased a producer of its id or above): after expiry the
//     client's sequence is not reset (KIP-360), so such a producer may start anywhere. A known
//     producer with no batch of its epoch (a marker made it) starts at 0.
//     Kafka since 2.5 lets every unknown producer start anywhere. Refusing a non-zero start of one
//     never known here keeps a batch that overtook its lost predecessors from being taken as the
//     producer's first: the predecessors were lost with a leader's uncommitted tail, or refused
//     for a moment (no ready leader) while the batch behind them on the same connection was
//     taken, and librdkafka reports a lost batch delivered once a later one of its producer is
//     acknowledged. The refusal is UNKNOWN_PRODUCER_ID, Kafka's own answer here before 2.5
//     ("found no record of producerId"): librdkafka bumps the epoch and resends from the oldest
//     when the batch follows its last acknowledged or failed one, and the Java client bumps the
//     epoch (or, transactional, restarts the partition's sequences) when the log start is past
//     its last acknowledged offset, which a producer never acknowledged here always is.
//     (docs/kafka.md "Idempotent producers"; docs/partition-testing.md, loss-30.)
//  6. A producer with an open transaction may write only transactional batches.
sequence_check check_sequence(const producer_entry* entry, const producer_batch_id& b, bool may_be_forgotten);

enum class marker_verdict : std::uint8_t {
  write,               // the marker ends the producer's transaction (or is a harmless repeat)
  old_epoch,           // the marker's epoch is below the producer's: INVALID_PRODUCER_EPOCH
  coordinator_fenced,  // an older coordinator than the last marker's: TRANSACTION_COORDINATOR_FENCED
};
// Kafka's checks for a marker the coordinator sends (WriteTxnMarkers) before it is written.
marker_verdict check_marker(const producer_entry* entry, std::int16_t epoch, std::int32_t coordinator_epoch);

// Kafka's check for a batch a coordinator writes for the producer (AppendOrigin.COORDINATOR: the
// group coordinator's TxnOffsetCommit records): only the epoch, since the coordinator has no
// client sequence to continue. append, or old_epoch for an epoch below the producer's.
sequence_verdict check_coordinator_write(const producer_entry* entry, std::int16_t epoch);

// A transaction this partition saw aborted: read_committed consumers drop the producer's
// transactional records in [first_offset, last_offset] (the abort marker's offset).
struct aborted_txn {
  std::int64_t producer_id = 0;
  std::int64_t first_offset = 0;
  std::int64_t last_offset = 0;
  bool operator==(const aborted_txn&) const = default;
};

// An entry's worth of changes, in the order every replica applies them.
struct producer_event {
  enum class kind : std::uint8_t { append, expire, marker };
  kind what = kind::append;
  producer_batch_id id;   // append: the batch; expire: only producer_id; marker: producer_id, epoch
  producer_batch batch;   // append: where it went; expire: batch.index is the newest batch's index
                          // the expiry was decided on (a producer that appended since stays);
                          // marker: first_offset is the marker's offset, index its entry
  bool commit = false;                  // marker: commit or abort
  std::int32_t coordinator_epoch = -1;  // marker
  bool operator==(const producer_event&) const = default;
};

enum class producer_errc : std::uint8_t { malformed };

class producer_table {
 public:
  const producer_entry* find(std::int64_t producer_id) const;
  sequence_check check(const producer_batch_id& b) const {
    return check_sequence(find(b.producer_id), b, may_have_forgotten(b.producer_id));
  }
  // Whether expiry may have erased the producer here: producer ids are handed out in ascending
  // blocks, so one above every id expiry erased was never forgotten by this partition.
  bool may_have_forgotten(std::int64_t producer_id) const { return producer_id <= forgotten_through_; }
  // Applies a committed change. Never refuses: what the leader proposed is committed, and a batch
  // that would now fail the rules (possible only if replicas once disagreed) still moves the entry
  // on, as Kafka's replicas append without checking.
  void apply(const producer_event& e);
  std::size_t size() const { return entries_.size(); }
  const std::map<std::int64_t, producer_entry>& entries() const { return entries_; }
  // Producers whose last batch's timestamp is older than `before_ms` and with no transaction open,
  // as expiry events (at most `max`).
  std::vector<producer_event> expirable(std::int64_t before_ms, std::size_t max) const;
  // The expiry event of one producer as its entry is now.
  static producer_event expiry_of(std::int64_t producer_id, const producer_entry& entry);

  // The first offset of the oldest open transaction; nullopt when none is open. The last stable
  // offset is the least of it and the high watermark.
  std::optional<std::int64_t> first_unstable_offset() const;
  // The aborted transactions that overlap offsets [from, to), oldest first (Fetch's
  // aborted_transactions for read_committed).
  std::vector<aborted_txn> aborted_between(std::int64_t from, std::int64_t to) const;
  const std::deque<aborted_txn>& aborted() const { return aborted_; }
  // Forgets aborted transactions wholly below the log start: no reader can reach their records.
  void trim_aborted(std::int64_t log_start_offset);
  // Canonical bytes: equal tables give equal bytes (the entries are kept ordered by id).
  std::string encode() const;
  static std::expected<producer_table, producer_errc> decode(std::string_view bytes);
  bool operator==(const producer_table&) const = default;

 private:
  void open_txn(std::int64_t producer_id, producer_entry& e, std::int64_t first_offset);
  void close_txn(producer_entry& e);

  std::map<std::int64_t, producer_entry> entries_;
  std::map<std::int64_t, std::int64_t> open_txns_;  // first offset -> producer id (derived from entries_)
  std::deque<aborted_txn> aborted_;  // ascending by last_offset
  // The highest producer id whose entry expiry erased; -1: none. A table read from the first
  // format, which did not keep it, takes every id as possibly forgotten.
  std::int64_t forgotten_through_ = -1;
};

class producer_history {
 public:
  // The committed entry at `index` made these changes (possibly none); index ascends.
  void apply(consensus::log_index index, std::vector<producer_event> events);
  // The entries at or below `index` left the log (retention, DeleteRecords), which now starts at
  // `log_start_offset`.
  void drop_through(consensus::log_index index, std::int64_t log_start_offset);
  // The table as of the cut through `index` (at or above the log start, at or below applied).
  producer_table at(consensus::log_index index) const;
  // Resets to a snapshot's table at the snapshot's index.
  void restore(producer_table t);
  const producer_table& current() const { return current_; }
  std::size_t events_kept() const;

 private:
  producer_table at_start_;
  producer_table current_;
  std::deque<std::pair<consensus::log_index, std::vector<producer_event>>> since_start_;
};

// The leader's projection: for each producer with proposals of this term not applied yet, its entry
// as it will be once they apply.
class producer_guard {
 public:
  // Checks `b` against the projection over `applied`.
  sequence_check check(const producer_table& applied, const producer_batch_id& b) const;
  // Kafka's checks for a marker against the projection over `applied`.
  marker_verdict check_marker(const producer_table& applied, std::int64_t producer_id, std::int16_t epoch,
                              std::int32_t coordinator_epoch) const;
  sequence_verdict check_coordinator_write(const producer_table& applied, std::int64_t producer_id,
                                           std::int16_t epoch) const;
  // Whether the producer's transaction is open here once this term's proposals apply (a marker
  // proposed and not yet applied already closes it).
  bool transaction_open(const producer_table& applied, std::int64_t producer_id) const;
  // The leader proposed `e` (an append or a marker) at `e.batch.index` in `term`.
  void proposed(const producer_table& applied, const producer_event& e, consensus::term_id term);
  // The leader proposed the data batch `b`, placed as `batch`.
  void proposed(const producer_table& applied, const producer_batch_id& b, const producer_batch& batch,
                consensus::term_id term) {
    proposed(applied, producer_event{producer_event::kind::append, b, batch, false, -1}, term);
  }
  // Entries up to `applied_index` applied: projections they fully cover are the applied table now.
  void applied_through(consensus::log_index applied_index);
  // Leadership changed, or proposals of this term were lost (overwritten, a snapshot replaced the
  // log): the projection no longer holds. Those proposals' successors failed with them (Raft
  // commits one term's entries in order), so the applied table is the truth again.
  void reset() { pending_.clear(); }
  bool empty() const { return pending_.empty(); }
  bool pending(std::int64_t producer_id) const { return pending_.contains(producer_id); }

 private:
  struct projection {
    consensus::term_id term;
    producer_entry entry;
    consensus::log_index last_index;  // of the newest proposal it covers
  };
  const producer_entry* view(const producer_table& applied, std::int64_t producer_id) const;
  std::unordered_map<std::int64_t, projection> pending_;
};

}  // namespace chronik::kafka
