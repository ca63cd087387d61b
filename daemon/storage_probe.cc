#include "daemon/storage_probe.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace chronik::daemon {
namespace {

constexpr const char* probe_name = ".storage-probe";
constexpr std::size_t chunk_bytes = 64 * 1024;

std::string errno_text(std::string_view what, const std::filesystem::path& p, int err) {
  return fmt::format("{} {}: {}", what, p.string(), std::strerror(err));
}

// Writes `bytes` zeros and fdatasyncs them. The caller removes the file.
std::expected<void, std::string> write_probe(const std::filesystem::path& file, std::uint64_t bytes) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(errno_text("open", file, errno));
  const std::string zeros(chunk_bytes, '\0');
  std::expected<void, std::string> out;
  // Bounded: each round writes at least one byte or stops.
  for (std::uint64_t done = 0; done < bytes && out;) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_bytes, bytes - done));
    const ssize_t n = ::write(fd, zeros.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) out = std::unexpected(errno_text("write", file, n < 0 ? errno : ENOSPC));
    else done += static_cast<std::uint64_t>(n);
  }
  if (out && ::fdatasync(fd) != 0) out = std::unexpected(errno_text("fdatasync", file, errno));
  ::close(fd);
  return out;
}

}  // namespace

std::expected<void, std::string> probe_storage(const std::filesystem::path& data_dir,
                                               const storage_probe_options& options) {
  struct statvfs vfs {};
  if (::statvfs(data_dir.c_str(), &vfs) != 0) return std::unexpected(errno_text("statvfs", data_dir, errno));
  const std::uint64_t free_bytes = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (free_bytes < options.min_free_bytes) {
    return std::unexpected(fmt::format("{}: {} bytes free, below the {} needed to reopen", data_dir.string(),
                                       free_bytes, options.min_free_bytes));
  }
  const std::filesystem::path file = data_dir / probe_name;
  auto r = write_probe(file, options.probe_bytes);
  ::unlink(file.c_str());  // nothing relies on it being gone durably: it is rewritten each time
  return r;
}

}  // namespace chronik::daemon
