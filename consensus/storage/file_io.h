// Thin POSIX helpers for the WAL and snapshot files: an owning descriptor and full-length
// read/write/sync calls that turn errno into storage_error text naming the file. Internal to
// consensus/storage.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "consensus/storage/storage_error.h"

namespace chronik::consensus::io {

class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release();
  void reset();

 private:
  int fd_ = -1;
};

using result = std::expected<void, storage_error>;

storage_error errno_error(std::string_view what, const std::filesystem::path& file, int err);

enum class open_mode : std::uint8_t { read_only, read_write, create_exclusive };
std::expected<unique_fd, storage_error> open_file(const std::filesystem::path& file, open_mode mode);

// Loop until all bytes moved; EINTR retried, a short read at EOF is an error.
result pread_full(int fd, const std::filesystem::path& file, void* out, std::size_t size,
                  std::uint64_t offset);
// Writes go to the kernel at most max_bytes_per_write_call at a time: a call of many megabytes
// into the page cache cost several times the CPU per byte of the same bytes in 1 MiB calls on the
// VM we measure on, and capping the WAL's calls cut the brokers' CPU per GB under a large-batch
// produce load by a third (docs/performance.md "Write calls of at most 1 MiB"). Nothing relies on
// one call being atomic: a frame is durable only after its fdatasync, and its CRC finds a torn one.
inline constexpr std::size_t max_bytes_per_write_call = std::size_t{1} << 20;
result pwrite_full(int fd, const std::filesystem::path& file, const void* data, std::size_t size,
                   std::uint64_t offset);
// The pieces written back to back from `offset` with pwritev, as one pwrite_full of their
// concatenation would write them, without first copying them into one buffer. Any number of pieces
// (calls are split at the kernel's IOV_MAX and at max_bytes_per_write_call); a short write
// continues where it stopped.
result pwritev_full(int fd, const std::filesystem::path& file, std::span<const std::string_view> pieces,
                    std::uint64_t offset);
result datasync(int fd, const std::filesystem::path& file);
result truncate_file(int fd, const std::filesystem::path& file, std::uint64_t size);
std::expected<std::uint64_t, storage_error> file_size(int fd, const std::filesystem::path& file);
std::expected<std::string, storage_error> read_whole(const std::filesystem::path& file);

// Test seam for disk faults (tests/unit only; chronik-server never sets it). The injector sees
// every pwrite_full, pwritev_full and datasync with the file's path, and returns 0 to let the call run or an
// errno to fail it with. A failed pwrite first writes half of its bytes, as a disk that fills up
// in the middle of a frame does, so recovery meets a torn tail. Empty: no injection (the cost on
// the write path is one relaxed atomic load).
enum class fault_point : std::uint8_t { pwrite, datasync };
using fault_fn = std::function<int(fault_point, const std::filesystem::path&)>;
void set_fault_injector(fault_fn fn);

// fsync of a directory makes the creation, rename or removal of its entries durable.
result sync_dir(const std::filesystem::path& dir);
// Unlinks the file, then syncs its directory.
result remove_durably(const std::filesystem::path& file);

}  // namespace chronik::consensus::io
