#include "metadata/partition_growth.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace chronik::metadata {

std::expected<replica_assignment, meta_errc> place_on_live_brokers(const meta_data& d, std::int32_t partitions,
                                                                   std::int32_t replication_factor) {
  if (partitions < 1 || partitions > max_partitions_per_topic) return std::unexpected(meta_errc::invalid_partitions);
  if (replication_factor < 1 || replication_factor > max_replication_factor) {
    return std::unexpected(meta_errc::invalid_replication_factor);
  }
  // Over the brokers alive when the record applies, not when it was proposed: only the applied state
  // is the same on every replica.
  std::vector<assignment_broker> live;
  for (const auto& [id, b] : d.brokers) {
    if (b.takes_replicas()) live.push_back({id, b.rack});
  }
  auto a = assign_replicas(std::move(live), {partitions, replication_factor, d.next_group.value});
  if (!a) {
    return std::unexpected(a.error() == assignment_errc::invalid_partitions ? meta_errc::invalid_partitions
                                                                             : meta_errc::invalid_replication_factor);
  }
  return std::move(*a);
}

namespace {

// Each row names the topic's replication factor of distinct, registered brokers.
bool valid_manual(const meta_data& d, const replica_assignment& rows, std::size_t rf) {
  return std::ranges::all_of(rows, [&](const std::vector<node_id>& row) {
    if (row.size() != rf) return false;
    for (auto it = row.begin(); it != row.end(); ++it) {
      if (!d.brokers.contains(*it) || std::find(row.begin(), it, *it) != it) return false;
    }
    return true;
  });
}

}  // namespace

std::expected<replica_assignment, meta_errc> plan_partition_growth(const meta_data& d, const topic_record& t,
                                                                   std::int32_t count,
                                                                   const std::optional<replica_assignment>& manual) {
  const auto current = static_cast<std::int32_t>(t.partitions.size());
  if (count <= current || count > max_partitions_per_topic) return std::unexpected(meta_errc::invalid_partitions);
  const std::int32_t added = count - current;
  if (!manual) return place_on_live_brokers(d, added, t.replication_factor);
  if (manual->size() != static_cast<std::size_t>(added) ||
      !valid_manual(d, *manual, static_cast<std::size_t>(t.replication_factor))) {
    return std::unexpected(meta_errc::invalid_replica_assignment);
  }
  return *manual;
}

}  // namespace chronik::metadata
