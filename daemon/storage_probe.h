// Whether a data directory takes writes again after a disk fault (docs/storage.md "Disk
// faults"): the fenced node asks this every few seconds before it reopens its WAL.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>

namespace chronik::daemon {

struct storage_probe_options {
  // The file system must report at least this much space free for unprivileged writers
  // (statvfs f_bavail), so that a node does not reopen into a disk that fills again at once.
  std::uint64_t min_free_bytes = 16ull << 20;
  // Then this many bytes are written to a probe file in the directory and fdatasynced, which
  // proves that the device accepts writes and syncs (a failing disk may report free space).
  std::uint64_t probe_bytes = 1ull << 20;
};

// Ok when both checks pass; the probe file is removed either way. The error is one log line.
std::expected<void, std::string> probe_storage(const std::filesystem::path& data_dir,
                                               const storage_probe_options& options = {});

}  // namespace chronik::daemon
