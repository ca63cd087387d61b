#include "daemon/admin_token.h"

#include <sys/stat.h>

#include <openssl/rand.h>

#include <array>

#include "daemon/admin_auth.h"
#include "daemon/durable_file.h"

namespace chronik::daemon {
namespace {

constexpr std::size_t max_file_bytes = 4096;

std::expected<std::string, std::string> read_token(const std::filesystem::path& path) {
  auto text = read_small_file(path, max_file_bytes);
  if (!text) return std::unexpected("admin token: " + text.error());
  if (!*text) return std::unexpected("admin token: " + path.string() + " does not exist");
  const auto token = parse_admin_token(**text);
  if (!token) {
    return std::unexpected("admin token: " + path.string() + " must hold one token of " +
                           std::to_string(min_admin_token_bytes) + ".." + std::to_string(max_admin_token_bytes) +
                           " characters [A-Za-z0-9-._~+/]");
  }
  return std::string(*token);
}

// The token is a password: a file that group or others can read is reported (not refused, so an
// operator's mistake does not stop a node; the warning names the fix).
std::optional<std::string> mode_warning(const std::filesystem::path& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return std::nullopt;
  return "admin token file " + path.string() + " is readable by group or others; chmod 600 it";
}

std::expected<std::string, std::string> new_token() {
  std::array<unsigned char, 32> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    return std::unexpected("admin token: the system random generator failed");
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (const auto b : raw) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0xF]);
  }
  return out;
}

}  // namespace

std::expected<loaded_admin_token, std::string> load_node_admin_token(
    const std::filesystem::path& data_dir, const std::optional<std::filesystem::path>& token_file) {
  loaded_admin_token out;
  out.path = token_file ? *token_file : data_dir / admin_token_file_name;
  std::error_code ec;
  if (!token_file && !std::filesystem::exists(out.path, ec)) {
    auto token = new_token();
    if (!token) return std::unexpected(token.error());
    if (auto w = write_file_durably(data_dir, admin_token_file_name, *token + "\n", 0600); !w) {
      return std::unexpected("admin token: " + w.error());
    }
    out.token = std::move(*token);
    out.generated = true;
    return out;
  }
  auto token = read_token(out.path);
  if (!token) return std::unexpected(token.error());
  out.token = std::move(*token);
  out.warning = mode_warning(out.path);
  return out;
}

std::expected<std::optional<std::string>, std::string> read_cli_admin_token(
    const std::optional<std::filesystem::path>& token_file, const std::optional<std::filesystem::path>& data_dir) {
  if (!token_file && !data_dir) return std::optional<std::string>{};
  auto token = read_token(token_file ? *token_file : *data_dir / admin_token_file_name);
  if (!token) return std::unexpected(token.error());
  return std::optional<std::string>(std::move(*token));
}

}  // namespace chronik::daemon
