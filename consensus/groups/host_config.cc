#include "consensus/groups/host_config.h"

namespace chronik::consensus {

std::expected<void, std::string> host_config::validate() const {
  auto fail = [](const char* field, const char* problem) {
    return std::unexpected(std::string(field) + ": " + problem);
  };
  if (self == no_node) return fail("self", "must be a non-zero node id");
  if (data_dir.empty()) return fail("data_dir", "must be set");
  if (max_disk_batches_in_flight == 0) return fail("max_disk_batches_in_flight", "must be at least 1");
  if (max_batch_bytes == 0) return fail("max_batch_bytes", "must be at least 1");
  if (max_batch_bytes >= wal.max_record_bytes / 2) {
    return fail("max_batch_bytes", "must be below half of wal.max_record_bytes (one batch is one frame)");
  }
  return {};
}

}  // namespace chronik::consensus
