// Small files that must survive a crash whole or not at all (node_uuid, formation state): written
// to a temp file, fsynced, renamed over the old one, and the directory fsynced.
#pragma once

#include <cstddef>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace chronik::daemon {

// `mode` is the file's permission bits (0600 for secrets such as the gossip keyring).
std::expected<void, std::string> write_file_durably(const std::filesystem::path& dir, std::string_view name,
                                                    std::string_view contents, unsigned mode = 0644);

// fsyncs a directory, so that renames and removals in it survive a crash.
std::expected<void, std::string> fsync_dir(const std::filesystem::path& dir);

// The whole file if it exists (nullopt if not); an error if it cannot be read or exceeds max_bytes.
std::expected<std::optional<std::string>, std::string> read_small_file(const std::filesystem::path& path,
                                                                       std::size_t max_bytes);

}  // namespace chronik::daemon
