// The pure parts of `chronik-server group ...` (daemon/group_report.h): Kafka's
// ConsumerProtocolAssignment from bytes laid out by hand, the per-partition rows and their lag,
// topic selectors, which partitions a reset covers and where it moves them, and the printed
// tables and JSON.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon/group_report.h"

namespace chronik::daemon {
namespace {

using namespace std::string_literals;

// Big-endian helpers for laying out Kafka's classic encoding by hand.
std::string i16(int v) { return {static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)}; }
std::string i32(std::int32_t v) {
  const auto u = static_cast<std::uint32_t>(v);
  return {static_cast<char>(u >> 24), static_cast<char>((u >> 16) & 0xff), static_cast<char>((u >> 8) & 0xff),
          static_cast<char>(u & 0xff)};
}
std::string str(const std::string& s) { return i16(static_cast<int>(s.size())) + s; }

// {orders: [2, 0]} with user data "ud", at `version`.
std::string assignment_bytes(int version) {
  return i16(version) + i32(1) + str("orders") + i32(2) + i32(2) + i32(0) + i32(2) + "ud";
}

TEST(consumer_assignment, decodes_bytes_laid_out_by_hand) {
  for (int version : {0, 1, 2, 3}) {
    const auto a = decode_consumer_assignment(assignment_bytes(version));
    ASSERT_TRUE(a.has_value()) << a.error();
    EXPECT_EQ(a->version, version);
    ASSERT_EQ(a->partitions.size(), 1u);
    EXPECT_EQ(a->partitions[0].first, "orders");
    EXPECT_EQ(a->partitions[0].second, (std::vector<std::int32_t>{2, 0}));
    EXPECT_EQ(a->user_data, "ud");
  }
}

TEST(consumer_assignment, null_user_data_and_several_topics) {
  const std::string bytes = i16(1) + i32(2) + str("a") + i32(1) + i32(7) + str("b") + i32(0) + i32(-1);
  const auto a = decode_consumer_assignment(bytes);
  ASSERT_TRUE(a.has_value()) << a.error();
  EXPECT_EQ(a->partitions.size(), 2u);
  EXPECT_EQ(a->partitions[1].first, "b");
  EXPECT_TRUE(a->partitions[1].second.empty());
  EXPECT_FALSE(a->user_data.has_value());
  EXPECT_EQ(encode_consumer_assignment(*a), bytes);
}

// Kafka's ConsumerProtocol reads a newer version as the newest it knows: later versions may only
// append fields, which are ignored.
TEST(consumer_assignment, newer_version_with_appended_fields_is_read) {
  const auto a = decode_consumer_assignment(assignment_bytes(9) + i32(42));
  ASSERT_TRUE(a.has_value()) << a.error();
  EXPECT_EQ(a->version, 9);
  EXPECT_EQ(a->partitions[0].second, (std::vector<std::int32_t>{2, 0}));
}

TEST(consumer_assignment, empty_bytes_are_no_assignment) {
  const auto a = decode_consumer_assignment("");
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->partitions.empty());
}

TEST(consumer_assignment, refuses_every_truncation_and_a_negative_version) {
  const std::string whole = assignment_bytes(0);
  for (std::size_t cut = 1; cut < whole.size(); ++cut) {
    EXPECT_FALSE(decode_consumer_assignment(whole.substr(0, cut)).has_value()) << "cut at " << cut;
  }
  EXPECT_FALSE(decode_consumer_assignment(i16(-1) + whole.substr(2)).has_value());
  // A partition count larger than the bytes left is refused without allocating it.
  EXPECT_FALSE(decode_consumer_assignment(i16(0) + i32(1) + str("t") + i32(1 << 30)).has_value());
}

TEST(consumer_lag, needs_both_offsets) {
  EXPECT_EQ(consumer_lag(6, 10), 4);
  EXPECT_EQ(consumer_lag(10, 10), 0);
  EXPECT_EQ(consumer_lag(std::nullopt, 10), std::nullopt);
  EXPECT_EQ(consumer_lag(6, std::nullopt), std::nullopt);
}

std::vector<group_member> one_member() {
  return {{"m-1", std::nullopt, "app", "/127.0.0.1", {{"t", 0}, {"t", 1}}, ""}};
}

TEST(join_partitions, assigned_committed_or_both_sorted) {
  const std::map<topic_partition, std::int64_t> committed{{{"t", 1}, 3}, {{"u", 0}, 5}};
  const std::map<topic_partition, std::int64_t> log_end{{{"t", 0}, 9}, {{"t", 1}, 7}};
  const auto rows = join_partitions(one_member(), committed, log_end);
  ASSERT_EQ(rows.size(), 3u);
  // t:0 assigned, nothing committed: no lag.
  EXPECT_EQ(rows[0].topic, "t");
  EXPECT_EQ(rows[0].partition, 0);
  EXPECT_EQ(rows[0].committed, std::nullopt);
  EXPECT_EQ(rows[0].log_end, 9);
  EXPECT_EQ(rows[0].lag, std::nullopt);
  EXPECT_EQ(rows[0].member_id, "m-1");
  // t:1 assigned and committed.
  EXPECT_EQ(rows[1].committed, 3);
  EXPECT_EQ(rows[1].lag, 4);
  EXPECT_EQ(rows[1].client_id, "app");
  // u:0 committed by nobody current, log end unknown.
  EXPECT_EQ(rows[2].topic, "u");
  EXPECT_EQ(rows[2].member_id, "");
  EXPECT_EQ(rows[2].log_end, std::nullopt);
  EXPECT_EQ(rows[2].lag, std::nullopt);
  EXPECT_EQ(topics_of(one_member(), committed), (std::vector<std::string>{"t", "u"}));
}

TEST(topic_selector, whole_topic_or_partition_list) {
  EXPECT_EQ(parse_topic_selector("orders"), (topic_selector{"orders", {}}));
  EXPECT_EQ(parse_topic_selector("orders:2,0,2"), (topic_selector{"orders", {0, 2}}));
  for (const char* bad : {"", ":1", "orders:", "orders:x", "orders:-1", "orders:1,,2"}) {
    EXPECT_FALSE(parse_topic_selector(bad).has_value()) << bad;
  }
}

const std::map<topic_partition, std::int64_t> earliest{{{"t", 0}, 2}, {{"t", 1}, 0}, {{"t", 2}, 0}, {{"u", 0}, 0}};
const std::map<topic_partition, std::int64_t> latest{{{"t", 0}, 10}, {{"t", 1}, 7}, {{"t", 2}, 4}, {{"u", 0}, 1}};

// Regression: a selector naming partition 0 once covered every partition of the topic after the
// first match emptied the set of partitions still wanted.
TEST(select_partitions, only_the_named_partitions) {
  const auto one = select_partitions({{"t", {0}}}, earliest, latest);
  ASSERT_TRUE(one.has_value()) << one.error();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->at({"t", 0}).earliest, 2);
  EXPECT_EQ(one->at({"t", 0}).latest, 10);
  const auto all = select_partitions({{"t", {}}}, earliest, latest);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 3u);
  EXPECT_FALSE(all->contains({"u", 0}));
}

TEST(select_partitions, unknown_partition_or_topic_is_an_error) {
  const auto missing = select_partitions({{"t", {0, 5}}}, earliest, latest);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().find("partition 5"), std::string::npos) << missing.error();
  EXPECT_FALSE(select_partitions({{"v", {}}}, earliest, latest).has_value());
  // Known to ListOffsets earliest but not latest (the leader moved between the two).
  EXPECT_FALSE(select_partitions({{"t", {1}}}, earliest, {{{"t", 0}, 10}}).has_value());
}

TEST(plan_reset, earliest_latest_and_clamped_offsets) {
  const std::map<topic_partition, partition_bounds> bounds{{{"t", 0}, {2, 10}}, {{"t", 1}, {0, 7}}};
  const std::map<topic_partition, std::int64_t> committed{{{"t", 0}, 6}};
  auto targets = [&](reset_spec spec) {
    std::vector<std::int64_t> out;
    for (const auto& r : plan_reset(spec, bounds, committed)) out.push_back(r.target);
    return out;
  };
  EXPECT_EQ(targets({reset_target::earliest, 0}), (std::vector<std::int64_t>{2, 0}));
  EXPECT_EQ(targets({reset_target::latest, 0}), (std::vector<std::int64_t>{10, 7}));
  EXPECT_EQ(targets({reset_target::offset, 5}), (std::vector<std::int64_t>{5, 5}));
  EXPECT_EQ(targets({reset_target::offset, 1}), (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(targets({reset_target::offset, 9}), (std::vector<std::int64_t>{9, 7}));
  const auto rows = plan_reset({reset_target::earliest, 0}, bounds, committed);
  EXPECT_EQ(rows[0].current, 6);
  EXPECT_EQ(rows[1].current, std::nullopt);
}

TEST(render_table, columns_align_two_spaces_apart) {
  EXPECT_EQ(render_table({{"A", "BB"}, {"ccc", "d"}}), "A    BB\nccc  d\n");
  EXPECT_EQ(render_table({}), "");
}

TEST(group_output, list_table_and_json) {
  const std::vector<group_listing> groups{{"g1", "Stable", "consumer"}, {"g2", "", "connect"}};
  EXPECT_EQ(format_group_list(groups),
            "GROUP  STATE   PROTOCOL-TYPE\n"
            "g1     Stable  consumer\n"
            "g2     -       connect\n");
  const auto j = group_list_json(groups);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["group"], "g1");
  EXPECT_EQ(j[1]["state"], "");
}

group_description sample_description() {
  group_description d{"g", "Stable", "consumer", "range", one_member(), {}};
  d.partitions = join_partitions(d.members, {{{"t", 1}, 3}}, {{{"t", 0}, 9}, {{"t", 1}, 7}});
  return d;
}

TEST(group_output, describe_table) {
  const std::string text = format_group_description(sample_description());
  EXPECT_NE(text.find("GROUP g  STATE Stable  PROTOCOL consumer/range  MEMBERS 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("m-1          -            /127.0.0.1  app        t:0,t:1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t      0          -               9               -    m-1"), std::string::npos) << text;
  EXPECT_NE(text.find("t      1          3               7               4    m-1"), std::string::npos) << text;
}

TEST(group_output, describe_json) {
  const auto j = group_description_json(sample_description());
  EXPECT_EQ(j["state"], "Stable");
  EXPECT_EQ(j["protocol"], "range");
  EXPECT_EQ(j["members"][0]["assignment"].size(), 2u);
  EXPECT_TRUE(j["members"][0]["instance_id"].is_null());
  EXPECT_TRUE(j["partitions"][0]["committed"].is_null());
  EXPECT_EQ(j["partitions"][1]["lag"], 4);
  EXPECT_EQ(j["partitions"][1]["member_id"], "m-1");
}

TEST(group_output, assignment_that_did_not_decode_is_shown) {
  group_description d{"g", "Stable", "consumer", "range", one_member(), {}};
  d.members[0].assignment.clear();
  d.members[0].assignment_error = "assignment does not decode";
  EXPECT_NE(format_group_description(d).find("(assignment does not decode)"), std::string::npos);
  EXPECT_EQ(group_description_json(d)["members"][0]["assignment_error"], "assignment does not decode");
}

TEST(group_output, reset_plan) {
  const std::vector<reset_row> rows{{"t", 0, 6, 2}, {"t", 1, std::nullopt, 0}};
  EXPECT_EQ(format_reset_plan("g", rows),
            "GROUP  TOPIC  PARTITION  CURRENT-OFFSET  NEW-OFFSET\n"
            "g      t      0          6               2\n"
            "g      t      1          -               0\n");
  const auto j = reset_plan_json("g", rows, true);
  EXPECT_TRUE(j["executed"]);
  EXPECT_TRUE(j["partitions"][1]["current"].is_null());
  EXPECT_EQ(j["partitions"][0]["new"], 2);
}

}  // namespace
}  // namespace chronik::daemon
