// The node's formation state on disk (<data_dir>/formation): promised or member, as written by the
// bootstrap coordinator before it announces the state (docs/bootstrap.md). No file means fresh.
// Written as a version 1 FormationRecord; files in the older text form are still read.
#pragma once

#include <expected>
#include <filesystem>
#include <string>

#include "metadata/core/bootstrap.h"

namespace chronik::daemon {

// A corrupt file is an error and is never overwritten: guessing would risk a second cluster.
std::expected<metadata::formation, std::string> load_formation(const std::filesystem::path& data_dir);
std::expected<void, std::string> save_formation(const std::filesystem::path& data_dir, const metadata::formation& f);

}  // namespace chronik::daemon
