// wal::open: rebuilds the index from the segments (docs/storage.md "Recovery"). The rules:
//   - a damaged frame (incomplete, impossible length, CRC mismatch) at the end of the LAST
//     segment is a torn write: it is truncated away and logged;
//   - a damaged frame anywhere else, or one followed by any valid frame of the same segment, means
//     data that was once durable is damaged: open fails naming the file and byte offset;
//   - a frame whose CRC matches but whose content breaks a log rule fails open the same way.
// One frame is one group-commit batch, written (in calls of at most 1 MiB) and made durable by one
// fdatasync before the next is written, so only the last frame can be torn.
#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include <algorithm>
#include <fmt/format.h>

#include "base/crc32c.h"
#include "consensus/storage/frame.h"
#include "consensus/storage/snapshot_file.h"
#include "consensus/storage/wal_impl.h"

namespace chronik::consensus {
namespace {

using open_result = std::expected<std::unique_ptr<wal>, storage_error>;

storage_error corrupt(const std::filesystem::path& file, std::uint64_t offset,
                      std::string_view why) {
  return {storage_errc::corrupt,
          fmt::format("corrupt WAL {} at byte offset {}: {}", file.string(), offset, why)};
}

// Total CRC work the resync scan may do; past it the tail is reported as corrupt rather than
// guessed to be torn (only a crafted file gets near this).
constexpr std::uint64_t resync_crc_budget_bytes = 1ull << 30;

enum class resync { none, found, gave_up };

// Looks for any valid frame of segment `seq` starting after `from`: its presence proves that the
// damaged frame at `from` was followed by a durable one, so it is not a torn tail.
resync find_valid_frame(std::string_view data, std::uint64_t from, std::uint64_t seq,
                        std::uint32_t max_record_bytes, std::uint64_t& found_at) {
  std::uint64_t budget = resync_crc_budget_bytes;
  for (std::uint64_t p = from; p + frame::header_bytes + frame::prefix_bytes <= data.size(); ++p) {
    const std::uint32_t length = frame::load_u32(data.data() + p);
    if (length < frame::prefix_bytes || length > max_record_bytes ||
        length > data.size() - p - frame::header_bytes) {
      continue;
    }
    const char* payload = data.data() + p + frame::header_bytes;
    if (frame::load_u32(payload) > length - frame::prefix_bytes) continue;
    if (length > budget) return resync::gave_up;
    budget -= length;
    if (crc32c(payload, length) != frame::load_u32(data.data() + p + 4)) continue;
    const frame::decoded d = frame::decode(data, p, max_record_bytes);
    proto::WalBatch header;
    if (d.result == frame::status::ok &&
        header.ParseFromArray(d.header.data(), static_cast<int>(d.header.size())) &&
        header.segment() == seq) {
      found_at = p;
      return resync::found;
    }
  }
  return resync::none;
}

// Applies one valid frame. `first` frames must be exactly a checkpoint.
io::result apply_frame(wal::impl& m, const segment_file& seg, std::uint64_t seq,
                       std::uint64_t offset, const frame::decoded& d, bool first, bool base) {
  proto::WalBatch header;
  if (!header.ParseFromArray(d.header.data(), static_cast<int>(d.header.size()))) {
    return std::unexpected(corrupt(seg.path, offset, "frame header does not parse"));
  }
  if (header.segment() != seq) {
    return std::unexpected(corrupt(seg.path, offset,
                                   fmt::format("frame of segment {} in segment {}",
                                               header.segment(), seq)));
  }
  const bool is_checkpoint =
      header.records_size() == 1 && header.records(0).has_checkpoint() && d.blob.empty();
  if (first != is_checkpoint) {
    return std::unexpected(corrupt(seg.path, offset, first ? "segment does not start with a "
                                                             "checkpoint" : "misplaced checkpoint"));
  }
  if (first) {
    if (auto r = m.index.apply_checkpoint(header.records(0).checkpoint(), base); !r) {
      return std::unexpected(corrupt(seg.path, offset, r.error()));
    }
    return {};
  }
  std::uint64_t used = 0;
  for (const proto::WalRecord& rec : header.records()) {
    if (auto r = m.index.apply(rec, seq, d.blob_offset, d.blob.size(), used); !r) {
      return std::unexpected(corrupt(seg.path, offset, r.error()));
    }
  }
  if (used != d.blob.size()) {
    return std::unexpected(corrupt(seg.path, offset,
                                   fmt::format("{} blob bytes belong to no entry",
                                               d.blob.size() - used)));
  }
  return {};
}

// Replays one segment into the index and sets seg.size to its valid length.
io::result replay_segment(wal::impl& m, segment_file& seg, std::uint64_t seq, bool oldest,
                          bool last) {
  auto data = io::read_whole(seg.path);
  if (!data) return std::unexpected(data.error());
  std::uint64_t offset = 0;
  for (bool first = true;; first = false) {
    const frame::decoded d = frame::decode(*data, offset, m.options.max_record_bytes);
    if (d.result == frame::status::end) break;
    if (d.result == frame::status::ok) {
      if (auto r = apply_frame(m, seg, seq, offset, d, first, oldest); !r) return r;
      offset = d.end;
      continue;
    }
    if (d.result == frame::status::malformed || !last) {
      return std::unexpected(corrupt(seg.path, offset, d.reason));
    }
    std::uint64_t next = 0;
    switch (find_valid_frame(*data, offset + 1, seq, m.options.max_record_bytes, next)) {
      case resync::found:
        return std::unexpected(corrupt(
            seg.path, offset, fmt::format("{}, and a valid frame follows at offset {}", d.reason,
                                          next)));
      case resync::gave_up:
        return std::unexpected(corrupt(seg.path, offset, d.reason + "; tail too large to check"));
      case resync::none:
        break;
    }
    m.log(log_level::warn, fmt::format("wal: truncating torn tail of {} at byte offset {} ({} "
                                       "bytes dropped): {}", seg.path.string(), offset,
                                       data->size() - offset, d.reason));
    if (auto r = io::truncate_file(seg.fd.get(), seg.path, offset); !r) return r;
    if (auto r = io::datasync(seg.fd.get(), seg.path); !r) return r;
    break;
  }
  if (offset == 0 && !last) {
    return std::unexpected(corrupt(seg.path, 0, "segment is empty but is not the last one"));
  }
  seg.size = offset;
  return {};
}

struct dir_listing {
  std::vector<std::uint64_t> segments;  // ascending
  std::vector<std::filesystem::path> snapshot_files;
  std::vector<std::filesystem::path> tmp_files;
};

std::expected<dir_listing, storage_error> list_dir(const std::filesystem::path& dir) {
  dir_listing out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (auto seq = detail::parse_segment_file_name(name)) {
      out.segments.push_back(*seq);
    } else if (detail::parse_snapshot_file_name(name)) {
      out.snapshot_files.push_back(it->path());
    } else if (name.ends_with(".snap.tmp")) {
      out.tmp_files.push_back(it->path());
    }
  }
  if (ec) return std::unexpected(io::errno_error("list directory", dir, ec.value()));
  std::ranges::sort(out.segments);
  return out;
}

io::result prepare_dir(wal::impl& m, const std::filesystem::path& data_dir) {
  std::error_code ec;
  const bool existed = std::filesystem::exists(m.dir, ec);
  std::filesystem::create_directories(m.dir, ec);
  if (ec) return std::unexpected(io::errno_error("create directory", m.dir, ec.value()));
  if (!existed) {
    if (auto r = io::sync_dir(data_dir); !r) return r;
  }
  const auto lock_path = m.dir / "LOCK";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(io::errno_error("open", lock_path, errno));
  m.lock_fd = io::unique_fd(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    return std::unexpected(storage_error{
        storage_errc::locked, fmt::format("{} is held by another process", lock_path.string())});
  }
  return {};
}

// Every group's snapshot file must be present and intact; any other snapshot file is left over
// from a crash between writing a file and referencing it (or deleting its predecessor).
io::result check_snapshots(wal::impl& m, const dir_listing& listing) {
  for (const auto& [id, g] : m.index.groups()) {
    if (g.snap.index.value == 0) continue;
    auto s = detail::read_snapshot_file(m.dir, group_id{id}, g.snap.index,
                                        m.options.max_record_bytes);
    if (!s) return std::unexpected(storage_error{storage_errc::corrupt, s.error().text});
  }
  std::vector<std::filesystem::path> orphans = listing.tmp_files;
  for (const auto& path : listing.snapshot_files) {
    const auto name = detail::parse_snapshot_file_name(path.filename().string());
    const detail::group_state* g = m.index.find(name->group);
    if (g == nullptr || g->snap.index != name->index) orphans.push_back(path);
  }
  for (const auto& path : orphans) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    m.log(log_level::info, fmt::format("wal: removed unreferenced {}", path.string()));
  }
  return {};
}

}  // namespace

open_result wal::open(const std::filesystem::path& data_dir, wal_options options) {
  if (options.segment_bytes < 4096 || options.max_record_bytes < 4096) {
    return std::unexpected(storage_error{storage_errc::invalid_argument,
                                         "segment_bytes and max_record_bytes must be >= 4096"});
  }
  auto m = std::make_unique<impl>();
  m->dir = data_dir / "raft";
  m->options = std::move(options);
  if (auto r = prepare_dir(*m, data_dir); !r) return std::unexpected(r.error());
  auto listing = list_dir(m->dir);
  if (!listing) return std::unexpected(listing.error());
  const auto& seqs = listing->segments;
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    if (i > 0 && seqs[i] != seqs[i - 1] + 1) {
      return std::unexpected(storage_error{
          storage_errc::corrupt, fmt::format("WAL segment {} is missing in {}",
                                             detail::segment_file_name(seqs[i - 1] + 1),
                                             m->dir.string())});
    }
    segment_file seg;
    seg.path = m->dir / detail::segment_file_name(seqs[i]);
    auto fd = io::open_file(seg.path, io::open_mode::read_write);
    if (!fd) return std::unexpected(fd.error());
    seg.fd = std::move(*fd);
    if (auto r = replay_segment(*m, seg, seqs[i], i == 0, i + 1 == seqs.size()); !r) {
      return std::unexpected(r.error());
    }
    m->segments.emplace(seqs[i], std::move(seg));
  }
  if (auto r = m->index.check_complete(); !r) {
    return std::unexpected(storage_error{storage_errc::corrupt,
                                         fmt::format("WAL in {}: {}", m->dir.string(), r.error())});
  }
  if (auto r = check_snapshots(*m, *listing); !r) return std::unexpected(r.error());

  if (m->segments.empty()) {
    segment_file seg;
    seg.path = m->dir / detail::segment_file_name(1);
    auto fd = io::open_file(seg.path, io::open_mode::create_exclusive);
    if (!fd) return std::unexpected(fd.error());
    seg.fd = std::move(*fd);
    m->segments.emplace(1, std::move(seg));
  }
  m->active = m->segments.rbegin()->first;
  segment_file& tail = m->segments.rbegin()->second;
  if (tail.size == 0) {
    // A fresh WAL, or a crash while a segment was being started: (re)write its checkpoint.
    if (auto r = m->write_checkpoint(tail, m->active); !r) return std::unexpected(r.error());
    if (auto r = io::sync_dir(m->dir); !r) return std::unexpected(r.error());
  }
  m->collect_garbage();
  return std::unique_ptr<wal>(new wal(std::move(m)));
}

}  // namespace chronik::consensus
