// The pure parts of `chronik-server topic ...` (daemon/topic_report.h): --config parsing, the
// listing and the description as tables and JSON.
#include "daemon/topic_report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kafka/protocol/field_values.h"

namespace chronik::daemon {
namespace {

TEST(topic_report_test, config_assignments_keep_order_and_equals_signs_in_values) {
  auto c = parse_config_assignments({"retention.ms=1000", "x=a=b", "empty="});
  ASSERT_TRUE(c.has_value()) << c.error();
  EXPECT_EQ(*c, (config_pairs{{"retention.ms", "1000"}, {"x", "a=b"}, {"empty", ""}}));
}

TEST(topic_report_test, bad_config_assignments_are_refused_naming_them) {
  EXPECT_EQ(parse_config_assignments({"retention.ms"}).error(), "--config \"retention.ms\": expected NAME=VALUE");
  EXPECT_EQ(parse_config_assignments({"=5"}).error(), "--config \"=5\": empty config name");
  EXPECT_EQ(parse_config_assignments({"a=1", "a=2"}).error(), "--config: a is given twice");
}

TEST(topic_report_test, config_sources_have_words) {
  EXPECT_EQ(config_source_name(kafka::config_source::dynamic_topic), "topic");
  EXPECT_EQ(config_source_name(kafka::config_source::default_config), "default");
  EXPECT_EQ(config_source_name(kafka::config_source::static_broker), "broker");
  EXPECT_EQ(config_source_name(-1), "unknown");
}

TEST(topic_report_test, the_list_is_a_table_and_an_array) {
  const std::vector<topic_summary> topics{{"orders", 3, 3, false}, {"__consumer_offsets", 50, 3, true}};
  EXPECT_EQ(format_topic_list(topics),
            "TOPIC               PARTITIONS  REPLICATION-FACTOR  INTERNAL\n"
            "orders              3           3                   no\n"
            "__consumer_offsets  50          3                   yes\n");
  const auto j = topic_list_json(topics);
  ASSERT_EQ(j.size(), 2U);
  EXPECT_EQ(j[0], (nlohmann::json{{"topic", "orders"}, {"partitions", 3}, {"replication_factor", 3}, {"internal", false}}));
}

topic_description sample() {
  topic_description d{"orders", "00ff", false, {}, {}};
  d.partitions.push_back({0, 1, {1, 2, 3}, {1, 2, 3}, {}, 0, 10});
  d.partitions.push_back({1, -1, {2, 3, 1}, {1}, {2, 3}, std::nullopt, std::nullopt});
  d.configs.push_back({"retention.ms", "1000", "topic", false});
  d.configs.push_back({"secret", std::nullopt, "broker", true});
  d.configs.push_back({"segment.ms", "604800000", "default", false});
  return d;
}

TEST(topic_report_test, a_description_shows_leaders_replicas_offsets_and_configs) {
  EXPECT_EQ(format_topic_description(sample()),
            "TOPIC orders  ID 00ff  PARTITIONS 2  REPLICATION-FACTOR 3\n\n"
            "PARTITION  LEADER  REPLICAS  ISR    OFFLINE  LOG-START-OFFSET  LOG-END-OFFSET\n"
            "0          1       1,2,3     1,2,3  -        0                 10\n"
            "1          -       2,3,1     1      2,3      -                 -\n"
            "\n"
            "CONFIG        VALUE  SOURCE\n"
            "retention.ms  1000   topic\n"
            "secret        -      broker\n"
            "\n"
            "1 config is at the default (--json lists every config)\n");
}

TEST(topic_report_test, a_description_in_json_uses_null_for_the_unknown) {
  const auto j = topic_description_json(sample());
  EXPECT_EQ(j["topic"], "orders");
  EXPECT_EQ(j["topic_id"], "00ff");
  EXPECT_EQ(j["partitions"][0]["leader"], 1);
  EXPECT_EQ(j["partitions"][0]["log_end_offset"], 10);
  EXPECT_TRUE(j["partitions"][1]["leader"].is_null());
  EXPECT_TRUE(j["partitions"][1]["log_start_offset"].is_null());
  EXPECT_EQ(j["partitions"][1]["offline"], nlohmann::json({2, 3}));
  EXPECT_EQ(j["configs"][0], (nlohmann::json{{"name", "retention.ms"}, {"value", "1000"}, {"source", "topic"},
                                              {"read_only", false}}));
  EXPECT_TRUE(j["configs"][1]["value"].is_null());
}

}  // namespace
}  // namespace chronik::daemon
