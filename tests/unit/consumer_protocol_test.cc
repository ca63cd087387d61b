// Kafka's ConsumerProtocolSubscription as the coordinator reads it (kafka/groups/consumer_protocol.h):
// bytes laid out by hand per version, what a newer version and a bad one give, and every truncation.
#include <string>

#include <gtest/gtest.h>

#include "kafka/groups/consumer_protocol.h"

namespace chronik::kafka {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string out;
  for (int x : b) out.push_back(static_cast<char>(x));
  return out;
}

// v0: version | topics ["a", "bc"] | user_data null.
const std::string v0 = bytes({0, 0, 0, 0, 0, 2, 0, 1, 'a', 0, 2, 'b', 'c', 0xff, 0xff, 0xff, 0xff});
// v2: version | topics ["t"] | user_data "xy" | owned [("t", [0, 3])] | generation 7.
const std::string v2 = bytes({0, 2, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 2, 'x', 'y', 0, 0, 0, 1, 0, 1, 't',
                              0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 7});

TEST(consumer_protocol, version_0_names_its_topics) {
  auto s = parse_consumer_subscription(v0);
  ASSERT_TRUE(s) << describe(s.error());
  EXPECT_EQ(s->version, 0);
  EXPECT_EQ(s->topics, (std::vector<std::string>{"a", "bc"}));
  EXPECT_FALSE(s->user_data);
  EXPECT_TRUE(s->owned_partitions.empty());
  EXPECT_EQ(s->generation_id, -1);
  EXPECT_EQ(write_consumer_subscription(*s), v0);
}

TEST(consumer_protocol, version_2_has_owned_partitions_and_a_generation) {
  auto s = parse_consumer_subscription(v2);
  ASSERT_TRUE(s) << describe(s.error());
  EXPECT_EQ(s->topics, std::vector<std::string>{"t"});
  EXPECT_EQ(s->user_data, "xy");
  ASSERT_EQ(s->owned_partitions.size(), 1u);
  EXPECT_EQ(s->owned_partitions[0].first, "t");
  EXPECT_EQ(s->owned_partitions[0].second, (std::vector<std::int32_t>{0, 3}));
  EXPECT_EQ(s->generation_id, 7);
  EXPECT_EQ(write_consumer_subscription(*s), v2);

  consumer_subscription v1 = *s;
  v1.version = 1;
  v1.generation_id = -1;
  const std::string written = write_consumer_subscription(v1);
  EXPECT_EQ(written.size(), v2.size() - 4);  // no generation
  EXPECT_EQ(parse_consumer_subscription(written), v1);
}

// As Kafka's ConsumerProtocol: a later version is read with the fields known, and what follows
// them (fields added at the end) is ignored, so a newer client's topics are still known.
TEST(consumer_protocol, a_newer_version_is_read_as_version_2) {
  std::string v5 = v2 + bytes({1, 2, 3});
  v5[1] = 5;
  auto s = parse_consumer_subscription(v5);
  ASSERT_TRUE(s) << describe(s.error());
  EXPECT_EQ(s->version, 5);
  EXPECT_EQ(s->topics, std::vector<std::string>{"t"});
  EXPECT_EQ(s->generation_id, 7);
}

TEST(consumer_protocol, bad_subscriptions_are_refused) {
  std::string negative = v0;
  negative[0] = static_cast<char>(0xff);
  EXPECT_FALSE(parse_consumer_subscription(negative));
  // A null topic array is not a subscription (the field is not nullable).
  EXPECT_FALSE(parse_consumer_subscription(bytes({0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})));
  // A count far beyond the input is refused before anything is allocated for it.
  EXPECT_FALSE(parse_consumer_subscription(bytes({0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 'a'})));
  EXPECT_FALSE(parse_consumer_subscription(""));
  for (const std::string* whole : {&v0, &v2}) {
    for (std::size_t n = 0; n < whole->size(); ++n) {
      EXPECT_FALSE(parse_consumer_subscription(whole->substr(0, n))) << "v" << int((*whole)[1]) << " cut at " << n;
    }
  }
}

}  // namespace
}  // namespace chronik::kafka
