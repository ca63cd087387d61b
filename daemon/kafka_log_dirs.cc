// kafka_service::log_dir (DescribeLogDirs): the node's data directory as Kafka's one log
// directory (docs/kafka.md "Log directories"). Kept apart from kafka_service.cc; it only reads.
#include <sys/statvfs.h>

#include <filesystem>

#include "daemon/kafka_service.h"
#include "kafka/partition/partition_replica.h"

namespace chronik::daemon {

std::optional<kafka::log_dir_info> kafka_service::log_dir() {
  kafka::log_dir_info d;
  std::error_code ec;
  const auto abs = std::filesystem::absolute(cfg_.data_dir, ec);
  d.path = (ec ? cfg_.data_dir : abs).string();
  d.failed = meta_.storage_failed_nodes().contains(cfg_.node_id.value());
  // KIP-827: the file system's size and what an unprivileged writer may still use (f_bavail).
  struct statvfs fs{};
  if (::statvfs(d.path.c_str(), &fs) == 0) {
    d.total_bytes = static_cast<std::int64_t>(fs.f_blocks) * static_cast<std::int64_t>(fs.f_frsize);
    d.usable_bytes = static_cast<std::int64_t>(fs.f_bavail) * static_cast<std::int64_t>(fs.f_frsize);
  }
  if (auto* m = manager()) {
    for (auto g : m->groups()) {
      const auto* rep = m->find(g);
      if (rep == nullptr) continue;
      d.replicas.push_back({rep->topic(), rep->ref().partition, static_cast<std::int64_t>(rep->index().size_bytes())});
    }
  }
  return d;
}

}  // namespace chronik::daemon
