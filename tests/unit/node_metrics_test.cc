#include "daemon/node_metrics.h"

#include <gtest/gtest.h>

#include <sstream>

namespace chronik::daemon {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l == line) return true;
  return false;
}

metrics_view sample_view() {
  metrics_view v;
  v.members_by_state = {{"alive", 3}, {"dead", 0}, {"left", 1}, {"suspect", 0}};
  v.membership.probes_started = 12;
  v.net.bytes_sent = 4096;
  v.groups = 4;
  v.groups_led = 2;
  v.host.elections_started = 1;
  v.host.commit_latency.buckets[3] = 5;
  v.host.commit_latency.count = 5;
  v.host.commit_latency.sum_us = 500;
  v.wal.bytes_written = 9000;
  v.wal.fsync_latency.buckets[0] = 2;
  v.wal.fsync_latency.count = 2;
  v.meta_leader_known = true;
  kafka::request_metrics requests;
  requests.record(kafka::api_key::produce, 0, 300);
  requests.record(kafka::api_key::produce, 6, 900);  // NOT_LEADER_OR_FOLLOWER
  requests.record(kafka::api_key::metadata, kafka::request_metrics::unrecorded, 50);
  v.requests = requests.snapshot();
  v.kafka_bytes_received = 1234;
  v.server.open = 2;
  v.partitions = 3;
  v.under_replicated_partitions = 1;
  v.replicas = {{"orders", 0, 2048, 10, true}, {"we\"ird", 1, 0, 0, false}};
  v.consumer_groups = 1;
  v.lags = {{"billing", "orders", 0, 4}};
  return v;
}

TEST(NodeMetrics, EverySeriesIsThereWithItsLabels) {
  const std::string text = render_metrics(sample_view());
  for (const char* line : {
           "chronik_storage_fenced 0",
           "chronik_gossip_members{state=\"alive\"} 3",
           "chronik_gossip_members{state=\"left\"} 1",
           "chronik_gossip_probes_total 12",
           "chronik_gossip_sent_bytes_total 4096",
           "chronik_gossip_dropped_total{reason=\"auth_failed\"} 0",
           "chronik_raft_groups 4",
           "chronik_raft_leaders 2",
           "chronik_raft_elections_total 1",
           "chronik_raft_commit_latency_seconds_bucket{le=\"0.00025\"} 5",
           "chronik_raft_commit_latency_seconds_count 5",
           "chronik_raft_meta_leader_known 1",
           "chronik_wal_fsync_duration_seconds_bucket{le=\"0.000025\"} 2",
           "chronik_wal_written_bytes_total 9000",
           "chronik_kafka_requests_total{api=\"Produce\",error=\"NONE\"} 1",
           "chronik_kafka_requests_total{api=\"Produce\",error=\"NOT_LEADER_OR_FOLLOWER\"} 1",
           "chronik_kafka_requests_total{api=\"Metadata\",error=\"unrecorded\"} 1",
           "chronik_kafka_request_duration_seconds_count{api=\"Produce\"} 2",
           "chronik_kafka_request_duration_seconds_sum{api=\"Produce\"} 0.0012",
           "chronik_kafka_received_bytes_total 1234",
           "chronik_kafka_connections 2",
           "chronik_kafka_partitions 3",
           "chronik_kafka_partitions_under_replicated 1",
           "chronik_kafka_partition_log_size_bytes{topic=\"orders\",partition=\"0\"} 2048",
           "chronik_kafka_partition_log_size_bytes{topic=\"we\\\"ird\",partition=\"1\"} 0",
           "chronik_kafka_partition_high_watermark{topic=\"orders\",partition=\"0\"} 10",
           "chronik_kafka_partition_leader{topic=\"orders\",partition=\"0\"} 1",
           "chronik_kafka_consumer_groups 1",
           "chronik_kafka_consumer_group_lag{group=\"billing\",topic=\"orders\",partition=\"0\"} 4",
       }) {
    EXPECT_TRUE(has_line(text, line)) << "missing: " << line;
  }
}

TEST(NodeMetrics, CountersEndInTotalAndEveryFamilyIsTyped) {
  const std::string text = render_metrics(sample_view());
  std::istringstream in(text);
  int families = 0;
  for (std::string l; std::getline(in, l);) {
    if (!l.starts_with("# TYPE ")) continue;
    ++families;
    const auto name = l.substr(7, l.find(' ', 7) - 7);
    const auto type = l.substr(l.rfind(' ') + 1);
    EXPECT_TRUE(name.starts_with("chronik_")) << name;
    EXPECT_EQ(name.ends_with("_total"), type == "counter") << name;
    if (type == "histogram") {
      EXPECT_TRUE(name.ends_with("_seconds")) << name;
    }
  }
  EXPECT_GT(families, 30);
}

TEST(NodeMetrics, ErrorLabelsNameTheCode) {
  EXPECT_EQ(kafka::request_error_label(0), "NONE");
  EXPECT_EQ(kafka::request_error_label(6), "NOT_LEADER_OR_FOLLOWER");
  EXPECT_EQ(kafka::request_error_label(kafka::request_metrics::connection_closed), "connection_closed");
  EXPECT_EQ(kafka::request_error_label(30000), "UNKNOWN_30000");
}

}  // namespace
}  // namespace chronik::daemon
