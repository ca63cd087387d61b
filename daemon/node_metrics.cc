#include "daemon/node_metrics.h"

#include <string>

#include "daemon/prometheus_text.h"
#include "kafka/protocol/api.h"

namespace chronik::daemon {
namespace {

using mt = metric_type;

void render_node(exposition_writer& w, const metrics_view& v) {
  w.single("chronik_storage_fenced", mt::gauge,
           "1 while a WAL write or fsync failed and the node is fenced (docs/operations.md \"Full disk\").",
           v.fenced ? 1 : 0);
}

void render_gossip(exposition_writer& w, const metrics_view& v) {
  w.family("chronik_gossip_members", mt::gauge, "Members this node's gossip view holds, by SWIM state.");
  for (const auto& [state, n] : v.members_by_state) w.sample({{"state", state}}, n);
  const auto& m = v.membership;
  w.single("chronik_gossip_probes_total", mt::counter, "Direct probes started (SWIM 3.1).", m.probes_started);
  w.single("chronik_gossip_probes_failed_total", mt::counter, "Probes that got no ack, direct or indirect.",
           m.probes_failed);
  w.single("chronik_gossip_suspicions_total", mt::counter, "Members this node started to suspect.",
           m.suspicions_started);
  w.single("chronik_gossip_declared_dead_total", mt::counter, "Suspects this node declared dead.", m.declared_dead);
  w.single("chronik_gossip_refutations_total", mt::counter, "Suspicions of this node that it refuted.",
           m.refutations);
  const auto& n = v.net;
  w.single("chronik_gossip_sent_bytes_total", mt::counter, "Gossip bytes sent, UDP and TCP push-pull.",
           n.bytes_sent);
  w.single("chronik_gossip_received_bytes_total", mt::counter, "Gossip bytes received, UDP and TCP push-pull.",
           n.bytes_received);
  w.family("chronik_gossip_dropped_total", mt::counter, "Gossip traffic dropped unread, by reason.");
  w.sample({{"reason", "malformed"}}, n.malformed_dropped);
  w.sample({{"reason", "oversized"}}, n.oversized_dropped);
  w.sample({{"reason", "auth_failed"}}, n.auth_failed_dropped);
  w.sample({{"reason", "plaintext"}}, n.plaintext_dropped);
}

void render_raft(exposition_writer& w, const metrics_view& v) {
  w.single("chronik_raft_groups", mt::gauge, "Raft groups hosted here (__meta and partitions).", v.groups);
  w.single("chronik_raft_leaders", mt::gauge, "Raft groups this node leads.", v.groups_led);
  w.single("chronik_raft_groups_without_leader", mt::gauge, "Raft groups hosted here with no leader known.",
           v.groups_without_leader);
  w.single("chronik_raft_elections_total", mt::counter,
           "Elections this node started: a new term persisted with its own vote (pre-votes aside).",
           v.host.elections_started);
  w.single("chronik_raft_term_changes_total", mt::counter, "Higher terms persisted by this node's groups.",
           v.host.term_changes);
  w.family("chronik_raft_commit_latency_seconds", mt::histogram,
           "From a proposal made here (as leader) to the apply of its index here, every group.");
  w.histogram({}, v.host.commit_latency);
  w.single("chronik_raft_messages_sent_total", mt::counter, "Raft messages handed to the transport.",
           v.host.messages_sent);
  w.single("chronik_raft_messages_dropped_total", mt::counter,
           "Inbound Raft messages dropped for groups not hosted (yet).", v.host.messages_dropped);
  w.single("chronik_raft_votes_held_total", mt::counter,
           "Inbound vote requests held for groups not running yet, answered when they start.", v.host.votes_held);
  w.single("chronik_raft_meta_term", mt::gauge, "The __meta group's current term here.", v.meta_term);
  w.single("chronik_raft_meta_commit_index", mt::gauge, "The __meta group's commit index as this node knows it.",
           v.meta_commit);
  w.single("chronik_raft_meta_applied_index", mt::gauge, "The __meta index this node has applied.",
           v.meta_applied);
  w.single("chronik_raft_meta_leader_known", mt::gauge, "1 while this node knows a __meta leader.",
           v.meta_leader_known ? 1 : 0);
  w.family("chronik_wal_fsync_duration_seconds", mt::histogram,
           "fdatasync of each WAL group-commit frame (one per disk batch of all groups).");
  w.histogram({}, v.wal.fsync_latency);
  w.single("chronik_wal_written_bytes_total", mt::counter, "Bytes of WAL frames written.", v.wal.bytes_written);
  w.single("chronik_wal_fsyncs_total", mt::counter, "fdatasync and fsync calls of the WAL.", v.wal.fsyncs);
  w.single("chronik_wal_size_bytes", mt::gauge, "Size of the WAL's live segment files.", v.wal.bytes);
  w.single("chronik_wal_segments", mt::gauge, "The WAL's live segment files.", v.wal.segments);
  w.single("chronik_wal_group_writes_total", mt::counter, "Group writes carried by WAL appends.",
           v.host.group_writes);
  w.single("chronik_wal_appends_total", mt::counter, "WAL appends (each one frame and one fdatasync).",
           v.host.append_batches);
}

void render_requests(exposition_writer& w, const metrics_view& v) {
  w.family("chronik_kafka_requests_total", mt::counter,
           "Kafka requests answered, by API and outcome (the first error the handler noted; see "
           "docs/operations.md).");
  for (const auto& a : v.requests)
    for (const auto& [err, n] : a.by_error)
      w.sample({{"api", std::string(kafka::to_string(a.key))}, {"error", kafka::request_error_label(err)}}, n);
  w.family("chronik_kafka_request_duration_seconds", mt::histogram,
           "From the request's dispatch to its answer, by API.");
  for (const auto& a : v.requests) w.histogram({{"api", std::string(kafka::to_string(a.key))}}, a.latency);
}

void render_kafka(exposition_writer& w, const metrics_view& v) {
  render_requests(w, v);
  const auto& s = v.server;
  w.single("chronik_kafka_received_bytes_total", mt::counter,
           "Kafka request frames dispatched, size prefix included.", v.kafka_bytes_received);
  w.single("chronik_kafka_sent_bytes_total", mt::counter, "Kafka response frames written, size prefix included.",
           v.kafka_bytes_sent);
  w.single("chronik_kafka_connections", mt::gauge, "Open Kafka client connections.", s.open);
  w.single("chronik_kafka_connections_accepted_total", mt::counter, "Kafka connections accepted.", s.accepted);
  w.family("chronik_kafka_connections_closed_total", mt::counter,
           "Kafka connections refused at accept or closed by the broker, by reason.");
  w.sample({{"reason", "max_connections"}}, s.refused);
  w.sample({{"reason", "max_connections_per_ip"}}, s.refused_per_ip);
  w.sample({{"reason", "idle"}}, s.idle_closed);
  w.single("chronik_kafka_queued_request_bytes", mt::gauge, "Request bytes held by the node-wide request budget.",
           s.queued_request_bytes);
  w.single("chronik_kafka_partitions", mt::gauge, "Partitions in __meta (cluster-wide, as this node sees it).",
           v.partitions);
  w.single("chronik_kafka_partitions_under_replicated", mt::gauge,
           "Partitions with fewer in-sync replicas than replicas (cluster-wide).", v.under_replicated_partitions);
  w.single("chronik_kafka_partitions_leaderless", mt::gauge,
           "Partitions without a leader, or whose leader's broker is offline (cluster-wide).",
           v.leaderless_partitions);
  w.family("chronik_kafka_partition_log_size_bytes", mt::gauge, "Size of each partition replica hosted here.");
  for (const auto& r : v.replicas)
    w.sample({{"topic", r.topic}, {"partition", std::to_string(r.partition)}}, r.size_bytes);
  w.family("chronik_kafka_partition_high_watermark", mt::gauge,
           "High watermark of each partition replica hosted here.");
  for (const auto& r : v.replicas)
    w.sample({{"topic", r.topic}, {"partition", std::to_string(r.partition)}},
             static_cast<std::uint64_t>(r.high_watermark < 0 ? 0 : r.high_watermark));
  w.family("chronik_kafka_partition_leader", mt::gauge, "1 for each partition replica hosted here that leads.");
  for (const auto& r : v.replicas)
    w.sample({{"topic", r.topic}, {"partition", std::to_string(r.partition)}}, std::uint64_t{r.leader ? 1u : 0u});
  w.single("chronik_kafka_consumer_groups", mt::gauge, "Consumer groups this node coordinates.", v.consumer_groups);
  w.family("chronik_kafka_consumer_group_lag", mt::gauge,
           "High watermark minus committed offset, per group this node coordinates and partition it hosts.");
  for (const auto& l : v.lags)
    w.sample({{"group", l.group}, {"topic", l.topic}, {"partition", std::to_string(l.partition)}},
             static_cast<std::uint64_t>(l.lag < 0 ? 0 : l.lag));
}

}  // namespace

std::string render_metrics(const metrics_view& v) {
  exposition_writer w;
  render_node(w, v);
  render_gossip(w, v);
  render_raft(w, v);
  render_kafka(w, v);
  return w.take();
}

}  // namespace chronik::daemon
