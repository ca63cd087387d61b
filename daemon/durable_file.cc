#include "daemon/durable_file.h"

#include <cerrno>
#include <fstream>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace chronik::daemon {
namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// Writes all of `data` to fd, retrying short writes and EINTR.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

// Makes a rename itself durable: without the directory fsync a crash could lose the new entry
// even though the file contents were synced.
std::expected<void, std::string> fsync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::unexpected("cannot open " + dir.string() + ": " + errno_text(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return std::unexpected("fsync of " + dir.string() + " failed: " + errno_text(err));
  return {};
}

std::expected<void, std::string> write_file_durably(const std::filesystem::path& dir, std::string_view name,
                                                    std::string_view contents, unsigned mode) {
  const auto final_path = dir / name;
  const auto tmp_path = dir / (std::string(name) + ".tmp");
  const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) return std::unexpected("cannot create " + tmp_path.string() + ": " + errno_text(errno));
  // A stale temp file left by a crash keeps its old mode through O_CREAT; set it before writing.
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    const int err = errno;
    ::close(fd);
    return std::unexpected("cannot chmod " + tmp_path.string() + ": " + errno_text(err));
  }
  const bool written = write_all(fd, contents);
  int err = errno;
  const bool synced = written && ::fsync(fd) == 0;
  if (written) err = errno;
  ::close(fd);
  if (!written || !synced) {
    ::unlink(tmp_path.c_str());
    return std::unexpected("cannot write " + tmp_path.string() + ": " + errno_text(err));
  }
  if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
    err = errno;
    ::unlink(tmp_path.c_str());
    return std::unexpected("cannot rename to " + final_path.string() + ": " + errno_text(err));
  }
  return fsync_dir(dir);
}

std::expected<std::optional<std::string>, std::string> read_small_file(const std::filesystem::path& path,
                                                                       std::size_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<std::string>{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("cannot read " + path.string());
  // Read one byte more than allowed so that an oversized file is noticed.
  std::string text(max_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_bytes) return std::unexpected(path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
  return std::optional<std::string>{std::move(text)};
}

}  // namespace chronik::daemon
