// The Raft write-ahead log shared by every group of a node (docs/design.md "Threads"): one
// fdatasync makes a whole batch of groups' hard states, entries and snapshots durable. Format,
// recovery rules and the crash-safety argument are in docs/storage.md.
//
// Threading contract:
//   - One thread, the writer (the disk thread), calls every non-const member: append_batch,
//     save_snapshot, compact_prefix, truncate_suffix and the destructor.
//   - log_reader objects from reader(), and load_snapshot/groups/stats, may be called from any
//     thread concurrently with the writer (in chronik: the Asio thread that runs the cores). A
//     shared mutex guards the in-memory index; the writer holds it exclusively only while it
//     updates the index after an fsync, never across disk I/O, so reads never wait for an fsync.
//   - Readers see a write only once it is durable: the core keeps its unstable entries itself
//     until the shell reports them persisted (etcd's Ready contract).
//   - A reader must not outlive its wal.
//
// Failure model: any failed write or fsync poisons the WAL (storage_errc::failed for every later
// write), because after a failed fsync the kernel may have dropped the dirty pages and a retry
// could report success for data that is gone. Reopening re-reads what is really on disk.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/latency_histogram.h"
#include "consensus/core/log_reader.h"
#include "consensus/core/types.h"
#include "consensus/storage/storage_error.h"

namespace chronik::consensus {

enum class sync_mode : std::uint8_t {
  group_commit,  // one frame and one fdatasync per append_batch call
  per_write,     // one frame and one fdatasync per group_write (to measure group commit)
};

struct wal_options {
  // A segment is closed and a new one started once it holds at least this many bytes. Smaller
  // segments free disk sooner after compaction; each costs one checkpoint frame. Default 64 MiB.
  std::uint64_t segment_bytes = 64ull << 20;
  // Largest frame written or accepted at recovery (a whole batch, or one snapshot file). A length
  // field above it is treated as damage. Default 256 MiB.
  std::uint32_t max_record_bytes = 256u << 20;
  sync_mode sync = sync_mode::group_commit;
  // Receives recovery actions (tail truncation, orphan removal) and I/O errors. May be empty.
  // Called on the writer thread, and on a reader's thread when a read fails: must be thread-safe
  // (a spdlog logger is).
  log_sink sink;
};

// What the shell must make durable for one group from one Raft ready (docs/raft.md "Interface and
// the shell's contract").
struct group_write {
  group_id group;
  std::optional<hard_state> state;
  // Contiguous, increasing indexes. A first index <= the last stored index overwrites the stored
  // suffix from there (Raft paper §5.3): the WAL records the truncation in the same frame.
  std::vector<entry> entries;
  // A snapshot received from the leader: it replaces the whole log (Raft paper §7). Its file is
  // durable before the frame that references it is written.
  std::optional<snapshot> snap;
};

struct wal_stats {
  std::uint64_t segments = 0;
  std::uint64_t bytes = 0;        // total size of live segment files
  std::uint64_t frames_written = 0;
  std::uint64_t fsyncs = 0;       // fdatasync/fsync calls made by this instance
  std::uint64_t groups = 0;
  std::uint64_t bytes_written = 0;  // bytes of the frames appended (group-commit frames)
  // The fdatasync of each group-commit frame, the wait every acknowledged write pays
  // (docs/operations.md "Metrics and readiness").
  latency_snapshot fsync_latency;
};

class wal {
 public:
  // Opens (creating if needed) <data_dir>/raft/ and recovers every group's state. A torn tail of
  // the last segment is truncated and logged; any other damage fails with storage_errc::corrupt
  // naming the file and offset.
  static std::expected<std::unique_ptr<wal>, storage_error> open(
      const std::filesystem::path& data_dir, wal_options options);

  ~wal();
  wal(const wal&) = delete;
  wal& operator=(const wal&) = delete;

  // Makes every write durable before returning (one fdatasync in sync_mode::group_commit). A
  // group may appear at most once per batch. Writes that break the log are refused up front with
  // invalid_argument and nothing is written. On an I/O error the WAL is poisoned (see above) and
  // nothing of the batch is applied in memory (in sync_mode::per_write, writes before the failing
  // one are durable and applied).
  std::expected<void, storage_error> append_batch(std::span<const group_write> writes);

  // Stores the state machine's snapshot of `group` (its index must be stored or be the compaction
  // point) as the group's latest; the log itself is unchanged. Follow with compact_prefix.
  std::expected<void, storage_error> save_snapshot(group_id group, const snapshot& snap);
  // Drops entries <= through. through must not pass the latest snapshot's index, so everything
  // dropped is covered by a durable snapshot. A no-op at or below the current compaction point.
  std::expected<void, storage_error> compact_prefix(group_id group, log_index through);
  // Drops entries >= from. from must lie after the compaction point.
  std::expected<void, storage_error> truncate_suffix(group_id group, log_index from);

  // After a failed write or fsync (the WAL is poisoned): cuts the active segment back to the bytes
  // its last successful fdatasync covered, and removes a segment a failed rotation had begun.
  // What fdatasync never confirmed may still sit in the page cache and read back as valid frames
  // although the disk may not hold them (docs/storage.md "Disk faults"); once cut, a later open
  // sees only frames that were durable. None of the cut bytes was acknowledged. Writer thread
  // only. The WAL stays poisoned: close it and open it again. A no-op on a healthy WAL.
  std::expected<void, storage_error> discard_unsynced();

  // Reads the latest snapshot with its payload, checking its CRC. not_found when none.
  std::expected<snapshot, storage_error> load_snapshot(group_id group) const;

  // The Raft core's view of one group; a group never written reads as empty.
  std::unique_ptr<log_reader> reader(group_id group) const;

  // Groups with any durable state, ascending (after open: the groups found at recovery).
  std::vector<group_id> groups() const;
  // Groups whose live entries keep the oldest segment from being deleted: the shell should
  // snapshot and compact them so disk is reclaimed.
  std::vector<group_id> groups_pinning_oldest_segment() const;
  wal_stats stats() const;

  struct impl;

 private:
  explicit wal(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace chronik::consensus
