// One partition replica on this node (docs/design.md "Kafka data path"; docs/kafka.md
// "Partitions"): the partition's Raft group in the node's raft_host, its offset index, and the
// produce, fetch and list-offsets operations over them.
//
// The write path is the Raft log itself: one committed normal entry holds one Produce request's
// record batches for this partition, stored exactly as the producer sent them except for the
// base offset and partition leader epoch, which sit outside the batch CRC (record_batch.h). The
// apply function indexes each entry (partition_index.h), stamps its base offsets and puts it in
// the node's entry cache (entry_cache.h); fetches take cached entries as they are and read the
// others back through raft_host::read_entries, stamping them the same way. Either way the bytes
// are shared with the answer, not copied into it (docs/kafka.md "Fetch without copies").
//
// Threading: everything runs on the raft_host's Asio thread (raft_host.h). The host calls apply()
// and persisted(); the manager (partition_manager.h) calls expire() and enforce_retention().
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <spdlog/logger.h>

#include "consensus/groups/raft_host.h"
#include "kafka/partition/control_entry.h"
#include "kafka/partition/entry_cache.h"
#include "kafka/partition/isr_tracker.h"
#include "kafka/partition/leader_epochs.h"
#include "kafka/partition/partition_index.h"
#include "kafka/partition/producer_state.h"
#include "kafka/protocol/batch_validation.h"
#include "kafka/protocol/byte_chain.h"
#include "kafka/protocol/record_batch.h"
#include "kafka/protocol/txn_marker.h"
#include "metadata/meta_state.h"

namespace chronik::kafka {

using consensus::group_id;
using consensus::node_id;
using consensus::term_id;

// Expected failures of partition operations. kafka/handlers maps them to Kafka error codes.
enum class partition_errc : std::uint8_t {
  not_leader,           // not the leader, or a new leader that has not applied its predecessors' entries
  corrupt_batch,        // not a well-formed batch: length, CRC-32C, codec, or no batch at all
  invalid_record,       // a well-formed batch whose records disagree with its header (batch_validation.h)
  invalid_timestamp,    // a CreateTime record outside the topic's timestamp window
  unsupported_magic,    // a magic 0 or 1 batch (only magic 2 is stored)
  too_large,            // the records exceed max.message.bytes
  timed_out,            // not acknowledged before the deadline; the outcome is unknown
  offset_out_of_range,  // before the log start or past the high watermark
  busy,                 // too many proposals in flight, or Raft's uncommitted-bytes bound
  storage_failed,       // the Raft host refused (WAL failed, group gone)
  out_of_order_sequence,   // an idempotent batch leaves a gap in its producer's sequence (producer_state.h)
  invalid_producer_epoch,  // an idempotent batch from an epoch older than its producer's
  invalid_txn_state,       // a plain batch from a producer whose transaction is open here
  coordinator_fenced,      // a marker from an older transaction coordinator than the last one
  unknown_producer,        // an idempotent batch past sequence 0 from a producer never known here
};
std::string_view to_string(partition_errc e);

// Kafka's acks: 0, 1 and -1 (docs/design.md "acks").
enum class acks_mode : std::uint8_t {
  none,    // no answer is awaited: done() is called at once after the proposal
  leader,  // answered once the leader's own append is fsynced (raft_host persisted_fn)
  all,     // answered once committed (a majority fsynced it) and applied here
};

// A partition's tunables, from its topic's configs (Kafka's names) over the broker defaults.
struct partition_config {
  // Kafka's retention.ms: entries whose newest record is older than this are dropped. < 0 keeps
  // them forever. Default 604800000 (7 days).
  std::int64_t retention_ms = 604'800'000;
  // Kafka's retention.bytes: the oldest entries are dropped while the partition holds more.
  // < 0 disables. Default -1.
  std::int64_t retention_bytes = -1;
  // Kafka's max.message.bytes: the largest records blob one Produce may bring to this partition,
  // and so the largest batch. Default 1048588 (Kafka's).
  std::uint64_t max_message_bytes = 1'048'588;
  // Kafka's message.timestamp.type: CreateTime keeps the producer's timestamps, LogAppendTime
  // stamps each batch with the leader's clock. Default CreateTime.
  timestamp_type timestamps = timestamp_type::create_time;
  // Kafka's message.timestamp.before.max.ms / after.max.ms (and the older
  // message.timestamp.difference.max.ms, which sets both): how far a CreateTime record may lie
  // before or after the leader's clock. Default int64 max: any timestamp, as Kafka 3.
  std::int64_t timestamp_before_max_ms = std::numeric_limits<std::int64_t>::max();
  std::int64_t timestamp_after_max_ms = std::numeric_limits<std::int64_t>::max();
  // Proposals of one partition awaiting commit. A producer beyond it gets `busy` (Kafka's
  // REQUEST_TIMED_OUT, which clients retry). Bounds memory when the quorum stalls. Default 1024.
  std::size_t max_in_flight = 1024;
  // Kafka's producer.id.expiration.ms: an idempotent producer that has appended nothing to this
  // partition for this long is forgotten (its next batch may start at any sequence). Default
  // 86400000 (1 day, Kafka's).
  std::int64_t producer_id_expiration_ms = 86'400'000;
  // Log compaction (docs/kafka.md "Log compaction"), Kafka's topic configs:
  // cleanup.policy=compact: keep the last record of each key. Alone, it turns retention by time and
  // size off; with delete (compact,delete) both apply, retention first (as Kafka deletes expired
  // segments of such a topic and compacts the rest).
  bool compact = false;
  bool compact_and_delete = false;
  // delete.retention.ms: how long a last tombstone (and a transaction marker) outlives its batch.
  std::int64_t delete_retention_ms = 86'400'000;
  // min.cleanable.dirty.ratio: the share of the log not yet cleaned that makes it worth cleaning.
  double min_cleanable_dirty_ratio = 0.5;
  // min.compaction.lag.ms / max.compaction.lag.ms: a record stays uncleaned at least this long; a
  // stretch this old is cleaned whatever the ratio.
  std::int64_t min_compaction_lag_ms = 0;
  std::int64_t max_compaction_lag_ms = std::numeric_limits<std::int64_t>::max();
  // segment.bytes / segment.ms: Kafka never cleans its active segment; chronik, which has no
  // segments per partition, cleans a stretch once it holds this many bytes or its oldest entry is
  // this old, as a rolled segment would.
  std::int64_t segment_bytes = 1'073'741'824;
  std::int64_t segment_ms = 604'800'000;
  // The largest cleaned prefix a partition keeps. The prefix lives in memory, and every pass cleans
  // it again on the Raft host's thread (about 50 ms for 32 MiB of 1 KiB records that mostly stay,
  // bench/kafka/cleaner_bench) and writes it whole into the snapshot (which a lagging replica
  // receives in the Raft core's 1 MiB chunks, §7). A pass that would pass it cleans nothing, and
  // the log keeps every record.
  std::uint64_t max_cleaned_prefix_bytes = 32u << 20;
  // The most entry bytes one cleaning pass reads back from the log (several passes clean more). A
  // pass runs on the Raft host's thread, so it is kept short: 8 MiB of uncompressed 1 KiB records
  // clean in about 9 ms (bench/kafka/cleaner_bench; a compressed stretch costs its decompression
  // too), besides the prefix cleaned with them.
  std::uint64_t max_clean_pass_bytes = 8u << 20;

  // Reads the topic configs above from `configs` (values that do not parse keep the default in
  // `base`).
  static partition_config from_topic(const std::map<std::string, std::string>& configs, const partition_config& base);
};

struct produce_ack {
  std::int64_t base_offset = -1;
  std::int64_t log_start_offset = 0;
  std::int64_t log_append_time_ms = -1;  // the leader's clock for a LogAppendTime topic, else -1
};

// A refused or failed produce: the code, and for a refused batch which record and why (Produce
// v8's record_errors and error_message, KIP-467).
struct produce_error {
  partition_errc code = partition_errc::storage_failed;
  std::int32_t batch = -1;   // the refused batch's index in the blob, -1 when none
  std::int32_t record = -1;  // the refused record's index in that batch, -1 when the batch as a whole
  std::string message;       // empty when the code says it all
  std::int64_t log_start_offset = -1;  // the partition's, where the client needs it (UNKNOWN_PRODUCER_ID)
  produce_error(partition_errc c) : code(c) {}  // NOLINT: a bare code is the common case
  produce_error(partition_errc c, std::int32_t b, std::int32_t r, std::string m)
      : code(c), batch(b), record(r), message(std::move(m)) {}
  bool operator==(partition_errc c) const { return code == c; }
};
using produce_done = std::function<void(std::expected<produce_ack, produce_error>)>;

// DeleteRecords' outcome: the partition's log start offset once the deletion applied here.
using delete_done = std::function<void(std::expected<std::int64_t, partition_errc>)>;

// A confirmed leadership (confirm_leadership): true when this node still led the partition after
// the call was made and has applied everything committed before it.
using confirm_done = std::function<void(bool)>;

struct fetch_data {
  std::int64_t high_watermark = 0;
  std::int64_t last_stable_offset = 0;  // below it every transaction is decided (producer_state.h)
  std::int64_t log_start_offset = 0;
  byte_chain records;  // whole batches, base offsets and leader epochs stamped; shared, not copied
  // read_committed: the aborted transactions overlapping the records returned, for the consumer to
  // drop (KIP-98). Empty for read_uncommitted.
  std::vector<aborted_txn> aborted;
};

// Kafka's isolation.level for Fetch and ListOffsets.
enum class isolation : std::uint8_t { read_uncommitted, read_committed };

struct offset_answer {
  std::int64_t offset = -1;
  std::int64_t timestamp = -1;
  // The leader epoch of the record at `offset` (for the latest offset, the epoch being written),
  // -1 with no offset: consumers check it against OffsetForLeaderEpoch after a leader change
  // (KIP-320), so the current epoch would hide a truncation between the two.
  std::int32_t leader_epoch = -1;
};

// What a replica tells its owner.
struct replica_hooks {
  // The high watermark moved or leadership changed: long-polling fetchers should look again.
  std::function<void(group_id)> on_data;
  // The local view of the group's leader or term changed, or this replica, leading, became ready
  // to serve (partition_replica::leader_ready): the moment its leadership is worth reporting.
  std::function<void(const metadata::partition_ref&, node_id leader, term_id term)> on_leadership;
  // This replica took work with a deadline (a proposal, a deletion or a leadership
  // confirmation): expire() must run at every tick until has_deadlines() is false.
  std::function<void(group_id)> on_deadline;
};

class partition_replica {
 public:
  using clock = std::chrono::steady_clock;

  // The wall clock in milliseconds since the epoch: LogAppendTime and the timestamp window.
  using wall_clock = std::function<std::int64_t()>;

  // `cache` (may be null: nothing is cached) is the node's, shared by its replicas; it must
  // outlive this replica. An empty `wall_now_ms` reads the system clock.
  partition_replica(consensus::raft_host& host, metadata::partition_ref ref, std::string topic,
                    partition_config cfg, replica_hooks hooks, std::shared_ptr<spdlog::logger> log,
                    entry_cache* cache = nullptr, wall_clock wall_now_ms = {});
  ~partition_replica();
  partition_replica(const partition_replica&) = delete;
  partition_replica& operator=(const partition_replica&) = delete;

  // --- the host's callbacks (the manager wires them in create_group) --------------------------
  void apply(consensus::apply_batch&& b);
  void persisted(consensus::log_index last, term_id term);

  // --- Kafka operations -----------------------------------------------------------------------
  // Validates (batch_validation.h), stamps and proposes one Produce's records; `done` is called
  // exactly once (at once for every refusal and for acks=none). Nothing of a refused blob is
  // proposed.
  void produce(std::string records, acks_mode acks, clock::time_point deadline, produce_done done);
  // produce() in two steps, so that the validation between them may run on another thread
  // (broker_context::validate): the rules of this partition now, then the proposal of records
  // that passed them. propose_validated checks leadership again, as it may have moved meanwhile.
  batch_rules produce_rules() const;
  // Why a blob of `bytes` cannot be produced here now, if it cannot: the WAL failed, not the
  // ready leader, or over max.message.bytes.
  std::expected<void, partition_errc> can_produce(std::size_t bytes) const;
  void propose_validated(std::string records, const accepted_records& accepted, acks_mode acks,
                         clock::time_point deadline, produce_done done);
  // The answer to a blob validation refused.
  static produce_error refusal(const batch_rejection& why);
  // Committed data from `offset`, at most about max_bytes (the first entry always comes). Empty
  // records when offset is the high watermark. read_committed stops at the last stable offset
  // (an offset between it and the high watermark is no error: the answer is empty).
  std::expected<fetch_data, partition_errc> fetch(std::int64_t offset, std::uint64_t max_bytes,
                                                  isolation level = isolation::read_uncommitted) const;
  // -2 and -4: the log start; -1: the high watermark; -3: the first record with the log's largest
  // timestamp; else the first record with a timestamp at or after `timestamp_ms`; with that
  // record's timestamp (offset -1 when none). The names are in kafka/protocol/field_values.h.
  // read_committed answers the last stable offset for the latest, and nothing at or past it.
  std::expected<offset_answer, partition_errc> list_offsets(std::int64_t timestamp_ms,
                                                            isolation level = isolation::read_uncommitted) const;
  // A transaction marker from the coordinator (WriteTxnMarkers; kafka/protocol/txn_marker.h): ends
  // `producer_id`'s open transaction here, committed or aborted. Checked like Kafka (an older epoch
  // or coordinator epoch is refused), proposed as one batch, answered once committed (acks=all).
  void write_marker(std::int64_t producer_id, std::int16_t producer_epoch, const txn_marker& marker,
                    clock::time_point deadline, produce_done done);
  // A batch the group coordinator writes into its `__consumer_offsets` partition for a
  // transactional producer (TxnOffsetCommit; kafka/groups/group_records.h build_group_txn_batch):
  // exactly one transactional batch with the producer's id and epoch and no sequence. Kafka's
  // AppendOrigin.COORDINATOR: only the epoch is checked (an older one is invalid_producer_epoch),
  // never the sequence, since the coordinator has none to continue; the batch opens the producer's
  // transaction here, which its marker closes. acks=all. Not reachable from Produce: a client's
  // batch with a producer id and no sequence is refused by validation (batch_validation.h).
  void produce_as_coordinator(std::string records, clock::time_point deadline, produce_done done);
  // Whether `producer_id` has a transaction open here, counting this leader's proposals not yet
  // applied (a marker proposed closes it). The group coordinator's owner checks it before a
  // checkpoint (kafka/groups/group_coordinator.h group_write::open_producers).
  bool transaction_open(std::int64_t producer_id) const;
  // DeleteRecords (KIP-107; docs/kafka.md "Deleting records"): moves the log start offset up to
  // `offset` (-1: the high watermark) on every replica, through a control entry in the
  // partition's Raft log (control_entry.h), so the move is replicated and replayed after a
  // restart. `done` is called exactly once: with the log start offset once the entry is committed
  // and applied here; offset_out_of_range for an offset above the high watermark (or below -1);
  // not_leader from anything but the ready leader or when the entry was overwritten; timed_out
  // at `deadline`. An offset at or below the log start changes nothing and is answered at once.
  void delete_records(std::int64_t offset, clock::time_point deadline, delete_done done);
  // Raft's ReadIndex (dissertation §6.4) for reads served from a state machine built on this
  // partition, such as the group coordinator's offsets: `done(true)` once a majority confirmed this
  // node still leads, after the call, and this node applied the log through the commit index of
  // that moment. So nothing a newer leader acknowledged can be missing from what the caller reads
  // next. `done(false)` when it does not lead, loses leadership, the host refuses or at `deadline`.
  // Called exactly once, at once for a refusal.
  void confirm_leadership(clock::time_point deadline, confirm_done done);
  // OffsetForLeaderEpoch (KIP-101, KIP-320): the largest leader epoch at or below `epoch` that the
  // log holds and the offset where it ends (leader_epochs.h), from the ready leader only.
  std::expected<epoch_end, partition_errc> end_offset_for_epoch(std::int32_t epoch) const;

  // --- housekeeping (the manager's tick) ------------------------------------------------------
  // Answers timed_out to producers whose deadline passed, forgets answered proposals of older
  // terms, and reports a leadership change the applies did not show.
  void expire(clock::time_point now);
  // Drops entries beyond retention.ms / retention.bytes: snapshot + compaction in the Raft log,
  // then the index (Raft paper §7). Also compacts the log through entries a DeleteRecords
  // already removed from the index.
  void enforce_retention(std::int64_t now_ms);
  // As leader, proposes forgetting the idempotent producers idle beyond producer_id_expiration_ms
  // by `now_ms` (wall clock): a control entry every replica applies alike (control_entry.h).
  void expire_producers(std::int64_t now_ms);
  // Answers every waiting producer with timed_out (the replica is going away). Whether those
  // proposals commit is unknown here (a new leader may still commit them), so the answer must
  // not say "not written": not_leader is kept for proposals known to be overwritten.
  void fail_all();
  void set_config(const partition_config& cfg) { cfg_ = cfg; }
  const partition_config& config() const { return cfg_; }
  // The partition's `__meta` record changed its replicas or move target; its group is the same.
  void set_ref(const metadata::partition_ref& ref);
  // In-sync replicas (docs/kafka.md "In-sync replicas"): the leader records what its Raft core
  // knows of each follower (track_isr, at the manager's tick) and answers which replicas caught up
  // within replica.lag.time.max.ms (in_sync_replicas: empty when this node does not lead).
  void set_replica_lag_max_ms(std::int64_t ms) {
    isr_ = isr_tracker(ms);
    isr_term_ = {};
    isr_quiet_at_.reset();
  }
  // `down`: brokers `__meta` shows dead or left, fenced out of the ISR (isr_tracker::fence).
  // `asleep`: the group was quiesced at every tick since the last call, so its role, term and log
  // are as they were then (raft_host::awake_groups).
  void track_isr(clock::time_point now, const std::set<node_id>& down, bool asleep = false);
  std::vector<node_id> in_sync_replicas(clock::time_point now) const;
  // What a leadership report carries, while this replica leads and is ready to serve
  // (leader_ready): its term, the Kafka leader epoch, and in_sync_replicas(now). One look at the
  // core for what leader(), leader_ready(), leader_epoch() and in_sync_replicas() ask separately.
  struct leadership {
    term_id term;
    std::vector<node_id> isr;
  };
  std::optional<leadership> ready_leadership(clock::time_point now) const;

  // --- state ----------------------------------------------------------------------------------
  const metadata::partition_ref& ref() const { return ref_; }
  const std::string& topic() const { return topic_; }
  group_id group() const { return ref_.group; }
  node_id leader() const;
  term_id leader_epoch() const;  // the Raft term (docs/design.md "Leader epoch")
  // Leader, and every entry of earlier terms applied, so predictions and reads are exact.
  bool leader_ready() const;
  // Work with a deadline is waiting here (replica_hooks::on_deadline).
  bool has_deadlines() const { return !in_flight_.empty() || !deletions_.empty() || !confirmations_.empty(); }
  // The group's full status (configuration and match indexes) while this replica leads it, else
  // nothing; a follower's answer costs no allocation.
  std::optional<consensus::raft_status> status_if_leading() const;
  // Leading, with a configuration other than exactly this partition's replicas as voters (a
  // learner, a missing or an extra voter): the at-rest pass of the manager's moves must look.
  // `asleep`: the group was quiesced at every tick since the last call (as for track_isr).
  bool needs_reconciling(bool asleep = false);
  std::int64_t high_watermark() const { return index_.high_watermark(); }
  // The offset below which every transaction is decided: the first open transaction's first
  // offset, or the high watermark when none is open (never below the log start).
  std::int64_t last_stable_offset() const;
  std::int64_t log_start_offset() const { return index_.log_start_offset(); }
  std::size_t in_flight() const { return in_flight_.size(); }
  const partition_index& index() const { return index_; }
  const leader_epochs& epochs() const { return epochs_; }
  // Idempotent producers' state as applied here (producer_state.h).
  const producer_table& producers() const { return producers_.current(); }

 private:
  // Tells the manager this replica now holds work with a deadline (replica_hooks::on_deadline).
  void took_deadline() {
    if (hooks_.on_deadline) hooks_.on_deadline(ref_.group);
  }
  void campaign_if_first();
  // A retry of an idempotent batch still in flight: answered with the proposal it repeats.
  struct retry_waiter {
    clock::time_point deadline;
    produce_done done;
  };
  struct proposal {
    consensus::log_index index;
    term_id term;
    std::int64_t base_offset = 0;  // predicted
    std::int32_t records = 0;
    std::int64_t log_append_time_ms = -1;
    acks_mode acks = acks_mode::all;
    clock::time_point deadline;
    produce_done done;  // empty once answered
    std::vector<retry_waiter> retries;  // answered with the proposal, whenever that is
  };

  // A ReadIndex awaiting its read point (`index` once Raft answered) and that point's apply.
  struct confirmation {
    std::string context;
    term_id term;
    std::optional<consensus::log_index> index;
    clock::time_point deadline;
    confirm_done done;
  };

  // A DeleteRecords proposal awaiting its entry's apply.
  struct deletion {
    consensus::log_index index;
    term_id term;
    clock::time_point deadline;
    delete_done done;
  };

  void apply_entry(consensus::entry& e);
  // A leader's snapshot (or ours at reopen): the index and the producers as of its cut.
  void restore_snapshot(const consensus::snapshot& snap);
  // A control entry (control_entry.h); true when it was a delete_records command that applied.
  bool apply_control(const consensus::entry& e);
  // Answers every deletion at or before the applied entry `e`: the one at e's index succeeded
  // iff it is that very entry (same term) and `e` was a deletion; the others were overwritten.
  void resolve_deletions_through(const consensus::entry& e, bool e_deleted);
  // Our proposal just took `index`: waiting proposals of older terms there or after it are gone.
  void answer_overwritten(consensus::log_index index);
  std::expected<consensus::log_index, partition_errc> propose_entry(std::string data);
  // ListOffsets by timestamp inside entry `e` (the first whose max timestamp reaches it).
  // ListOffsets' offset and timestamp for `timestamp_ms` (a time or one of the special values).
  offset_answer locate(std::int64_t timestamp_ms) const;
  offset_answer first_record_at_or_after(const indexed_entry& e, std::int64_t timestamp_ms) const;
  // The same inside one batch of the cleaned prefix.
  offset_answer first_record_in_cleaned(const cleaned_prefix::batch& b, std::int64_t timestamp_ms) const;
  // Compacts the Raft log through a retention cut (the log start moves to it) or, without one,
  // through a pending DeleteRecords cut; either way with a snapshot at the cut (Raft paper §7).
  void cut_log(std::optional<log_cut> cut);
  // --- log compaction (partition_compaction.cc; docs/kafka.md "Log compaction") ---
  // cleanup.policy=compact,delete: the prefix's batches expired by retention.ms or retention.bytes,
  // from the front, leave (the log start moves past them). True when the whole prefix has gone, so
  // the entries' own retention applies next.
  bool expire_prefix(std::int64_t now_ms);
  // Cleans the prefix and the entries due for it, when the topic's rules say the log is dirty
  // enough, and compacts the Raft log through them.
  void clean_if_due(std::int64_t now_ms);
  // The snapshot at `cut`, whose log start is `start` (at most the cut's next offset): version 3
  // (log start and cleaned prefix) for a compacted partition, else the cut and the producers.
  std::string snapshot_for(const log_cut& cut, std::int64_t start) const;
  // Appends the wanted entries [from, to) read from the WAL, stamped; false when a read fails
  // (what was appended is a valid prefix).
  bool read_from_log(const std::vector<indexed_entry>& wanted, std::size_t from, std::size_t to,
                     byte_chain& out) const;
  void resolve_through(const consensus::entry& e, std::optional<std::int64_t> base_offset);
  void answer(proposal& p, std::expected<produce_ack, produce_error> r);
  // partition_producers.cc: idempotent producers and transactions at this partition.
  // The idempotence check of a blob's one producer batch (producer_state.h): nullopt to propose
  // it; else the batch was answered here (a duplicate, or refused).
  std::optional<producer_batch_id> check_producer(const accepted_records& accepted, term_id term,
                                                  clock::time_point deadline, produce_done& done);
  // Stamps and proposes records whose producer check passed (`producer`: the batch to project).
  void propose_checked(std::string records, const accepted_records& accepted, acks_mode acks,
                       clock::time_point deadline, produce_done done, term_id term,
                       const std::optional<producer_batch_id>& producer);
  // The idempotent batches of an entry being applied, stamped from `base`.
  void apply_producers(const consensus::entry& e, const std::vector<record_batch_view>& batches, std::int64_t base);

  std::int64_t predicted_next(term_id term) const;
  void check_leadership();
  // partition_reads.cc: ReadIndex answers from an apply, and the ones that cannot come any more.
  void take_read_states(std::vector<consensus::read_state>& reads);
  void resolve_confirmations();
  void expire_confirmations(clock::time_point now, bool all);

  consensus::raft_host& host_;
  metadata::partition_ref ref_;
  std::string topic_;
  partition_config cfg_;
  replica_hooks hooks_;
  std::shared_ptr<spdlog::logger> log_;
  entry_cache* cache_;
  wall_clock wall_now_ms_;

  partition_index index_;
  leader_epochs epochs_;  // rebuilt with the index: from every applied entry's term
  producer_history producers_;  // applied, and as of any cut still in the log (snapshots)
  producer_guard producer_guard_;  // the leader's projection over its proposals of this term
  // Wall ms when this replica applied each producer's newest batch: expiry's idle clock, local and
  // not replicated (the leader's decision is, through the expiry entry).
  std::unordered_map<std::int64_t, std::int64_t> producer_seen_ms_;
  term_id guard_term_;
  isr_tracker isr_{30'000};
  term_id isr_term_;  // the term isr_ tracks; {} while not leading
  // The last index at which the last ISR observation found this leader quiesced (track_isr).
  std::optional<consensus::log_index> isr_quiet_at_;
  std::vector<node_id> isr_voters_;  // the voters at the last observation that copied the status
  bool reconciled_ = false;  // needs_reconciling last found this leader's voters its replicas
  term_id last_applied_term_;
  std::deque<proposal> in_flight_;  // ascending by Raft index
  std::deque<deletion> deletions_;  // ascending by Raft index; each answered once, then removed
  std::deque<confirmation> confirmations_;  // in the order asked
  std::uint64_t next_confirmation_ = 0;
  // A DeleteRecords applied here dropped index entries through this cut; the Raft log is compacted
  // there at the next retention check (enforce_retention), off the apply path.
  std::optional<log_cut> pending_compaction_;
  // The last cleaning pass that found the prefix would grow past max_cleaned_prefix_bytes: logged
  // once, not every retention check.
  bool cleaned_prefix_full_logged_ = false;
  node_id reported_leader_;
  term_id reported_term_;
  bool reported_ready_ = false;
  bool campaign_tried_ = false;  // campaign_if_first looked, once the group ran  // leader_ready() when on_leadership last fired
  // leader_ready() from a status already at hand (one host lookup per apply, not two).
  bool leader_ready(const consensus::raft_brief& st) const;
};

}  // namespace chronik::kafka
