// Snapshot files snap-<group>-<index>.snap: one frame (frame.h) whose header is a
// SnapshotFileHeader and whose blob is the snapshot payload. Internal to consensus/storage.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>

#include "consensus/core/types.h"
#include "consensus/storage/storage_error.h"

namespace chronik::consensus::detail {

std::string snapshot_file_name(group_id group, log_index index);
struct snapshot_name {
  group_id group;
  log_index index;
};
std::optional<snapshot_name> parse_snapshot_file_name(const std::string& name);

std::string segment_file_name(std::uint64_t seq);
std::optional<std::uint64_t> parse_segment_file_name(const std::string& name);

// Writes <dir>/snap-...snap.tmp, fsyncs it and renames it into place. The caller syncs `dir`
// (once for several files) before anything refers to the new name.
std::expected<void, storage_error> write_snapshot_file(const std::filesystem::path& dir,
                                                       group_id group, const snapshot& snap,
                                                       std::uint32_t max_record_bytes);

// Reads and checks a snapshot file: CRC, and that its header names this group and index.
std::expected<snapshot, storage_error> read_snapshot_file(const std::filesystem::path& dir,
                                                          group_id group, log_index index,
                                                          std::uint32_t max_record_bytes);

}  // namespace chronik::consensus::detail
