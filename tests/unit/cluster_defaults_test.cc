// The cluster-wide broker defaults of topic configs (kafka/handlers/cluster_defaults.h): which
// broker keys stand for which topic keys, the values they accept, and the configs a topic is
// governed by (its own over the cluster's over Kafka's), internal topics excepted.
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "kafka/handlers/broker_context.h"
#include "kafka/handlers/cluster_defaults.h"

namespace chronik::kafka {
namespace {

using configs = std::map<std::string, std::string>;

TEST(ClusterDefaults, BrokerSynonymsNameTheirTopicKeys) {
  ASSERT_NE(find_cluster_default("log.retention.ms"), nullptr);
  EXPECT_EQ(find_cluster_default("log.retention.ms")->name, "retention.ms");
  EXPECT_EQ(find_cluster_default("log.cleanup.policy")->name, "cleanup.policy");
  EXPECT_EQ(find_cluster_default("message.max.bytes")->name, "max.message.bytes");
  EXPECT_EQ(find_cluster_default("log.cleaner.delete.retention.ms")->name, "delete.retention.ms");
  EXPECT_EQ(find_cluster_default("retention.ms"), nullptr) << "the topic key is not a broker key";
  EXPECT_EQ(find_cluster_default("num.io.threads"), nullptr);
  EXPECT_EQ(find_cluster_default(""), nullptr) << "keys without a synonym have an empty one";
  // Every synonym stands for one topic key only.
  std::map<std::string_view, int> seen;
  for (const auto& k : topic_config_keys()) {
    if (!k.broker_synonym.empty()) {
      EXPECT_EQ(++seen[k.broker_synonym], 1) << k.broker_synonym;
    }
  }
}

TEST(ClusterDefaults, ValuesAreCheckedAsTheTopicKeyChecksThem) {
  EXPECT_TRUE(validate_cluster_default("log.retention.ms", "60000"));
  EXPECT_TRUE(validate_cluster_default("log.cleanup.policy", "compact,delete"));
  EXPECT_FALSE(validate_cluster_default("log.retention.ms", "soon"));
  EXPECT_FALSE(validate_cluster_default("log.cleanup.policy", ""));
  EXPECT_FALSE(validate_cluster_default("compression.type", "gzip")) << "chronik does not recompress";
  const auto unknown = validate_cluster_default("num.io.threads", "8");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("dynamically"), std::string::npos) << unknown.error();
  const auto bad = validate_cluster_default("log.segment.bytes", "12");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("log.segment.bytes"), std::string::npos) << bad.error();
}

TEST(ClusterDefaults, ATopicsOwnValueWinsOverTheClustersWhichWinsOverKafkas) {
  const configs cluster{{"log.retention.ms", "60000"}, {"log.cleanup.policy", "compact"}, {"num.io.threads", "8"}};
  const configs own{{"retention.ms", "1000"}, {"segment.ms", "5"}};
  EXPECT_EQ(topic_configs_in_effect("t", own, cluster),
            (configs{{"cleanup.policy", "compact"}, {"retention.ms", "1000"}, {"segment.ms", "5"}}));
  EXPECT_EQ(topic_configs_in_effect("t", own, {}), own);
  const auto* retention = find_topic_config("retention.ms");
  ASSERT_NE(retention, nullptr);
  ASSERT_NE(cluster_default_for("t", *retention, cluster), nullptr);
  EXPECT_EQ(*cluster_default_for("t", *retention, cluster), "60000");
  EXPECT_EQ(cluster_default_for("t", *find_topic_config("segment.ms"), cluster), nullptr);
}

// The coordinators' topics keep their fixed configs: a cluster-wide retention or compaction would
// drop or clean records only the coordinators may trim.
TEST(ClusterDefaults, InternalTopicsTakeNone) {
  const configs cluster{{"log.retention.ms", "60000"}, {"log.cleanup.policy", "compact"}};
  const configs own{{"retention.ms", "-1"}, {"retention.bytes", "-1"}};
  EXPECT_EQ(topic_configs_in_effect(offsets_topic_name, own, cluster), own);
  EXPECT_EQ(topic_configs_in_effect(transaction_state_topic_name, own, cluster), own);
  EXPECT_EQ(cluster_default_for(offsets_topic_name, *find_topic_config("cleanup.policy"), cluster), nullptr);
}

}  // namespace
}  // namespace chronik::kafka
