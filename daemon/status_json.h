// The JSON the status page reads beside /v1/members and /v1/cluster (docs/operations.md "Status
// page"), built from plain copies taken on the io thread (daemon/status_service.h). Pure: no I/O,
// no clock, so unit tests check every field.
//   GET /v1/partitions   every partition of every topic as this node's `__meta` copy has it
//   GET /v1/node-stats   ?scope=node: this node's rates, the partitions it leads (high
//                        watermark, size) and the lag of the groups it coordinates;
//                        ?scope=cluster (the default): one entry per live member, asked over HTTP
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/keyring_admin.h"
#include "daemon/node_metrics.h"
#include "daemon/rate_history.h"
#include "kafka/handlers/broker_context.h"

namespace chronik::daemon {

// [{topic, partition, internal, leader (0: none), leader_epoch, replicas, isr, offline}], sorted by
// topic then partition. `internal`: Kafka's reserved "__" prefix (`__consumer_offsets`).
nlohmann::json partitions_json(const std::vector<kafka::topic_info>& topics);

// At most this many led partitions and group lags in one node's answer; "truncated" says more exist.
inline constexpr std::size_t max_listed_node_stats = 2000;

struct node_stats_view {
  std::uint32_t node_id = 0;
  std::string uuid_hex;
  std::int64_t sample_interval_ms = 0;
  std::vector<rate_point> rates;           // rates_of(this node's history)
  std::vector<replica_figures> replicas;   // hosted here; only those it leads are listed
  std::vector<group_lag> lags;             // groups coordinated here
};

// {node_id, uuid, sample_interval_ms, rates: [{t, produce, fetch}] (bytes per second, t in Unix ms),
//  leads: [{topic, partition, high_watermark, size_bytes}], lags: [{group, topic, partition, lag}],
//  truncated}
nlohmann::json node_stats_json(const node_stats_view& v);

// One member's entry of the cluster-scope answer: {node_id, admin_addr, ok, error, stats}. `status`
// is nullopt when the request got no answer (`transport_error` says why). A 200 must be a node
// stats object naming the target's node id and uuid: another node at that address is an error,
// not its figures.
nlohmann::json node_stats_entry(const keyring_target& target, std::optional<int> status, std::string_view body,
                                std::string_view transport_error);

}  // namespace chronik::daemon
