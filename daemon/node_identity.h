// The node's persistent identity (docs/design.md "Identity"): a node_uuid generated once per data
// directory. A wiped data directory gets a new uuid, which is how peers tell a fresh node from a
// restarted one that kept its node_id.
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace chronik::daemon {

struct node_uuid {
  std::array<std::uint8_t, 16> bytes{};

  // 32 lowercase hex characters, as stored in <data_dir>/node_uuid and shown by the admin API.
  std::string hex() const;
  // The 16 raw bytes, as carried in Protobuf `bytes` fields (NodeMeta.node_uuid, Alive.uuid).
  std::string raw() const;

  static std::optional<node_uuid> from_hex(std::string_view text);
  // 16 bytes from the kernel's CSPRNG (getrandom), so two nodes never share an identity.
  static std::expected<node_uuid, std::string> random();

  auto operator<=>(const node_uuid&) const = default;
};

// Hex of arbitrary bytes, lowercase.
std::string to_hex(std::string_view bytes);

// Reads <data_dir>/node_uuid, or creates data_dir and the file if they do not exist yet.
// The file is written atomically (temp file, fsync, rename, fsync of the directory) so a crash
// leaves either no file or a complete one. A file that exists but does not hold exactly 32 hex
// characters (plus an optional newline) is an error and is never overwritten: replacing it would
// silently turn this node into a different member.
std::expected<node_uuid, std::string> load_or_create_node_uuid(const std::filesystem::path& data_dir);

// An exclusive flock on <data_dir>/lock, held while the object lives. Two processes sharing a
// data directory would share a node_uuid and, later, corrupt each other's Raft state.
class data_dir_lock {
 public:
  static std::expected<data_dir_lock, std::string> acquire(const std::filesystem::path& data_dir);
  data_dir_lock(data_dir_lock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  data_dir_lock& operator=(data_dir_lock&&) = delete;
  data_dir_lock(const data_dir_lock&) = delete;
  ~data_dir_lock();

 private:
  explicit data_dir_lock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace chronik::daemon
