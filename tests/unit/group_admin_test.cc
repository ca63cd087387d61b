// The coordinator core's deletions (DeleteGroups, OffsetDelete; docs/kafka.md "Deleting groups and
// offsets"): which groups and offsets may go (KIP-229, KIP-496 as Kafka's classic groups decide),
// that answers wait for the tombstones to commit, that a failed write deletes nothing, and that a
// coordinator loading the log afterwards does not bring anything back.
#include <gtest/gtest.h>

#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kafka/groups/consumer_protocol.h"
#include "kafka/groups/group_coordinator.h"
#include "tests/unit/group_test_util.h"

namespace chronik::kafka {
namespace {

using testing::commit_now;
using testing::serve_all;
using testing::settle;
using per_key = std::expected<std::vector<group_errc>, group_errc>;

constexpr std::int32_t session_ms = 10'000;

group_config test_config() {
  group_config c = group_config::local();
  c.member_id_seed = 5;
  return c;
}

// What a Kafka consumer subscribed to `topics` puts in its JoinGroup protocol metadata.
std::string subscription(std::vector<std::string> topics) {
  return write_consumer_subscription({.version = 1, .topics = std::move(topics)});
}

join_params consumer(std::string group, std::vector<member_protocol> protocols, std::string type = "consumer") {
  return {.group_id = std::move(group), .client_id = "cl", .session_timeout_ms = session_ms,
          .rebalance_timeout_ms = 30'000, .protocol_type = std::move(type), .protocols = std::move(protocols)};
}

// One member joined and synced: the group is stable. Returns the member id.
std::string stable_member(group_coordinator& c, join_params p) {
  std::optional<join_result> j;
  c.join(p, [&](join_result r) { j = std::move(r); });
  EXPECT_TRUE(j && j->error == group_errc::none);
  std::optional<sync_result> s;
  c.sync({p.group_id, j->generation_id, j->member_id, std::nullopt, std::nullopt, {{j->member_id, "A"}}},
         [&](sync_result r) { s = std::move(r); });
  settle(c);
  EXPECT_TRUE(s && s->error == group_errc::none);
  return j->member_id;
}

void commit_simple(group_coordinator& c, const std::string& group, std::vector<offset_key> keys) {
  commit_params p{group, -1, "", {}};
  for (auto& k : keys) p.offsets.push_back({std::move(k), {5, -1, "", 0}});
  auto r = commit_now(c, p);
  ASSERT_TRUE(r);
}

void commit_member(group_coordinator& c, const std::string& group, const std::string& member,
                   std::vector<offset_key> keys) {
  commit_params p{group, c.describe(group)->generation_id, member, {}};
  for (auto& k : keys) p.offsets.push_back({std::move(k), {5, -1, "", 0}});
  auto r = commit_now(c, p);
  ASSERT_TRUE(r);
}

// OffsetDelete's answer once its writes committed, or (commit = false) the answer given at once.
std::optional<per_key> delete_offsets(group_coordinator& c, const std::string& group, std::vector<offset_key> keys,
                                      bool commit = true) {
  auto got = std::make_shared<std::optional<per_key>>();
  c.delete_offsets(group, std::move(keys), [got](per_key r) { *got = std::move(r); });
  if (commit) settle(c);
  return *got;
}

TEST(group_admin, a_consumer_group_keeps_the_offsets_of_topics_its_members_subscribe_to) {
  group_coordinator c(test_config());
  serve_all(c);
  const std::string m = stable_member(c, consumer("g", {{"range", subscription({"t", "u"})}}));
  commit_member(c, "g", m, {{"t", 0}, {"u", 0}, {"v", 0}, {"v", 1}});

  auto r = delete_offsets(c, "g", {{"t", 0}, {"v", 0}, {"u", 0}, {"w", 0}});
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(**r, (std::vector<group_errc>{group_errc::group_subscribed_to_topic, group_errc::none,
                                          group_errc::group_subscribed_to_topic, group_errc::none}));
  EXPECT_TRUE(c.committed("g", {"t", 0}));
  EXPECT_TRUE(c.committed("g", {"u", 0}));
  EXPECT_FALSE(c.committed("g", {"v", 0}));
  EXPECT_TRUE(c.committed("g", {"v", 1}));

  // Once the member leaves, the group is empty and every offset may go.
  ASSERT_TRUE(c.leave("g", m));
  settle(c);
  r = delete_offsets(c, "g", {{"t", 0}, {"u", 0}});
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(**r, (std::vector<group_errc>{group_errc::none, group_errc::none}));
  EXPECT_FALSE(c.committed("g", {"t", 0}));
  EXPECT_FALSE(c.committed("g", {"u", 0}));
}

// Kafka would let the offsets go while no protocol is chosen yet; a member that is joining is about
// to consume them, so every protocol it offers counts.
TEST(group_admin, a_joining_member_subscribes_in_every_protocol_it_offers) {
  group_config cfg = test_config();
  cfg.initial_rebalance_delay_ms = 3'000;  // the first join waits: no protocol is selected yet
  group_coordinator c(cfg);
  serve_all(c);
  commit_simple(c, "g", {{"t", 0}, {"u", 0}, {"v", 0}});
  std::optional<join_result> j;
  c.join(consumer("g", {{"range", subscription({"t"})}, {"roundrobin", subscription({"u"})}}),
         [&](join_result r) { j = std::move(r); });
  ASSERT_FALSE(j);
  ASSERT_EQ(c.describe("g")->state, group_state::preparing_rebalance);
  ASSERT_FALSE(c.describe("g")->protocol_name);

  auto r = delete_offsets(c, "g", {{"t", 0}, {"u", 0}, {"v", 0}});
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(**r, (std::vector<group_errc>{group_errc::group_subscribed_to_topic, group_errc::group_subscribed_to_topic,
                                          group_errc::none}));

  // Once "range" is chosen, only its subscription counts.
  c.tick(3'000);
  ASSERT_TRUE(j && j->error == group_errc::none);
  ASSERT_EQ(c.describe("g")->protocol_name, "range");
  r = delete_offsets(c, "g", {{"t", 0}, {"u", 0}});
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(**r, (std::vector<group_errc>{group_errc::group_subscribed_to_topic, group_errc::none}));
}

TEST(group_admin, a_subscription_that_does_not_parse_names_no_topic) {
  group_coordinator c(test_config());
  serve_all(c);
  const std::string m = stable_member(c, consumer("g", {{"range", "not a subscription"}}));
  commit_member(c, "g", m, {{"t", 0}});
  auto r = delete_offsets(c, "g", {{"t", 0}});
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(**r, std::vector<group_errc>{group_errc::none});
  EXPECT_FALSE(c.committed("g", {"t", 0}));
}

TEST(group_admin, a_group_with_members_that_is_not_of_consumers_is_refused_whole) {
  group_coordinator c(test_config());
  serve_all(c);
  const std::string m = stable_member(c, consumer("g", {{"connect-v1", "x"}}, "connect"));
  commit_member(c, "g", m, {{"t", 0}});
  auto r = delete_offsets(c, "g", {{"t", 0}});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, std::unexpected(group_errc::non_empty_group));
  EXPECT_TRUE(c.committed("g", {"t", 0}));
  std::optional<group_errc> deleted;
  c.delete_group("g", [&](group_errc e) { deleted = e; });
  EXPECT_EQ(deleted, group_errc::non_empty_group);
}

TEST(group_admin, groups_that_are_not_here_are_refused) {
  group_coordinator c(test_config());
  EXPECT_EQ(delete_offsets(c, "g", {{"t", 0}}), per_key(std::unexpected(group_errc::not_coordinator)));
  c.begin_load(0, 1);
  EXPECT_EQ(delete_offsets(c, "g", {{"t", 0}}), per_key(std::unexpected(group_errc::load_in_progress)));
  std::optional<group_errc> deleted;
  c.delete_group("g", [&](group_errc e) { deleted = e; });
  EXPECT_EQ(deleted, group_errc::load_in_progress);
  c.finish_load(0);
  EXPECT_EQ(delete_offsets(c, "g", {{"t", 0}}), per_key(std::unexpected(group_errc::group_id_not_found)));
  EXPECT_EQ(delete_offsets(c, "", {{"t", 0}}), per_key(std::unexpected(group_errc::invalid_group_id)));
  // A group that exists but never committed `t`: nothing to forget, answered at once.
  commit_simple(c, "g", {{"u", 0}});
  EXPECT_EQ(delete_offsets(c, "g", {{"t", 0}}, false), per_key(std::vector<group_errc>{group_errc::none}));
  EXPECT_EQ(delete_offsets(c, "g", {}, false), per_key(std::vector<group_errc>{}));
}

TEST(group_admin, answers_wait_for_the_tombstones_and_a_failed_write_deletes_nothing) {
  group_coordinator c(test_config());
  serve_all(c);
  commit_simple(c, "g", {{"t", 0}, {"t", 1}});

  std::optional<per_key> got;
  c.delete_offsets("g", {{"t", 0}}, [&](per_key r) { got = std::move(r); });
  EXPECT_FALSE(got);
  EXPECT_TRUE(c.committed("g", {"t", 0})) << "visible until the tombstone commits";
  settle(c, write_outcome::failed);
  EXPECT_EQ(got, per_key(std::unexpected(group_errc::coordinator_not_available)));
  EXPECT_TRUE(c.committed("g", {"t", 0}));

  std::optional<group_errc> deleted;
  c.delete_group("g", [&](group_errc e) { deleted = e; });
  EXPECT_FALSE(deleted);
  settle(c, write_outcome::failed);
  EXPECT_EQ(deleted, group_errc::coordinator_not_available);
  EXPECT_TRUE(c.committed("g", {"t", 1}));
  ASSERT_TRUE(c.describe("g"));

  // Leadership lost under the write: the client must find the new coordinator, which has the log.
  deleted.reset();
  c.delete_group("g", [&](group_errc e) { deleted = e; });
  settle(c, write_outcome::not_leader);
  EXPECT_EQ(deleted, group_errc::not_coordinator);
  EXPECT_EQ(c.serves("g"), group_errc::not_coordinator);
}

// The tombstones are in the log, so a coordinator that loads it (a restart, a move) has neither the
// deleted group nor the deleted offsets.
TEST(group_admin, deletions_survive_a_load_of_the_log) {
  group_coordinator a(test_config());
  serve_all(a);
  std::vector<group_log_record> log;
  auto append = [&](group_coordinator& c) {
    for (auto& w : settle(c)) log.insert(log.end(), w.records.begin(), w.records.end());
  };
  const std::string m = stable_member(a, consumer("live", {{"range", subscription({"t"})}}));
  commit_params p{"live", a.describe("live")->generation_id, m, {{{"t", 0}, {1, -1, "", 0}}, {{"u", 0}, {2, -1, "", 0}}}};
  a.commit_offsets(p, [](per_key) {});
  commit_params gone{"gone", -1, "", {{{"t", 0}, {3, -1, "", 0}}}};
  a.commit_offsets(gone, [](per_key) {});
  append(a);

  std::optional<per_key> r;
  a.delete_offsets("live", {{"t", 0}, {"u", 0}}, [&](per_key got) { r = std::move(got); });
  EXPECT_FALSE(r);
  std::optional<group_errc> deleted;
  a.delete_group("gone", [&](group_errc e) { deleted = e; });
  append(a);
  EXPECT_EQ(r, per_key(std::vector<group_errc>{group_errc::group_subscribed_to_topic, group_errc::none}));
  EXPECT_EQ(deleted, group_errc::none);

  group_coordinator b(test_config());
  b.begin_load(0, 1);
  for (const auto& rec : log) b.load(0, rec);
  b.finish_load(0);
  EXPECT_FALSE(b.describe("gone"));
  EXPECT_FALSE(b.committed("gone", {"t", 0}));
  EXPECT_TRUE(b.committed("live", {"t", 0}));
  EXPECT_FALSE(b.committed("live", {"u", 0}));
}

// A commit on its way when DeleteGroups comes commits first, and its offset is not among the
// tombstones: the log keeps it, so the coordinator must too, or a coordinator loading the log would
// bring back an offset the old one had forgotten.
TEST(group_admin, an_offset_committed_under_a_deletion_stays_as_the_log_says) {
  group_coordinator a(test_config());
  serve_all(a);
  std::vector<group_log_record> log;
  auto append = [&](group_coordinator& c) {
    for (auto& w : settle(c)) log.insert(log.end(), w.records.begin(), w.records.end());
  };
  commit_params first{"solo", -1, "", {{{"t", 0}, {1, -1, "", 0}}}};
  a.commit_offsets(first, [](per_key) {});
  append(a);
  commit_params racing{"solo", -1, "", {{{"t", 1}, {2, -1, "", 0}}}};
  a.commit_offsets(racing, [](per_key) {});
  std::optional<group_errc> deleted;
  a.delete_group("solo", [&](group_errc e) { deleted = e; });
  append(a);
  EXPECT_EQ(deleted, group_errc::none);

  group_coordinator b(test_config());
  b.begin_load(0, 1);
  for (const auto& rec : log) b.load(0, rec);
  b.finish_load(0);
  for (const offset_key& k : {offset_key{"t", 0}, offset_key{"t", 1}}) {
    EXPECT_EQ(a.committed("solo", k), b.committed("solo", k)) << k.topic << "-" << k.partition;
  }
  EXPECT_FALSE(a.committed("solo", {"t", 0}));
  EXPECT_TRUE(a.committed("solo", {"t", 1}));
}

}  // namespace
}  // namespace chronik::kafka
