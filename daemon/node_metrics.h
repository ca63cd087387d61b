// The node's /metrics (docs/operations.md "Metrics and readiness"): plain copies of every thread's
// figures, gathered on the io thread at each scrape (node::serve_metrics and
// kafka_service::collect_metrics), and rendered here in Prometheus text format 0.0.4
// (daemon/prometheus_text.h). render_metrics is pure, so a unit test checks every series.
//
// Where the copies come from, and how they cross threads: gossip's core and net counters, the Raft
// host, `__meta`, the Kafka listener, dispatcher, partitions and group coordinator all live on
// the io thread and are read there; the WAL's figures (written by the disk thread) are relaxed
// atomics, the disk thread's batch counters sit under its own mutex (consensus/groups).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/latency_histogram.h"
#include "consensus/groups/host_types.h"
#include "consensus/storage/wal.h"
#include "gossip/core/membership.h"
#include "gossip/net/gossip_node.h"
#include "kafka/handlers/request_metrics.h"
#include "kafka/server/kafka_server.h"

namespace chronik::daemon {

struct replica_figures {
  std::string topic;
  std::int32_t partition = 0;
  std::uint64_t size_bytes = 0;
  std::int64_t high_watermark = 0;
  bool leader = false;  // this node leads the partition's Raft group
};

struct group_lag {
  std::string group;
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t lag = 0;  // high watermark (this node's replica) - committed offset, at least 0
};

struct metrics_view {
  bool fenced = false;  // a WAL write or fsync failed (docs/operations.md "Full disk")

  // gossip
  std::map<std::string, std::uint64_t> members_by_state;  // alive, suspect, dead, left: all four present
  gossip::membership_stats membership;
  gossip::net_stats net;

  // Raft
  bool host_open = false;  // false while the host is being replaced; the Raft figures are then 0
  std::uint64_t groups = 0;
  std::uint64_t groups_led = 0;
  std::uint64_t groups_without_leader = 0;  // no leader known to this replica
  consensus::host_stats host;
  consensus::wal_stats wal;
  std::uint64_t meta_term = 0;
  std::uint64_t meta_commit = 0;
  std::uint64_t meta_applied = 0;
  bool meta_leader_known = false;

  // Kafka
  std::vector<kafka::request_metrics::api_entry> requests;
  std::uint64_t kafka_bytes_received = 0;  // request_metrics.h "Bytes"
  std::uint64_t kafka_bytes_sent = 0;
  kafka::server_stats server;
  std::uint64_t partitions = 0;                  // in `__meta`
  std::uint64_t under_replicated_partitions = 0;  // fewer in-sync replicas than replicas
  std::uint64_t leaderless_partitions = 0;        // no leader, or its broker offline
  std::vector<replica_figures> replicas;          // partition replicas hosted here
  std::uint64_t consumer_groups = 0;              // coordinated here
  std::vector<group_lag> lags;
};

std::string render_metrics(const metrics_view& v);

}  // namespace chronik::daemon
