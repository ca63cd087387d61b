#include "consensus/storage/snapshot_file.h"

#include <charconv>
#include <fmt/format.h>

#include "consensus/storage/file_io.h"
#include "consensus/storage/frame.h"
#include "consensus/storage/wal_index.h"
#include "raft_storage.pb.h"

namespace chronik::consensus::detail {
namespace {

// Parses all of s as a decimal number. Names zero-pad to 16 digits, but larger numbers print
// longer, so any length is accepted.
std::optional<std::uint64_t> parse_number(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string snapshot_file_name(group_id group, log_index index) {
  return fmt::format("snap-{:016}-{:016}.snap", group.value, index.value);
}

std::optional<snapshot_name> parse_snapshot_file_name(const std::string& name) {
  std::string_view s = name;
  if (!s.starts_with("snap-") || !ends_with(s, ".snap")) return std::nullopt;
  s = s.substr(5, s.size() - 10);
  const auto dash = s.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto g = parse_number(s.substr(0, dash));
  auto i = parse_number(s.substr(dash + 1));
  if (!g || !i) return std::nullopt;
  return snapshot_name{group_id{*g}, log_index{*i}};
}

std::string segment_file_name(std::uint64_t seq) { return fmt::format("wal-{:016}.log", seq); }

std::optional<std::uint64_t> parse_segment_file_name(const std::string& name) {
  std::string_view s = name;
  if (!s.starts_with("wal-") || !ends_with(s, ".log")) return std::nullopt;
  return parse_number(s.substr(4, s.size() - 8));
}

std::expected<void, storage_error> write_snapshot_file(const std::filesystem::path& dir,
                                                       group_id group, const snapshot& snap,
                                                       std::uint32_t max_record_bytes) {
  proto::SnapshotFileHeader header;
  header.set_group(group.value);
  *header.mutable_meta() = to_proto(snap.meta);
  std::string header_bytes;
  if (!header.SerializeToString(&header_bytes)) {
    return std::unexpected(storage_error{storage_errc::invalid_argument, "snapshot header"});
  }
  if (snap.data.size() + header_bytes.size() + frame::prefix_bytes > max_record_bytes) {
    return std::unexpected(storage_error{
        storage_errc::too_large,
        fmt::format("snapshot of group {} is {} bytes, above max_record_bytes {}", group.value,
                    snap.data.size(), max_record_bytes)});
  }
  std::string bytes;
  bytes.reserve(frame::header_bytes + frame::prefix_bytes + header_bytes.size() +
                snap.data.size());
  const std::size_t start = frame::begin(bytes, header_bytes);
  bytes.append(snap.data);
  frame::finish(bytes, start);

  const auto final_path = dir / snapshot_file_name(group, snap.meta.index);
  auto tmp_path = final_path;
  tmp_path += ".tmp";
  std::error_code ec;
  std::filesystem::remove(tmp_path, ec);  // a leftover of a crash; a failure shows up in open
  auto fd = io::open_file(tmp_path, io::open_mode::create_exclusive);
  if (!fd) return std::unexpected(fd.error());
  if (auto r = io::pwrite_full(fd->get(), tmp_path, bytes.data(), bytes.size(), 0); !r) return r;
  if (auto r = io::datasync(fd->get(), tmp_path); !r) return r;
  // rename() is atomic: a crash leaves either no file or the whole, synced file under the name.
  std::filesystem::rename(tmp_path, final_path, ec);
  if (ec) return std::unexpected(io::errno_error("rename to", final_path, ec.value()));
  return {};
}

std::expected<snapshot, storage_error> read_snapshot_file(const std::filesystem::path& dir,
                                                          group_id group, log_index index,
                                                          std::uint32_t max_record_bytes) {
  const auto path = dir / snapshot_file_name(group, index);
  auto bytes = io::read_whole(path);
  if (!bytes) return std::unexpected(bytes.error());
  const frame::decoded d = frame::decode(*bytes, 0, max_record_bytes);
  proto::SnapshotFileHeader header;
  if (d.result != frame::status::ok || d.end != bytes->size() ||
      !header.ParseFromArray(d.header.data(), static_cast<int>(d.header.size())) ||
      header.group() != group.value || header.meta().index() != index.value) {
    return std::unexpected(storage_error{
        storage_errc::corrupt,
        fmt::format("snapshot file {} at offset 0: {}", path.string(),
                    d.result == frame::status::ok ? "header does not match its name"
                                                  : d.reason)});
  }
  auto meta = from_proto(header.meta());
  if (!meta) {
    return std::unexpected(storage_error{storage_errc::corrupt,
                                         fmt::format("snapshot file {}: {}", path.string(), meta.error())});
  }
  return snapshot{std::move(*meta), std::string(d.blob)};
}

}  // namespace chronik::consensus::detail
