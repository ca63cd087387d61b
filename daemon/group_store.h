// The shell that keeps consumer group state in `__consumer_offsets` (docs/kafka.md "Durable
// groups"). The group coordinator core (kafka/groups/group_coordinator.h) decides everything: what
// to write, when a commit is acknowledged, when to checkpoint. This shell only moves bytes: it
// tells the core which offsets partitions this node leads, feeds it their logs when it takes one
// over, appends the record batches the core asks for through the partition's produce path with
// acks=all, reports each outcome, and trims the log at a committed checkpoint (DeleteRecords' log
// start).
//
// Transactions (docs/kafka.md "Transactional offsets"). A TxnOffsetCommit's write is appended as
// the producer's transactional batch (partition_replica::produce_as_coordinator). Its marker is
// written into the partition by the transaction coordinator, not by this node's core, so the core
// must be told of it: the simplest correct route is the log itself. After the load the shell keeps
// its cursor and reads what was appended since (only the transactional batches and markers are
// decoded), every tick and before it reports one of the core's writes committed when something
// lies between the cursor and that write, and hands the core each marker (txn_marker_applied) and
// each transactional record (load_txn) in log order. So the core sees markers and its own writes in
// exactly the log's order, as a load would. A marker after the last write takes effect up to a tick
// after it commits; OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT meanwhile, and
// the client retries. A checkpoint is appended only while every transaction it was
// built as open is still open in the partition (transaction_open, checked as it is proposed, so no
// marker can slip in between); otherwise the shell catches up and the core builds it again.
//
// Threading: the io thread, like the partition replicas it drives.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>

#include <spdlog/logger.h>

#include "base/node_id.h"
#include "consensus/core/types.h"
#include "kafka/groups/group_coordinator.h"
#include "kafka/partition/partition_manager.h"

namespace chronik::daemon {

class group_store {
 public:
  group_store(kafka::group_coordinator& core, chronik::node_id self, std::shared_ptr<spdlog::logger> log);
  ~group_store();
  group_store(const group_store&) = delete;
  group_store& operator=(const group_store&) = delete;

  // Once per tick, after the core's own tick: follows the leadership of the `partitions`
  // partitions of `__consumer_offsets` (0: the topic does not exist yet) on `mgr` (null while the
  // node has no Raft host), loads what it took over, and appends what the core wrote.
  void tick(kafka::partition_manager* mgr, std::int32_t partitions, std::int64_t wall_ms);
  // Appends what the core wrote since the last call, at once: a commit then waits for Raft alone,
  // not for the next tick as well. The owner calls it right after the request that made the write.
  void flush(kafka::partition_manager* mgr, std::int64_t wall_ms);
  // The node stops or replaces its Raft host: every partition is given up.
  void release();
  // The Raft term in which the core loaded `partition`, when it is loaded: a read confirmed by
  // ReadIndex in another term must not be served from it (the shell has not followed yet).
  std::optional<consensus::term_id> loaded_term(std::int32_t partition) const;

 private:
  // A partition this node leads: the term it leads in and the next offset to load.
  struct cursor {
    consensus::term_id term;
    std::int64_t next = 0;
  };

  void follow(kafka::partition_manager& mgr, std::int32_t partitions);
  // Feeds the core a bounded slice of the partition's log; true once it reached the high watermark.
  // While loading every record; once loaded (`loaded`), only transactional records and markers.
  bool load_some(const kafka::partition_replica& rep, std::int32_t partition, cursor& c, std::uint64_t& budget,
                 bool loaded = false);
  // A write of the core committed at [base, base + count) of the partition in `term`: hands the
  // core what lies between the cursor and it first (markers), then moves the cursor past it.
  void caught_up_to(const kafka::partition_replica& rep, std::int32_t partition, consensus::term_id term,
                    std::int64_t base, std::int64_t count);
  // Whether a checkpoint's first part may be appended now (group_write::open_producers).
  bool checkpoint_allowed(const kafka::partition_replica& rep, const kafka::group_write& w);
  void append(kafka::partition_manager& mgr, kafka::group_write w, std::int64_t wall_ms);
  // Moves the log start of partitions whose checkpoint committed (DeleteRecords' control entry).
  void trim(kafka::partition_manager& mgr);

  kafka::group_coordinator& core_;
  chronik::node_id self_;
  std::shared_ptr<spdlog::logger> log_;
  std::map<std::int32_t, cursor> cursors_;
  // The first part's base offset of the checkpoint being written, per partition: where the log
  // may start once its last part is committed.
  std::map<std::int32_t, std::int64_t> checkpoint_base_;
  std::map<std::int32_t, std::int64_t> trims_;  // partition -> new log start, for the next tick
  // Where the checkpoint being written may trim at most (its first part's keep_from), per partition.
  std::map<std::int32_t, std::int64_t> checkpoint_keep_;
  // Partitions whose current checkpoint was refused: its remaining parts are reported failed.
  std::map<std::int32_t, bool> refusing_checkpoint_;
  // Produce answers may come after this shell is gone (the partition manager answers its waiting
  // producers when it is destroyed): they check this first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace chronik::daemon
