#include "consensus/storage/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fmt/format.h>
#include <mutex>
#include <vector>

namespace chronik::consensus::io {
namespace {

std::atomic<bool> fault_armed{false};
std::mutex fault_mu;
fault_fn& fault_injector() {
  static fault_fn fn;
  return fn;
}

// The errno the test's injector wants for this call, or 0.
int injected_fault(fault_point point, const std::filesystem::path& file) {
  if (!fault_armed.load(std::memory_order_relaxed)) return 0;
  std::lock_guard lock(fault_mu);
  const fault_fn& fn = fault_injector();
  return fn ? fn(point, file) : 0;
}

}  // namespace

void set_fault_injector(fault_fn fn) {
  std::lock_guard lock(fault_mu);
  fault_armed.store(static_cast<bool>(fn), std::memory_order_relaxed);
  fault_injector() = std::move(fn);
}

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = o.release();
  }
  return *this;
}

int unique_fd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void unique_fd::reset() {
  // close() errors are ignored on purpose: durability never relies on close, only on fsync.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

storage_error errno_error(std::string_view what, const std::filesystem::path& file, int err) {
  return {storage_errc::io_error,
          fmt::format("{} {}: {}", what, file.string(), std::strerror(err))};
}

std::expected<unique_fd, storage_error> open_file(const std::filesystem::path& file,
                                                  open_mode mode) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case open_mode::read_only: flags |= O_RDONLY; break;
    case open_mode::read_write: flags |= O_RDWR; break;
    case open_mode::create_exclusive: flags |= O_RDWR | O_CREAT | O_EXCL; break;
  }
  const int fd = ::open(file.c_str(), flags, 0644);
  if (fd < 0) return std::unexpected(errno_error("open", file, errno));
  return unique_fd(fd);
}

result pread_full(int fd, const std::filesystem::path& file, void* out, std::size_t size,
                  std::uint64_t offset) {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(errno_error("pread", file, errno));
    if (n == 0) {
      return std::unexpected(storage_error{
          storage_errc::io_error, fmt::format("pread {}: unexpected end at offset {}",
                                              file.string(), offset)});
    }
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

result pwrite_full(int fd, const std::filesystem::path& file, const void* data, std::size_t size,
                   std::uint64_t offset) {
  const auto* p = static_cast<const char*>(data);
  if (const int err = injected_fault(fault_point::pwrite, file); err != 0) {
    // Half the bytes land (best effort) before the failure, as on a disk filling up mid-write.
    [[maybe_unused]] const ssize_t n = ::pwrite(fd, p, size / 2, static_cast<off_t>(offset));
    return std::unexpected(errno_error("pwrite", file, err));
  }
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, p, std::min(size, max_bytes_per_write_call), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(errno_error("pwrite", file, errno));
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

result pwritev_full(int fd, const std::filesystem::path& file, std::span<const std::string_view> pieces,
                    std::uint64_t offset) {
  if (const int err = injected_fault(fault_point::pwrite, file); err != 0) {
    // As pwrite_full: the first half of the bytes land (best effort) before the failure.
    std::uint64_t half = 0;
    for (const std::string_view p : pieces) half += p.size();
    half /= 2;
    for (const std::string_view p : pieces) {
      if (half == 0) break;
      const std::size_t n = std::min<std::uint64_t>(half, p.size());
      // Raw pwrite: pwrite_full would meet the same injected fault.
      if (n > 0 && ::pwrite(fd, p.data(), n, static_cast<off_t>(offset)) != static_cast<ssize_t>(n)) break;
      offset += n;
      half -= n;
    }
    return std::unexpected(errno_error("pwritev", file, err));
  }
  std::vector<iovec> iov;
  iov.reserve(std::min<std::size_t>(pieces.size(), IOV_MAX));
  std::size_t next = 0;   // first piece not yet (fully) written
  std::size_t skip = 0;   // bytes of pieces[next] already written
  while (next < pieces.size()) {
    iov.clear();
    std::size_t call_bytes = 0;
    for (std::size_t i = next; i < pieces.size() && iov.size() < IOV_MAX && call_bytes < max_bytes_per_write_call;
         ++i) {
      const std::size_t from = i == next ? skip : 0;
      if (pieces[i].size() == from) continue;
      const std::size_t take = std::min(pieces[i].size() - from, max_bytes_per_write_call - call_bytes);
      iov.push_back(iovec{const_cast<char*>(pieces[i].data() + from), take});
      call_bytes += take;
    }
    if (iov.empty()) break;  // only empty pieces left
    const ssize_t n = ::pwritev(fd, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(errno_error("pwritev", file, errno));
    if (n == 0) return std::unexpected(errno_error("pwritev wrote nothing", file, EIO));
    offset += static_cast<std::uint64_t>(n);
    // Step past what was written: whole pieces, then part of the next.
    std::size_t left = static_cast<std::size_t>(n);
    while (next < pieces.size() && left >= pieces[next].size() - skip) {
      left -= pieces[next].size() - skip;
      skip = 0;
      ++next;
    }
    skip += left;
  }
  return {};
}

result datasync(int fd, const std::filesystem::path& file) {
  if (const int err = injected_fault(fault_point::datasync, file); err != 0) {
    return std::unexpected(errno_error("fdatasync", file, err));
  }
  if (::fdatasync(fd) != 0) return std::unexpected(errno_error("fdatasync", file, errno));
  return {};
}

result truncate_file(int fd, const std::filesystem::path& file, std::uint64_t size) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    return std::unexpected(errno_error("ftruncate", file, errno));
  }
  return {};
}

std::expected<std::uint64_t, storage_error> file_size(int fd, const std::filesystem::path& file) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::unexpected(errno_error("fstat", file, errno));
  return static_cast<std::uint64_t>(st.st_size);
}

std::expected<std::string, storage_error> read_whole(const std::filesystem::path& file) {
  auto fd = open_file(file, open_mode::read_only);
  if (!fd) return std::unexpected(fd.error());
  auto size = file_size(fd->get(), file);
  if (!size) return std::unexpected(size.error());
  std::string bytes(*size, '\0');
  if (auto r = pread_full(fd->get(), file, bytes.data(), bytes.size(), 0); !r) {
    return std::unexpected(r.error());
  }
  return bytes;
}

result sync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(errno_error("open directory", dir, errno));
  unique_fd owner(fd);
  if (::fsync(fd) != 0) return std::unexpected(errno_error("fsync directory", dir, errno));
  return {};
}

result remove_durably(const std::filesystem::path& file) {
  if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
    return std::unexpected(errno_error("unlink", file, errno));
  }
  return sync_dir(file.parent_path());
}

}  // namespace chronik::consensus::io
