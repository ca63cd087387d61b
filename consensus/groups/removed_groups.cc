#include "consensus/groups/removed_groups.h"

#include <charconv>
#include <string>
#include <string_view>
#include <system_error>

// The storage module's POSIX helpers: the same errno-to-text and fsync rules as the WAL, so the
// two durable files of a node fail the same way.
#include "consensus/storage/file_io.h"

namespace chronik::consensus {
namespace {

constexpr std::string_view header = "chronik-removed-groups v1\n";
constexpr const char* file_name = "removed-groups";

storage_error corrupt(const std::filesystem::path& file, std::string_view why) {
  return {storage_errc::corrupt, file.string() + ": " + std::string(why)};
}

}  // namespace

std::expected<removed_groups, storage_error> removed_groups::open(
    const std::filesystem::path& data_dir) {
  removed_groups out;
  out.dir_ = data_dir / "raft-host";
  std::error_code ec;
  std::filesystem::create_directories(out.dir_, ec);
  if (ec) return std::unexpected(storage_error{storage_errc::io_error, "mkdir " + out.dir_.string() + ": " + ec.message()});
  std::filesystem::remove(out.dir_ / (std::string(file_name) + ".tmp"), ec);  // a crash mid-write

  const auto file = out.dir_ / file_name;
  if (!std::filesystem::exists(file)) return out;
  auto text = io::read_whole(file);
  if (!text) return std::unexpected(text.error());
  std::string_view rest = *text;
  if (!rest.starts_with(header)) return std::unexpected(corrupt(file, "bad header"));
  rest.remove_prefix(header.size());
  // The file is replaced by rename, so it is always complete: anything malformed is damage.
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    if (nl == std::string_view::npos) return std::unexpected(corrupt(file, "unterminated line"));
    std::uint64_t id = 0;
    const auto line = rest.substr(0, nl);
    const auto [end, err] = std::from_chars(line.data(), line.data() + line.size(), id);
    if (err != std::errc{} || end != line.data() + line.size()) {
      return std::unexpected(corrupt(file, "bad group id '" + std::string(line) + "'"));
    }
    out.ids_.insert(id);
    rest.remove_prefix(nl + 1);
  }
  return out;
}

std::expected<void, storage_error> removed_groups::add(group_id g) {
  if (ids_.contains(g.value)) return {};
  std::set<std::uint64_t> next = ids_;
  next.insert(g.value);
  if (auto r = write(next); !r) return r;
  ids_ = std::move(next);
  return {};
}

std::expected<void, storage_error> removed_groups::erase(group_id g) {
  if (!ids_.contains(g.value)) return {};
  std::set<std::uint64_t> next = ids_;
  next.erase(g.value);
  if (auto r = write(next); !r) return r;
  ids_ = std::move(next);
  return {};
}

std::expected<void, storage_error> removed_groups::write(const std::set<std::uint64_t>& ids) const {
  std::string text(header);
  for (std::uint64_t id : ids) text += std::to_string(id) + "\n";

  const auto tmp = dir_ / (std::string(file_name) + ".tmp");
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  {
    auto fd = io::open_file(tmp, io::open_mode::create_exclusive);
    if (!fd) return std::unexpected(fd.error());
    if (auto r = io::pwrite_full(fd->get(), tmp, text.data(), text.size(), 0); !r) return r;
    if (auto r = io::datasync(fd->get(), tmp); !r) return r;
  }
  std::filesystem::rename(tmp, dir_ / file_name, ec);
  if (ec) return std::unexpected(storage_error{storage_errc::io_error, "rename " + tmp.string() + ": " + ec.message()});
  return io::sync_dir(dir_);
}

}  // namespace chronik::consensus
