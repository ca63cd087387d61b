// wal::impl, shared by wal.cc (writes), wal_recovery.cc (open) and wal_reader.cc (reads).
// Internal to consensus/storage.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <shared_mutex>
#include <string>
#include <vector>

#include "consensus/storage/file_io.h"
#include "consensus/storage/wal.h"
#include "consensus/storage/wal_index.h"

namespace chronik::consensus {

struct segment_file {
  std::filesystem::path path;
  io::unique_fd fd;
  std::uint64_t size = 0;  // bytes of valid frames; the next frame goes here
};

struct wal::impl {
  std::filesystem::path dir;  // <data_dir>/raft
  wal_options options;
  io::unique_fd lock_fd;

  // Guards index and segments against concurrent readers. Only the writer thread mutates them,
  // so the writer reads both without the lock and takes it exclusively to change them.
  mutable std::shared_mutex mu;
  detail::wal_index index;
  std::map<std::uint64_t, segment_file> segments;
  std::uint64_t active = 0;  // sequence number of the segment being appended to

  bool failed = false;   // writer thread only
  std::atomic<std::uint64_t> frames_written{0};
  std::atomic<std::uint64_t> fsyncs{0};
  // Written by the writer thread only, read by stats() on any thread.
  std::atomic<std::uint64_t> bytes_written{0};
  shared_latency_histogram fsync_latency;

  void log(log_level level, std::string_view text) const {
    if (options.sink) options.sink(level, text);
  }
  [[noreturn]] void broken_invariant(std::string_view text) const;

  // Writes one frame with these records (entries' payloads as the blob, in record order) to the
  // active segment, fdatasyncs, and applies it to the index.
  io::result commit(proto::WalBatch& header, const std::vector<const entry*>& payloads);
  // Starts segment active + 1 with a checkpoint of the current state.
  io::result rotate();
  // Writes the checkpoint frame that must open segment `seq` and makes it durable.
  io::result write_checkpoint(segment_file& seg, std::uint64_t seq);
  // Deletes the oldest segments while none of their entries is live.
  void collect_garbage();
  io::result poison(storage_error e);
};

}  // namespace chronik::consensus
