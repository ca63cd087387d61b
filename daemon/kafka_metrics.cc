// kafka_service::collect_metrics: the Kafka part of /metrics (daemon/node_metrics.h), read on the
// io thread at each scrape. Kept apart from kafka_service.cc; it only reads.
#include <algorithm>

#include "daemon/kafka_service.h"
#include "daemon/node_metrics.h"
#include "daemon/rate_history.h"
#include "kafka/partition/partition_replica.h"

namespace chronik::daemon {

void kafka_service::collect_metrics(metrics_view& v) const {
  v.requests = dispatcher_.metrics().snapshot();
  v.kafka_bytes_received = dispatcher_.metrics().bytes_received();
  v.kafka_bytes_sent = dispatcher_.metrics().bytes_sent();
  if (server_) v.server = server_->stats();
  for (const auto& t : topics()) {
    for (const auto& p : t.partitions) {
      ++v.partitions;
      if (p.isr.size() < p.replicas.size()) ++v.under_replicated_partitions;
      if (p.leader == chronik::node_id{} || std::ranges::find(p.offline, p.leader) != p.offline.end()) {
        ++v.leaderless_partitions;
      }
    }
  }
  // Only replicas that exist already: a scrape never creates the partition manager.
  if (const auto* m = manager_.get()) {
    for (const auto g : m->groups()) {
      const auto* rep = m->find(g);
      if (rep == nullptr) continue;
      v.replicas.push_back({rep->topic(), rep->ref().partition, rep->index().size_bytes(), rep->high_watermark(),
                            rep->leader() == cfg_.node_id});
    }
  }
  // Lag against this node's replica of the partition: the leader's high watermark, or a follower's
  // (at most one heartbeat behind). A partition without a replica here has no lag series.
  const auto ids = groups_.group_ids();
  v.consumer_groups = ids.size();
  const auto* m = manager_.get();
  if (m == nullptr) return;
  for (const auto& g : ids) {
    for (const auto& [key, committed] : groups_.all_committed(g)) {
      const auto* rep = m->find(key.topic, key.partition);
      if (rep == nullptr || committed.offset < 0) continue;
      v.lags.push_back({g, key.topic, key.partition, std::max<std::int64_t>(0, rep->high_watermark() - committed.offset)});
    }
  }
}

traffic_totals kafka_service::traffic() const {
  const auto& m = dispatcher_.metrics();
  return {m.bytes_of(kafka::api_key::produce).received, m.bytes_of(kafka::api_key::fetch).sent};
}

}  // namespace chronik::daemon
