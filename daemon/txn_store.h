// The shell that keeps the transaction coordinator's state in `__transaction_state`
// (docs/transactions.md "The shell"). The coordinator core (kafka/txn/txn_coordinator.h) decides
// everything: what to write, when a request is answered, when to checkpoint. This shell only moves
// bytes, exactly as daemon/group_store.h does for `__consumer_offsets`: it tells the core which
// state partitions this node leads (with the partition's Raft term as the coordinator epoch), feeds
// it their logs when it takes one over, appends the record batches the core asks for through the
// partition's produce path with acks=all, reports each outcome, and trims the log at a committed
// checkpoint (DeleteRecords' log start).
//
// Threading: the io thread, like the partition replicas it drives.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include <spdlog/logger.h>

#include "base/node_id.h"
#include "consensus/core/types.h"
#include "kafka/partition/partition_manager.h"
#include "kafka/txn/txn_coordinator.h"

namespace chronik::daemon {

class txn_store {
 public:
  // `written` (may be empty) runs after each write's outcome reached the core: a stored
  // PrepareCommit / PrepareAbort has marker work for the owner then.
  txn_store(kafka::txn_coordinator& core, chronik::node_id self, std::shared_ptr<spdlog::logger> log,
            std::function<void()> written = {});
  ~txn_store();
  txn_store(const txn_store&) = delete;
  txn_store& operator=(const txn_store&) = delete;

  // Once per tick, after the core's own tick: follows the leadership of the `partitions`
  // partitions of `__transaction_state` (0: the topic does not exist yet) on `mgr` (null while the
  // node has no Raft host), loads what it took over, and appends what the core wrote.
  void tick(kafka::partition_manager* mgr, std::int32_t partitions, std::int64_t wall_ms);
  // Appends what the core wrote since the last call, at once: the owner calls it right after the
  // request that made the write, so the answer waits for Raft alone.
  void flush(kafka::partition_manager* mgr, std::int64_t wall_ms);
  // Between ticks, right before a request asks the core: a partition this node came to lead since
  // the last tick begins loading now (with a small budget: a short log is loaded at once), so a
  // client that FindCoordinator sent here as soon as `__meta` recorded the leader is not answered
  // NOT_COORDINATOR by the leader itself.
  void follow_now(kafka::partition_manager* mgr, std::int32_t partitions);
  // The node stops or replaces its Raft host: every partition is given up.
  void release();
  // The Raft term in which the core loaded `partition`, when it is loaded: an answer confirmed by
  // ReadIndex in another term must not be served from it (the shell has not followed yet). It is
  // also the partition's coordinator epoch.
  std::optional<consensus::term_id> loaded_term(std::int32_t partition) const;

 private:
  // A partition this node leads: the term it leads in and the next offset to load.
  struct cursor {
    consensus::term_id term;
    std::int64_t next = 0;
  };

  void follow(kafka::partition_manager& mgr, std::int32_t partitions, std::uint64_t budget);
  // Feeds the core a bounded slice of the partition's log; true once it reached the high watermark.
  bool load_some(const kafka::partition_replica& rep, std::int32_t partition, cursor& c, std::uint64_t& budget);
  void append(kafka::partition_manager& mgr, kafka::txn_write w, std::int64_t wall_ms);
  // Moves the log start of partitions whose checkpoint committed (DeleteRecords' control entry).
  void trim(kafka::partition_manager& mgr);

  kafka::txn_coordinator& core_;
  chronik::node_id self_;
  std::shared_ptr<spdlog::logger> log_;
  std::function<void()> written_;
  std::map<std::int32_t, cursor> cursors_;
  // The first part's base offset of the checkpoint being written, per partition: where the log
  // may start once its last part is committed.
  std::map<std::int32_t, std::int64_t> checkpoint_base_;
  std::map<std::int32_t, std::int64_t> trims_;  // partition -> new log start, for the next tick
  // Produce answers may come after this shell is gone (the partition manager answers its waiting
  // producers when it is destroyed): they check this first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace chronik::daemon
