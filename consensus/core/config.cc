#include "consensus/core/config.h"

#include <string>

namespace chronik::consensus {

std::expected<void, std::string> raft_config::validate() const {
  auto fail = [](const char* field, const char* problem) {
    return std::unexpected(std::string(field) + ": " + problem);
  };
  if (election_timeout_ticks_min < 2) return fail("election_timeout_ticks_min", "must be at least 2");
  if (election_timeout_ticks_max <= election_timeout_ticks_min)
    return fail("election_timeout_ticks_max", "must be greater than election_timeout_ticks_min");
  if (heartbeat_ticks == 0 || heartbeat_ticks >= election_timeout_ticks_min)
    return fail("heartbeat_ticks", "must be in 1..election_timeout_ticks_min-1");
  if (quiesce_after_ticks != 0 && quiesce_after_ticks < election_timeout_ticks_min)
    return fail("quiesce_after_ticks", "must be 0 (off) or at least election_timeout_ticks_min");
  if (max_inflight_msgs == 0) return fail("max_inflight_msgs", "must be at least 1");
  if (max_inflight_bytes == 0) return fail("max_inflight_bytes", "must be at least 1");
  if (max_msg_bytes == 0) return fail("max_msg_bytes", "must be at least 1");
  if (max_committed_bytes_per_ready == 0) return fail("max_committed_bytes_per_ready", "must be at least 1");
  if (snapshot_chunk_bytes == 0) return fail("snapshot_chunk_bytes", "must be at least 1");
  if (max_uncommitted_bytes == 0) return fail("max_uncommitted_bytes", "must be at least 1");
  return {};
}

}  // namespace chronik::consensus
