// Expected failures of consensus/storage (docs/design.md "Errors"): every public call returns
// std::expected<T, storage_error> and no exception crosses the API.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chronik::consensus {

enum class storage_errc : std::uint8_t {
  io_error,          // a system call failed; text names the call, file and errno
  corrupt,           // on-disk data is inconsistent; text names the file and byte offset
  invalid_argument,  // the caller broke a rule (non-contiguous entries, compacting past a snapshot)
  locked,            // another process holds <dir>/raft/LOCK
  failed,            // an earlier write or fsync failed: the WAL refuses writes until reopened
  not_found,         // no such snapshot
  too_large,         // a record or snapshot exceeds wal_options::max_record_bytes
};

std::string_view to_string(storage_errc code);

struct storage_error {
  storage_errc code = storage_errc::io_error;
  std::string text;  // one line for logs and operators
};

}  // namespace chronik::consensus
