// The transaction coordinator core (docs/transactions.md "The coordinator core"): Kafka's
// transaction state machine (KIP-98; Kafka's TransactionCoordinator and TransactionMetadata) for
// the transactional ids of the `__transaction_state` partitions this node leads.
//
// A pure core: no I/O, no clock, no Kafka error codes. The owner calls tick(steady_ms, wall_ms)
// periodically with both clocks; every other call uses the times of the last tick. The wall clock
// (milliseconds since the epoch) stamps the records, whose timestamps must mean the same on the next
// coordinator. Timeouts and expiry are measured on the node's own monotonic clock from when this
// core saw the transaction begin (or the id last change), so a wall clock that jumps forward on one
// node does not abort every open transaction there; a load credits each transaction with the age
// its stored timestamps give it, capped at its limit, so the next coordinator resumes the same
// clock as in Kafka. Answers
// that wait for a write are callbacks, called exactly once, from inside write_done (or
// unload_partition), after the core's state is consistent; a callback must not call back into the
// core.
//
// Durability: exactly the group coordinator's contract (group_coordinator.h "Durability").
// Transactional id T belongs to partition offsets_partition_for(T, N) of `__transaction_state`
// (Kafka hashes transactional ids as it hashes group ids). The owner calls begin_load(partition,
// partitions, coordinator_epoch), load() with every record of the partition's log in order, then
// finish_load(); unload_partition() when leadership goes. Every state change is a record the owner
// appends (take_writes) and reports back (write_done); memory changes only once the record is
// committed in Raft, so a refused or failed write changes nothing, and a request is answered only
// once its transition is durable (as Kafka answers after the append). While a transactional id
// has a write in flight, other requests for it get concurrent_transactions (Kafka's
// pendingTransitionInProgress). When a partition's log holds many more records than transactional
// ids, the core rewrites every id's state as a checkpoint, and the owner trims the log before it.
//
// coordinator_epoch is the Raft term the partition was loaded in: it grows with every new leader,
// which is what Kafka uses its partition leader epoch for, and what partitions compare marker
// epochs with (a marker from an older coordinator is refused there).
//
// State machine per transactional id (docs/transactions.md has the table):
//   Empty / CompleteCommit / CompleteAbort --AddPartitionsToTxn, AddOffsetsToTxn--> Ongoing
//   Ongoing --EndTxn(commit)--> PrepareCommit --markers acknowledged--> CompleteCommit
//   Ongoing --EndTxn(abort), timeout, InitProducerId of a new instance--> PrepareAbort
//   PrepareAbort --markers acknowledged--> CompleteAbort
//   Empty / Complete* --InitProducerId--> Empty with the epoch bumped (a new producer id once
//     the epoch is exhausted)
//   Empty / Complete* idle for transactional_id_expiration_ms --> removed (a tombstone)
// Kafka's PrepareEpochFence is the moment between "an InitProducerId found an Ongoing transaction"
// and "its abort with the bumped epoch is written"; here that is one step (the PrepareAbort record
// carries the bumped epoch), so the state is never held in memory nor written. Dead is likewise
// Kafka's in-memory mark of a removed id; here the id is simply gone.
//
// Producer ids: the core never allocates one. When InitProducerId needs a fresh id (a new
// transactional id, or an exhausted epoch) and the request does not carry one, the answer is
// need_producer_id; the owner allocates one (broker_context::allocate_producer_id, which may have
// to wait for a `__meta` block) and calls init_producer_id again with it. So no id is spent on
// requests that only bump an epoch, and the core never blocks.
#pragma once

#include <compare>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/groups/group_coordinator.h"
#include "kafka/txn/txn_records.h"

namespace chronik::kafka {

// The internal topic that holds every transactional id's state, as Kafka names it.
inline constexpr std::string_view transaction_state_topic_name = "__transaction_state";

struct txn_config {
  // transaction.max.timeout.ms: InitProducerId asking for a longer timeout is refused. Kafka: 900000.
  std::int32_t max_transaction_timeout_ms = 900'000;
  // transactional.id.expiration.ms: an id idle (Empty or Complete*) this long is removed.
  // Kafka: 604800000 (7 days).
  std::int64_t transactional_id_expiration_ms = 604'800'000;
  // transaction.abort.timed.out.transaction.cleanup.interval.ms: how often timeouts are checked.
  // Kafka: 10000.
  std::int64_t abort_timed_out_check_interval_ms = 10'000;
  // transaction.remove.expired.transaction.cleanup.interval.ms: how often expiry runs. Kafka: 3600000.
  std::int64_t remove_expired_check_interval_ms = 3'600'000;
  // Transactional ids this node keeps; a new one beyond it gets coordinator_not_available.
  // Kafka: unbounded; bounded here because every id holds memory.
  std::size_t max_transactional_ids = 100'000;
  // Partitions one transaction may touch; more get too_many_partitions. Kafka: unbounded.
  std::size_t max_partitions_per_transaction = 10'000;
  // A partition's log is rewritten as a checkpoint once it holds this many records and more than
  // twice as many as it has transactional ids (as group_config::checkpoint_min_records).
  std::int64_t checkpoint_min_records = 10'000;
  // Records per write (one record batch, one Raft entry) of a checkpoint.
  std::size_t max_records_per_write = 2'000;

  // The name of the first bad field and why, or nothing.
  std::expected<void, std::string> validate() const;
};

enum class txn_errc : std::uint8_t {
  none,
  invalid_request,              // an empty transactional id
  not_coordinator,              // this node does not lead the id's partition (or no longer does)
  load_in_progress,             // this node leads it and is still loading it
  coordinator_not_available,    // a write's outcome is unknown, or max_transactional_ids
  concurrent_transactions,      // a transition is being written or markers are being delivered
  producer_fenced,              // an older (or otherwise wrong) epoch; handlers map it to
                                // INVALID_PRODUCER_EPOCH for versions that predate PRODUCER_FENCED
  invalid_producer_id_mapping,  // unknown transactional id, or not its producer id
  invalid_txn_state,            // EndTxn in a state that cannot end that way
  invalid_transaction_timeout,  // <= 0 or > max_transaction_timeout_ms
  too_many_partitions,          // max_partitions_per_transaction (handlers: INVALID_REQUEST)
  need_producer_id,             // not an error for clients: call again with a fresh producer id
  transactional_id_not_found,   // DescribeTransactions of an id this coordinator does not have
};

std::string_view to_string(txn_errc e);

struct txn_partition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const txn_partition&) const = default;
};

struct producer_id_and_epoch {
  std::int64_t producer_id = -1;
  std::int16_t epoch = -1;
  bool operator==(const producer_id_and_epoch&) const = default;
};

struct init_producer_params {
  std::string transactional_id;
  std::int32_t transaction_timeout_ms = 0;
  // InitProducerId v3+ (KIP-360): the producer's current id and epoch, when it has them.
  std::optional<producer_id_and_epoch> expected;
  // A producer id the owner allocated for this request after a need_producer_id answer.
  std::optional<std::int64_t> fresh_producer_id;
};

struct init_producer_result {
  txn_errc error = txn_errc::none;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
};

using init_producer_callback = std::function<void(init_producer_result)>;
using txn_callback = std::function<void(txn_errc)>;

// One transaction's markers to write: a control batch for (producer_id, producer_epoch) with
// coordinator_epoch in every partition listed. Markers are idempotent at the partitions, so a
// work item may be handed out again (after a reload, or a failed Complete write).
struct txn_marker_work {
  std::string transactional_id;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  bool commit = false;
  std::int32_t coordinator_epoch = 0;
  std::int32_t state_partition = 0;  // of `__transaction_state`: the id's, for the owner's routing
  std::vector<txn_partition> partitions;  // sorted
  bool operator==(const txn_marker_work&) const = default;
};

// Records the owner must append, in order, to partition `partition` of `__transaction_state`.
struct txn_write {
  std::uint64_t id = 0;
  std::int32_t partition = 0;
  std::vector<txn_log_record> records;
  // Part of a checkpoint, as group_write's: once the last part is committed the owner trims the
  // log before the first part's base offset.
  bool checkpoint = false;
  bool checkpoint_first = false;
  bool checkpoint_last = false;
};

// One transactional id as DescribeTransactions shows it.
struct txn_view {
  std::string transactional_id;
  txn_status state = txn_status::empty;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t timeout_ms = 0;
  std::int64_t start_ms = -1;  // -1 when no transaction is open
  std::vector<txn_partition> partitions;  // sorted
  bool operator==(const txn_view&) const = default;
};

// One transactional id as ListTransactions shows it.
struct txn_listing {
  std::string transactional_id;
  std::int64_t producer_id = -1;
  txn_status state = txn_status::empty;
  bool operator==(const txn_listing&) const = default;
};

class txn_coordinator {
 public:
  // offsets_partition_of_group: the `__consumer_offsets` partition of a group (AddOffsetsToTxn
  // adds it to the transaction); the owner knows that topic's partition count.
  txn_coordinator(txn_config config, std::function<std::int32_t(std::string_view group)> offsets_partition_of_group);
  txn_coordinator(const txn_coordinator&) = delete;
  txn_coordinator& operator=(const txn_coordinator&) = delete;
  ~txn_coordinator();

  // Advances time (both clocks clamped to never go back): aborts Ongoing transactions past their
  // timeout, fencing the producer, and removes expired idle transactional ids.
  void tick(std::int64_t steady_ms, std::int64_t wall_ms);
  std::int64_t now_ms() const { return now_ms_; }

  // --- requests ----------------------------------------------------------------------------------
  // InitProducerId with a transactional id. `done` is called now (errors, need_producer_id,
  // concurrent_transactions while an earlier transaction of the id is aborted) or once the new
  // producer id and epoch are stored.
  void init_producer_id(const init_producer_params& params, init_producer_callback done);
  // AddPartitionsToTxn for one transactional id; `done` is called once the partitions are stored
  // (now when they already are, or on an error).
  void add_partitions(std::string_view transactional_id, producer_id_and_epoch producer,
                      std::span<const txn_partition> partitions, txn_callback done);
  // AddOffsetsToTxn: adds the group's `__consumer_offsets` partition.
  void add_offsets(std::string_view transactional_id, producer_id_and_epoch producer, std::string_view group_id,
                   txn_callback done);
  // EndTxn. `done` is called once PrepareCommit / PrepareAbort is stored (the markers then follow
  // through take_markers), or now: none for a retry of a completed transaction, an error otherwise.
  void end_txn(std::string_view transactional_id, producer_id_and_epoch producer, bool commit, txn_callback done);

  // Marker work, oldest first. Each PrepareCommit / PrepareAbort becomes one item once stored.
  std::vector<txn_marker_work> take_markers();
  // Every partition of the item acknowledged its marker (or no longer exists): the transaction is
  // completed (CompleteCommit / CompleteAbort written). Stale reports are ignored.
  void markers_done(const txn_marker_work& work);

  // --- durability (the owner's side) -------------------------------------------------------------
  txn_errc serves(std::string_view transactional_id) const;
  void begin_load(std::int32_t partition, std::int32_t partitions, std::int32_t coordinator_epoch);
  void load(std::int32_t partition, const txn_log_record& record);
  void finish_load(std::int32_t partition);
  void unload_partition(std::int32_t partition);
  std::vector<std::int32_t> partitions_served() const;
  bool loaded(std::int32_t partition) const;
  std::vector<txn_write> take_writes();
  void write_done(std::uint64_t id, write_outcome outcome);
  std::size_t writes_in_flight() const { return pending_writes_.size(); }

  // --- DescribeTransactions / ListTransactions ---------------------------------------------------
  std::expected<txn_view, txn_errc> describe(std::string_view transactional_id) const;
  // Every id of the loaded partitions whose state is in `states` and producer id in
  // `producer_ids` (an empty filter matches all), sorted by id; load_in_progress while any served
  // partition is loading (Kafka answers ListTransactions so).
  std::expected<std::vector<txn_listing>, txn_errc> list(std::span<const txn_status> states,
                                                         std::span<const std::int64_t> producer_ids) const;
  std::size_t size() const { return txns_.size(); }
  const txn_config& config() const { return config_; }

 private:
  // What the log says about one transactional id (the fields of TransactionLogValue) plus what
  // Kafka keeps only in memory (the previous epoch, for retried InitProducerId).
  struct txn_state {
    std::int64_t producer_id = -1;
    std::int16_t epoch = -1;
    std::int64_t last_producer_id = -1;  // before the last producer id rotation
    std::int16_t last_epoch = -1;        // before the last bump by this producer (retries)
    std::int32_t timeout_ms = 0;
    txn_status status = txn_status::empty;
    std::set<txn_partition> partitions;
    std::int64_t last_update_ms = -1;
    std::int64_t start_ms = -1;
  };
  struct txn {
    std::string id;
    std::int32_t partition = 0;  // of `__transaction_state`
    // nullopt only while the first record of a new id is being written (no state yet).
    std::optional<txn_state> state;
    std::uint64_t pending_write = 0;  // a transition being written; 0: none
    // Monotonic clock: since when the current transaction is Ongoing, and since when the id has
    // not changed, as this core measures them (the timeout and the expiry run from these).
    std::int64_t ongoing_since_ms = 0;
    std::int64_t idle_since_ms = 0;
  };
  struct pending_write {
    std::int32_t partition = 0;
    std::string txn_id;  // empty for checkpoint parts
    std::optional<txn_state> next;  // nullopt: a tombstone
    std::function<void(txn_errc)> then;  // none, or why the transition did not happen
    bool checkpoint_last = false;
  };
  struct partition_state {
    bool loaded = false;
    std::int32_t coordinator_epoch = 0;
    std::int64_t log_records = 0;
    std::size_t in_flight = 0;
    bool checkpoint_wanted = false;
    bool checkpoint_in_flight = false;
    std::deque<txn_write> held;
  };

  using txn_map = std::map<std::string, txn, std::less<>>;

  // The id's entry, or the error its requests get (not served, loading, unknown, busy).
  std::expected<txn*, txn_errc> find_for_request(std::string_view transactional_id);
  txn_errc check_producer(const txn& t, producer_id_and_epoch producer) const;
  void add(std::string_view transactional_id, producer_id_and_epoch producer, std::vector<txn_partition> partitions,
           txn_callback done);
  void init_existing(txn& t, const init_producer_params& params, init_producer_callback& done);
  // Writes PrepareAbort with the epoch bumped (a timeout, or a new producer instance).
  void fence_and_abort(txn& t);
  void complete(txn& t);
  void expire();
  void abort_timed_out();
  void queue_markers(const txn& t);
  // Queues the write of `next` (nullopt: a tombstone) as t's pending transition; `then` gets none
  // once it is stored and applied, the error otherwise.
  void transition(txn& t, std::optional<txn_state> next, std::function<void(txn_errc)> then);
  void apply(const std::string& txn_id, std::uint64_t write_id, std::optional<txn_state> next);
  static txn_log_record to_record(const std::string& id, const txn_state& s);
  void queue_write(std::int32_t partition, txn_write w);
  void maybe_checkpoint(std::int32_t partition);
  std::int64_t live_records(std::int32_t partition) const;
  void emit_checkpoint(std::int32_t partition, partition_state& ps);

  txn_config config_;
  std::function<std::int32_t(std::string_view)> offsets_partition_of_group_;
  std::int64_t now_ms_ = 0;     // wall clock: record timestamps
  std::int64_t steady_ms_ = 0;  // monotonic clock: timeouts, expiry and their check intervals
  std::int64_t next_abort_check_ms_ = 0;
  std::int64_t next_expiry_check_ms_ = 0;
  std::int32_t partitions_ = 0;  // of `__transaction_state`, once known
  std::map<std::int32_t, partition_state> served_;
  std::vector<txn_write> writes_;
  std::map<std::uint64_t, pending_write> pending_writes_;
  std::uint64_t next_write_id_ = 0;
  std::vector<txn_marker_work> markers_;
  txn_map txns_;
};

}  // namespace chronik::kafka
