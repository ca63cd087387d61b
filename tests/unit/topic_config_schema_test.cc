// The topic config schema (kafka/handlers/topic_config_schema.h): Kafka's types and ranges, what
// chronik refuses as unsupported, the defaults DescribeConfigs has always reported, and the list
// helpers that IncrementalAlterConfigs' APPEND and SUBTRACT use.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kafka/handlers/topic_config_schema.h"

namespace chronik::kafka {
namespace {

bool ok(std::string_view k, std::string_view v) { return validate_topic_config(k, v).has_value(); }

TEST(TopicConfigSchema, KeepsTheDefaultsChronikAlwaysReported) {
  const std::map<std::string, std::string> before{
      {"cleanup.policy", "delete"},      {"compression.type", "producer"}, {"max.message.bytes", "1048588"},
      {"message.timestamp.type", "CreateTime"}, {"min.insync.replicas", "1"}, {"retention.bytes", "-1"},
      {"retention.ms", "604800000"},     {"segment.bytes", "1073741824"}};
  for (const auto& [k, v] : before) {
    const auto* key = find_topic_config(k);
    ASSERT_NE(key, nullptr) << k;
    EXPECT_EQ(key->default_value, v) << k;
    EXPECT_TRUE(ok(k, key->default_value)) << k;
  }
}

TEST(TopicConfigSchema, EveryDefaultIsAValidValueAndKeysAreUnique) {
  std::string previous;
  for (const auto& k : topic_config_keys()) {
    EXPECT_TRUE(ok(k.name, k.default_value)) << k.name << "=" << k.default_value;
    EXPECT_LT(previous, std::string(k.name));
    previous = std::string(k.name);
    EXPECT_FALSE(k.doc.empty()) << k.name;
  }
}

TEST(TopicConfigSchema, LongsAndIntsAreCheckedForTypeAndRange) {
  EXPECT_TRUE(ok("retention.ms", "1000"));
  EXPECT_TRUE(ok("retention.ms", "-1"));
  EXPECT_FALSE(ok("retention.ms", "-2"));
  EXPECT_FALSE(ok("retention.ms", "abc"));
  EXPECT_FALSE(ok("retention.ms", ""));
  EXPECT_FALSE(ok("retention.ms", "10s"));
  // What the replicas could not read back is refused rather than stored and ignored.
  EXPECT_FALSE(ok("retention.ms", " 100"));
  EXPECT_FALSE(ok("retention.ms", "+100"));
  EXPECT_FALSE(ok("message.timestamp.type", "CreateTime "));
  EXPECT_FALSE(ok("retention.ms", "99999999999999999999"));
  EXPECT_TRUE(ok("retention.bytes", "-5"));  // Kafka allows any long
  EXPECT_TRUE(ok("max.message.bytes", "2147483647"));
  EXPECT_FALSE(ok("max.message.bytes", "2147483648"));  // an int
  EXPECT_FALSE(ok("segment.bytes", "1048575"));         // at least 1 MiB
  EXPECT_FALSE(ok("min.insync.replicas", "0"));
  EXPECT_TRUE(ok("compression.gzip.level", "-1"));
  EXPECT_FALSE(ok("compression.gzip.level", "0"));
  EXPECT_FALSE(ok("compression.lz4.level", "18"));
}

TEST(TopicConfigSchema, EnumsBooleansDoublesAndLists) {
  EXPECT_TRUE(ok("message.timestamp.type", "LogAppendTime"));
  EXPECT_FALSE(ok("message.timestamp.type", "logappendtime"));
  EXPECT_TRUE(ok("preallocate", "TRUE"));
  EXPECT_FALSE(ok("preallocate", "yes"));
  EXPECT_TRUE(ok("min.cleanable.dirty.ratio", "0.25"));
  EXPECT_FALSE(ok("min.cleanable.dirty.ratio", "1.5"));
  EXPECT_FALSE(ok("min.cleanable.dirty.ratio", "half"));
  EXPECT_TRUE(ok("leader.replication.throttled.replicas", "*"));
  EXPECT_TRUE(ok("leader.replication.throttled.replicas", "0:1, 1:2"));
  EXPECT_FALSE(ok("leader.replication.throttled.replicas", "0-1"));
}

TEST(TopicConfigSchema, UnsupportedValuesAndUnknownKeysAreRefusedWithTheReason) {
  auto neither = validate_topic_config("cleanup.policy", "");
  ASSERT_FALSE(neither);
  EXPECT_NE(neither.error().find("must name"), std::string::npos) << neither.error();
  EXPECT_TRUE(ok("cleanup.policy", "compact"));
  EXPECT_TRUE(ok("cleanup.policy", "delete,compact"));
  EXPECT_FALSE(ok("cleanup.policy", "shred"));
  EXPECT_TRUE(ok("cleanup.policy", "delete"));
  EXPECT_FALSE(ok("compression.type", "gzip"));
  EXPECT_FALSE(ok("unclean.leader.election.enable", "true"));
  EXPECT_TRUE(ok("unclean.leader.election.enable", "false"));
  EXPECT_FALSE(ok("remote.storage.enable", "true"));
  auto unknown = validate_topic_config("retention.minutes", "5");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("unknown topic config 'retention.minutes'"), std::string::npos);
  auto bad = validate_topic_configs({{"retention.ms", "1"}, {"segment.ms", "abc"}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("segment.ms"), std::string::npos);
}

TEST(TopicConfigSchema, TheEnforcedKeysAreTheOnesThePartitionsRead) {
  for (std::string_view k : {"retention.ms", "retention.bytes", "max.message.bytes", "message.timestamp.type",
                             "message.timestamp.before.max.ms", "message.timestamp.after.max.ms",
                             "message.timestamp.difference.max.ms"}) {
    ASSERT_NE(find_topic_config(k), nullptr) << k;
    EXPECT_EQ(find_topic_config(k)->support, config_support::enforced) << k;
  }
}

TEST(TopicConfigSchema, ListsSplitAndJoinAsKafkaDoes) {
  EXPECT_EQ(config_list::split(""), std::vector<std::string>{});
  EXPECT_EQ(config_list::split(" a , b,c"), (std::vector<std::string>{"a", "b", "c"}));
  const std::vector<std::string> items{"a", "b"};
  EXPECT_EQ(config_list::join(items), "a,b");
}

}  // namespace
}  // namespace chronik::kafka
