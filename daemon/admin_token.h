// The admin token on disk (docs/security.md "Admin HTTP"). A node takes its token from
// `admin_token_file` when configured (the same file on every node gives the cluster-wide token
// that keyring propagation needs), else from `<data_dir>/admin_token`, generated at the first
// start: 32 random bytes as 64 hex digits, mode 0600. The CLI reads the same files.
#pragma once

#include <expected>
#include <filesystem>
#include <optional>
#include <string>

namespace chronik::daemon {

inline constexpr const char* admin_token_file_name = "admin_token";

struct loaded_admin_token {
  std::string token;
  std::filesystem::path path;     // where it came from (never logged with the token)
  bool generated = false;         // written now, at this start
  std::optional<std::string> warning;  // e.g. the file is readable by group or others
};

// The node's token: from `token_file` if given (it must exist and hold a token), else from the
// data dir, generated there if absent. Errors are one line naming the file.
std::expected<loaded_admin_token, std::string> load_node_admin_token(
    const std::filesystem::path& data_dir, const std::optional<std::filesystem::path>& token_file);

// The CLI's token: --admin-token-file, else --data-dir's admin_token, else none (the request then
// goes without one, and anything but /health answers 401).
std::expected<std::optional<std::string>, std::string> read_cli_admin_token(
    const std::optional<std::filesystem::path>& token_file, const std::optional<std::filesystem::path>& data_dir);

}  // namespace chronik::daemon
