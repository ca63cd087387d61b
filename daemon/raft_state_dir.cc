#include "daemon/raft_state_dir.h"

#include <array>
#include <string_view>
#include <system_error>

#include "daemon/durable_file.h"

namespace chronik::daemon {
namespace {

constexpr std::string_view owner_file = "meta-cluster";
constexpr std::string_view discarded_suffix = ".discarded";
// The raft host's directories: the WAL (consensus/storage) and the host's own files
// (consensus/groups/removed_groups).
constexpr std::array<std::string_view, 2> state_dirs = {"raft", "raft-host"};
constexpr std::size_t max_cluster_id_bytes = 64;

std::string error_text(const std::error_code& ec) { return ec.message(); }

}  // namespace

std::expected<std::optional<std::string>, std::string> read_raft_owner(const std::filesystem::path& data_dir) {
  auto text = read_small_file(data_dir / owner_file, max_cluster_id_bytes + 1);
  if (!text) return std::unexpected(text.error());
  if (!*text) return std::optional<std::string>{};
  std::string id = **text;
  if (!id.empty() && id.back() == '\n') id.pop_back();
  if (id.empty()) return std::unexpected((data_dir / owner_file).string() + " is empty");
  return std::optional<std::string>{std::move(id)};
}

std::expected<void, std::string> write_raft_owner(const std::filesystem::path& data_dir, const std::string& cluster_id) {
  return write_file_durably(data_dir, owner_file, cluster_id + "\n");
}

std::expected<void, std::string> discard_raft_state(const std::filesystem::path& data_dir) {
  std::error_code ec;
  for (auto name : state_dirs) {
    const auto dir = data_dir / name;
    if (!std::filesystem::exists(dir, ec)) continue;
    const auto aside = data_dir / (std::string(name) + std::string(discarded_suffix));
    std::filesystem::remove_all(aside, ec);  // an earlier interrupted discard
    std::filesystem::rename(dir, aside, ec);
    if (ec) return std::unexpected("cannot move " + dir.string() + " aside: " + error_text(ec));
  }
  if (auto r = fsync_dir(data_dir); !r) return r;
  if (auto r = remove_discarded_raft_state(data_dir); !r) return r;
  std::filesystem::remove(data_dir / owner_file, ec);
  if (ec) return std::unexpected("cannot remove " + (data_dir / owner_file).string() + ": " + error_text(ec));
  return fsync_dir(data_dir);
}

std::expected<void, std::string> remove_discarded_raft_state(const std::filesystem::path& data_dir) {
  std::error_code ec;
  for (auto name : state_dirs) {
    const auto aside = data_dir / (std::string(name) + std::string(discarded_suffix));
    std::filesystem::remove_all(aside, ec);
    if (ec) return std::unexpected("cannot remove " + aside.string() + ": " + error_text(ec));
  }
  return {};
}

}  // namespace chronik::daemon
