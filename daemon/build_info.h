// What `chronik-server --version` prints: the release (daemon/node_meta.h software_version) and
// the git commit the binary was built from, which the build writes into a generated file
// (cmake/git_commit.cmake) so that it follows every new commit without re-running CMake.
#pragma once

#include <string>
#include <string_view>

namespace chronik::daemon {

// The short commit, "-dirty" appended when the tree had uncommitted changes; "" when the source
// was not a git checkout. Defined in the generated build_info.cc of chronik-server only.
std::string_view build_commit();

// "chronik-server 0.1.0 (commit 0123456789ab)", or "chronik-server 0.1.0" without a commit.
inline std::string version_line(std::string_view version, std::string_view commit) {
  std::string line = "chronik-server " + std::string(version);
  if (!commit.empty()) line += " (commit " + std::string(commit) + ")";
  return line;
}

}  // namespace chronik::daemon
