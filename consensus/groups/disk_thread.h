// The host's disk thread (docs/design.md "Threads"): the only thread that writes the shared WAL
// (its threading contract, consensus/storage/wal.h). The Asio thread submits batches; the disk
// thread merges everything queued into ONE wal::append_batch, so one fdatasync covers every group
// of every batch that waited (group commit), then runs the queued snapshot/compaction/removal
// operations and reports back through `done`, which the host turns into an asio::post.
//
// Ordering: batches complete in submission order. They are group-disjoint (the host's core never
// takes a group's next ready before its previous one completed), so merging them cannot reorder
// one group's writes. Operations run
// after the merged append; a compaction never touches what an append writes (it is at or below
// the applied index, and appends only change the log above the commit index).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "consensus/groups/disk_batch.h"
#include "consensus/groups/removed_groups.h"
#include "consensus/storage/wal.h"

namespace chronik::consensus {

// What comes back to the Asio thread for one merged append.
struct disk_result {
  std::vector<std::uint64_t> batches;  // disk_batch::id of each submitted batch this completes
  std::expected<void, storage_error> append = {};  // the append_batch outcome
  std::vector<storage_error> op_errors;            // failed snapshot/compaction/removal steps
};

struct disk_stats {
  std::uint64_t append_batches = 0;  // wal::append_batch calls (one fdatasync each)
  std::uint64_t group_writes = 0;    // group writes those calls carried
  std::uint64_t max_groups_per_append = 0;
};

class disk_thread {
 public:
  using done_fn = std::function<void(disk_result)>;

  // Starts the thread. `w` and `removed` are used only by that thread from now on, except for the
  // WAL's const readers, which any thread may use.
  disk_thread(wal& w, removed_groups& removed, std::uint64_t max_merge_bytes, done_fn done);
  // Finishes every submitted batch (reporting them through `done`), then joins.
  ~disk_thread();
  disk_thread(const disk_thread&) = delete;
  disk_thread& operator=(const disk_thread&) = delete;

  // Queues a batch. The caller bounds how many are outstanding (host_config).
  void submit(disk_batch b);
  disk_stats stats() const;

 private:
  void run();
  disk_result process(std::vector<disk_batch>& merged);
  void run_op(const disk_op& op, disk_result& out);

  wal& wal_;
  removed_groups& removed_;
  const std::uint64_t max_merge_bytes_;
  done_fn done_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<disk_batch> queue_;
  bool stop_ = false;
  disk_stats stats_;
  std::thread thread_;  // last: starts after everything above is initialised
};

}  // namespace chronik::consensus
