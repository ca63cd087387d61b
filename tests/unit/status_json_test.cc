// daemon/status_json.h: the JSON the status page reads beside /v1/members and /v1/cluster.
#include "daemon/status_json.h"

#include <gtest/gtest.h>

namespace chronik::daemon {
namespace {

using chronik::node_id;

kafka::partition_info part(std::int32_t p, std::uint32_t leader, std::vector<std::uint32_t> replicas,
                           std::vector<std::uint32_t> isr) {
  kafka::partition_info out;
  out.partition = p;
  out.leader = node_id{leader};
  out.leader_epoch = 4;
  for (auto r : replicas) out.replicas.push_back(node_id{r});
  for (auto r : isr) out.isr.push_back(node_id{r});
  for (auto r : replicas) {
    if (std::ranges::find(isr, r) == isr.end()) out.offline.push_back(node_id{r});
  }
  return out;
}

TEST(status_json_test, partitions_are_sorted_with_leader_replicas_and_isr) {
  std::vector<kafka::topic_info> topics(2);
  topics[0].name = "orders";
  topics[0].partitions = {part(1, 0, {3, 1}, {1}), part(0, 2, {2, 3, 1}, {2, 3, 1})};
  topics[1].name = "__consumer_offsets";
  topics[1].partitions = {part(0, 1, {1}, {1})};
  const auto j = partitions_json(topics);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["topic"], "__consumer_offsets");
  EXPECT_EQ(j[0]["internal"], true);
  EXPECT_EQ(j[1], (nlohmann::json{{"topic", "orders"},
                                  {"partition", 0},
                                  {"internal", false},
                                  {"leader", 2},
                                  {"leader_epoch", 4},
                                  {"replicas", {2, 3, 1}},
                                  {"isr", {2, 3, 1}},
                                  {"offline", nlohmann::json::array()}}));
  EXPECT_EQ(j[2]["partition"], 1);
  EXPECT_EQ(j[2]["leader"], 0);  // none known
  EXPECT_EQ(j[2]["isr"], nlohmann::json({1}));
  EXPECT_EQ(j[2]["offline"], nlohmann::json({3}));
  EXPECT_EQ(partitions_json({}), nlohmann::json::array());
}

node_stats_view sample_stats() {
  node_stats_view v;
  v.node_id = 2;
  v.uuid_hex = "00112233445566778899aabbccddeeff";
  v.sample_interval_ms = 5000;
  v.rates = {{1'700'000'000'000, 1024.5, 0}};
  v.replicas = {{"orders", 0, 4096, 17, true}, {"orders", 1, 2048, 9, false}};
  v.lags = {{"billing", "orders", 0, 3}};
  return v;
}

TEST(status_json_test, node_stats_list_rates_led_partitions_and_lags) {
  const auto j = node_stats_json(sample_stats());
  EXPECT_EQ(j["node_id"], 2);
  EXPECT_EQ(j["uuid"], "00112233445566778899aabbccddeeff");
  EXPECT_EQ(j["sample_interval_ms"], 5000);
  EXPECT_EQ(j["rates"], nlohmann::json::parse(R"([{"t":1700000000000,"produce":1024.5,"fetch":0.0}])"));
  // Only the partition led here: a follower's high watermark may trail the leader's.
  EXPECT_EQ(j["leads"], nlohmann::json::parse(R"([{"topic":"orders","partition":0,"high_watermark":17,"size_bytes":4096}])"));
  EXPECT_EQ(j["lags"], nlohmann::json::parse(R"([{"group":"billing","topic":"orders","partition":0,"lag":3}])"));
  EXPECT_EQ(j["truncated"], false);
}

TEST(status_json_test, node_stats_are_capped) {
  auto v = sample_stats();
  v.lags.assign(max_listed_node_stats + 1, group_lag{"g", "t", 0, 1});
  const auto j = node_stats_json(v);
  EXPECT_EQ(j["lags"].size(), max_listed_node_stats);
  EXPECT_EQ(j["truncated"], true);
}

keyring_target target() { return keyring_target{2, "00112233445566778899aabbccddeeff", "127.0.0.2:9644", false, ""}; }

TEST(status_json_test, a_members_answer_is_taken_only_from_that_member) {
  const std::string body = node_stats_json(sample_stats()).dump();
  const auto ok = node_stats_entry(target(), 200, body, {});
  EXPECT_EQ(ok["ok"], true);
  EXPECT_EQ(ok["node_id"], 2);
  EXPECT_EQ(ok["admin_addr"], "127.0.0.2:9644");
  EXPECT_TRUE(ok["error"].is_null());
  EXPECT_EQ(ok["stats"], nlohmann::json::parse(body));

  auto other = target();
  other.uuid_hex = "ffeeddccbbaa99887766554433221100";  // node 2's id, another data directory
  EXPECT_EQ(node_stats_entry(other, 200, body, {})["ok"], false);
  other = target();
  other.node_id = 3;
  const auto wrong = node_stats_entry(other, 200, body, {});
  EXPECT_EQ(wrong["ok"], false);
  EXPECT_EQ(wrong["error"], "another node answers at 127.0.0.2:9644 (node 2)");
  EXPECT_TRUE(wrong["stats"].is_null());
}

TEST(status_json_test, failures_say_why) {
  auto error_of = [](const keyring_target& t, std::optional<int> status, std::string_view body,
                     std::string_view transport) {
    const auto j = node_stats_entry(t, status, body, transport);
    EXPECT_EQ(j["ok"], false);
    return j["error"].get<std::string>();
  };
  EXPECT_EQ(error_of(target(), std::nullopt, {}, "Connection"), "unreachable: Connection");
  EXPECT_NE(error_of(target(), 401, "{}", {}).find("same admin_token_file"), std::string::npos);
  EXPECT_EQ(error_of(target(), 503, "{}", {}), "HTTP 503");
  EXPECT_EQ(error_of(target(), 200, "not json", {}), "its answer is not a JSON object");
  EXPECT_EQ(error_of(target(), 200, "[]", {}), "its answer is not a JSON object");
  EXPECT_EQ(error_of(target(), 200, R"({"node_id":2})", {}), "its answer names no node");
  auto partial = node_stats_json(sample_stats());
  partial.erase("lags");
  EXPECT_EQ(error_of(target(), 200, partial.dump(), {}), "its answer has no lags");
  auto unusable = target();
  unusable.unusable = "its admin endpoint listens on loopback only (set admin_bind on it)";
  EXPECT_EQ(error_of(unusable, std::nullopt, {}, {}), unusable.unusable);
}

}  // namespace
}  // namespace chronik::daemon
