// The consumer group coordinator core (kafka/groups, docs/kafka.md "Consumer groups"): joins of one
// and of several members, rebalances on join, leave, session and rebalance timeouts, generation
// and member checks, the leader's assignment through SyncGroup, KIP-394's MEMBER_ID_REQUIRED,
// committed offsets, and the coordinator's placement over the brokers.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kafka/groups/group_coordinator.h"
#include "tests/unit/group_test_util.h"

namespace chronik::kafka {
namespace {

using testing::commit_now;
using testing::serve_all;
using testing::settle;

constexpr std::int32_t session_ms = 10'000;
constexpr std::int32_t rebalance_ms = 30'000;

group_config test_config() {
  group_config c = group_config::local();
  c.member_id_seed = 7;
  return c;
}

class kafka_groups_test : public ::testing::Test {
 protected:
  // Starts a JoinGroup; the answer lands in the returned slot when the coordinator gives it.
  std::shared_ptr<std::optional<join_result>> join(const std::string& member,
                                                   const std::string& client = "c",
                                                   std::vector<member_protocol> protocols = {
                                                       {"range", "meta"}}) {
    auto slot = std::make_shared<std::optional<join_result>>();
    join_params p;
    p.group_id = "g";
    p.member_id = member;
    p.client_id = client;
    p.session_timeout_ms = session_ms;
    p.rebalance_timeout_ms = rebalance_ms;
    p.protocol_type = "consumer";
    p.protocols = std::move(protocols);
    p.require_known_member_id = require_known_;
    coord_.join(std::move(p), [slot](join_result r) {
      ASSERT_FALSE(slot->has_value()) << "answered twice";
      *slot = std::move(r);
    });
    settle(coord_);
    return slot;
  }

  std::shared_ptr<std::optional<sync_result>> sync(
      const std::string& member, std::int32_t generation,
      std::vector<std::pair<std::string, std::string>> assignments = {}) {
    auto slot = std::make_shared<std::optional<sync_result>>();
    sync_params p;
    p.group_id = "g";
    p.generation_id = generation;
    p.member_id = member;
    p.assignments = std::move(assignments);
    coord_.sync(std::move(p), [slot](sync_result r) {
      ASSERT_FALSE(slot->has_value()) << "answered twice";
      *slot = std::move(r);
    });
    settle(coord_);
    return slot;
  }

  // One member joined and synced: the group is stable in generation 1. Returns its id.
  std::string stable_single() {
    auto j = join("", "a");
    EXPECT_TRUE(j->has_value());
    const std::string id = (*j)->member_id;
    auto s = sync(id, (*j)->generation_id, {{id, "assign-a"}});
    EXPECT_TRUE(s->has_value());
    return id;
  }

  group_state state() const { return coord_.describe("g").value().state; }
  std::int32_t generation() const { return coord_.describe("g").value().generation_id; }

  kafka_groups_test() { serve_all(coord_); }

  bool require_known_ = false;
  group_coordinator coord_{test_config()};
};

TEST_F(kafka_groups_test, a_single_member_joins_leads_and_assigns_itself) {
  auto j = join("", "client-1", {{"range", "sub-a"}});
  ASSERT_TRUE(j->has_value());  // no initial delay in the local preset: answered at once
  const join_result& r = **j;
  EXPECT_EQ(r.error, group_errc::none);
  EXPECT_EQ(r.generation_id, 1);
  EXPECT_EQ(r.leader_id, r.member_id);
  EXPECT_EQ(r.protocol_name, "range");
  EXPECT_EQ(r.protocol_type, "consumer");
  EXPECT_TRUE(r.member_id.starts_with("client-1-"));
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0], (join_member{r.member_id, "sub-a"}));
  EXPECT_EQ(state(), group_state::completing_rebalance);

  auto s = sync(r.member_id, 1, {{r.member_id, "p0,p1"}});
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->error, group_errc::none);
  EXPECT_EQ((*s)->assignment, "p0,p1");
  EXPECT_EQ(state(), group_state::stable);
  EXPECT_TRUE(coord_.heartbeat("g", 1, r.member_id));
  // A SyncGroup in a stable group repeats the member's assignment.
  auto again = sync(r.member_id, 1);
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->assignment, "p0,p1");
}

TEST_F(kafka_groups_test, member_id_required_then_rejoin_with_the_given_id) {
  require_known_ = true;
  auto first = join("", "kafkajs");
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->error, group_errc::member_id_required);
  const std::string id = (*first)->member_id;
  EXPECT_TRUE(id.starts_with("kafkajs-"));
  EXPECT_EQ(coord_.describe("g")->pending_members, 1u);
  EXPECT_EQ(state(), group_state::empty);

  auto second = join(id, "kafkajs");
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ((*second)->error, group_errc::none);
  EXPECT_EQ((*second)->member_id, id);
  EXPECT_EQ((*second)->generation_id, 1);
  EXPECT_EQ(coord_.describe("g")->pending_members, 0u);
}

TEST_F(kafka_groups_test, unused_pending_member_ids_expire_after_the_session_timeout) {
  require_known_ = true;
  auto first = join("", "x");
  const std::string id = (*first)->member_id;
  coord_.tick(session_ms - 1);
  EXPECT_EQ(coord_.describe("g")->pending_members, 1u);
  coord_.tick(session_ms);
  EXPECT_FALSE(coord_.describe("g"));  // nothing left: the empty group is dropped
  auto late = join(id, "x");
  ASSERT_TRUE(late->has_value());
  EXPECT_EQ((*late)->error, group_errc::unknown_member);
}

TEST_F(kafka_groups_test, member_ids_are_deterministic_for_a_seed_and_unique) {
  group_coordinator other{test_config()};
  serve_all(other);
  std::vector<std::string> ids_a, ids_b;
  for (int i = 0; i < 3; ++i) {
    for (auto* c : {&coord_, &other}) {
      join_params p{.group_id = "g" + std::to_string(i), .client_id = "cl",
                    .session_timeout_ms = session_ms, .protocol_type = "consumer",
                    .protocols = {{"range", ""}}};
      c->join(p, [&, c](join_result r) { (c == &coord_ ? ids_a : ids_b).push_back(r.member_id); });
    }
  }
  EXPECT_EQ(ids_a, ids_b);
  std::ranges::sort(ids_a);
  EXPECT_EQ(std::ranges::unique(ids_a).begin(), ids_a.end());
}

TEST_F(kafka_groups_test, a_second_member_triggers_a_rebalance_that_waits_for_everyone) {
  const std::string a = stable_single();
  auto jb = join("", "b");
  EXPECT_FALSE(jb->has_value());  // deferred until a rejoins
  EXPECT_EQ(state(), group_state::preparing_rebalance);
  EXPECT_EQ(coord_.heartbeat("g", 1, a).error(), group_errc::rebalance_in_progress);

  auto ja = join(a, "a");
  ASSERT_TRUE(ja->has_value());
  ASSERT_TRUE(jb->has_value());
  const std::string b = (*jb)->member_id;
  EXPECT_EQ((*ja)->generation_id, 2);
  EXPECT_EQ((*jb)->generation_id, 2);
  EXPECT_EQ((*ja)->leader_id, a);
  EXPECT_EQ((*jb)->leader_id, a);
  EXPECT_EQ((*ja)->members.size(), 2u);  // the leader sees every subscription
  EXPECT_TRUE((*jb)->members.empty());   // followers do not

  // The follower's SyncGroup waits for the leader's.
  auto sb = sync(b, 2);
  EXPECT_FALSE(sb->has_value());
  auto sa = sync(a, 2, {{a, "A"}, {b, "B"}, {"stranger", "X"}});
  ASSERT_TRUE(sa->has_value());
  ASSERT_TRUE(sb->has_value());
  EXPECT_EQ((*sa)->assignment, "A");
  EXPECT_EQ((*sb)->assignment, "B");
  EXPECT_EQ(state(), group_state::stable);
  EXPECT_TRUE(coord_.heartbeat("g", 2, b));
  // The previous generation is over.
  EXPECT_EQ(coord_.heartbeat("g", 1, b).error(), group_errc::illegal_generation);
}

TEST_F(kafka_groups_test, a_member_that_does_not_rejoin_is_dropped_at_the_rebalance_timeout) {
  const std::string a = stable_single();
  auto jb = join("", "b");
  auto ja = join(a, "a");
  auto b = (*jb)->member_id;
  auto sa = sync(a, 2, {{a, "A"}, {b, "B"}});
  auto sb = sync(b, 2);
  ASSERT_EQ(state(), group_state::stable);

  auto jc = join("", "c");  // rebalance; a rejoins, b only heartbeats
  auto ja3 = join(a, "a");
  for (std::int64_t t = 5'000; t < rebalance_ms; t += 5'000) {
    coord_.tick(t);
    EXPECT_EQ(coord_.heartbeat("g", 2, b).error(), group_errc::rebalance_in_progress);
  }
  EXPECT_FALSE(jc->has_value());
  coord_.tick(rebalance_ms);
  ASSERT_TRUE(jc->has_value());
  ASSERT_TRUE(ja3->has_value());
  EXPECT_EQ((*jc)->generation_id, 3);
  EXPECT_EQ(coord_.describe("g")->member_ids.size(), 2u);
  EXPECT_EQ(coord_.heartbeat("g", 3, b).error(), group_errc::unknown_member);
}

TEST_F(kafka_groups_test, a_silent_member_is_removed_at_its_session_timeout) {
  const std::string a = stable_single();
  auto jb = join("", "b");
  auto ja = join(a, "a");
  const std::string b = (*jb)->member_id;
  sync(b, 2);
  sync(a, 2, {{a, "A"}, {b, "B"}});
  // a keeps heartbeating, b goes quiet.
  for (std::int64_t t = 3'000; t < session_ms; t += 3'000) {
    coord_.tick(t);
    EXPECT_TRUE(coord_.heartbeat("g", 2, a));
  }
  coord_.tick(session_ms);
  EXPECT_EQ(state(), group_state::preparing_rebalance);
  EXPECT_EQ(coord_.heartbeat("g", 2, a).error(), group_errc::rebalance_in_progress);
  auto again = join(a, "a");
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->generation_id, 3);
  EXPECT_EQ(coord_.describe("g")->member_ids, std::vector<std::string>{a});
}

TEST_F(kafka_groups_test, leaving_rebalances_and_the_last_leave_empties_the_group) {
  const std::string a = stable_single();
  auto jb = join("", "b");
  auto ja = join(a, "a");
  const std::string b = (*jb)->member_id;
  sync(a, 2, {{a, "A"}, {b, "B"}});
  sync(b, 2);
  // The leader leaves: b becomes the leader of the next generation.
  ASSERT_TRUE(coord_.leave("g", a));
  EXPECT_EQ(state(), group_state::preparing_rebalance);
  auto jb3 = join(b, "b");
  ASSERT_TRUE(jb3->has_value());
  EXPECT_EQ((*jb3)->leader_id, b);
  EXPECT_EQ((*jb3)->generation_id, 3);
  EXPECT_EQ(coord_.leave("g", a).error(), group_errc::unknown_member);
  ASSERT_TRUE(coord_.leave("g", b));
  EXPECT_EQ(state(), group_state::empty);
  EXPECT_EQ(generation(), 4);
  coord_.tick(1);
  EXPECT_FALSE(coord_.describe("g"));
}

TEST_F(kafka_groups_test, leaving_while_a_join_waits_answers_it) {
  const std::string a = stable_single();
  auto jb = join("", "b");
  const auto ids = coord_.describe("g")->member_ids;
  ASSERT_EQ(ids.size(), 2u);
  const std::string b = ids[0] == a ? ids[1] : ids[0];
  ASSERT_TRUE(coord_.leave("g", b));
  ASSERT_TRUE(jb->has_value());
  EXPECT_EQ((*jb)->error, group_errc::unknown_member);
}

TEST_F(kafka_groups_test, generation_member_and_group_checks) {
  const std::string a = stable_single();
  EXPECT_EQ(coord_.heartbeat("g", 7, a).error(), group_errc::illegal_generation);
  EXPECT_EQ(coord_.heartbeat("g", 1, "nobody").error(), group_errc::unknown_member);
  EXPECT_EQ(coord_.heartbeat("other", 1, a).error(), group_errc::unknown_member);
  auto s = sync(a, 0);
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->error, group_errc::illegal_generation);
  auto u = sync("nobody", 1);
  EXPECT_EQ((*u)->error, group_errc::unknown_member);
  auto j = join("nobody");
  EXPECT_EQ((*j)->error, group_errc::unknown_member);
}

TEST_F(kafka_groups_test, join_validation) {
  join_params p{.group_id = "", .client_id = "c", .session_timeout_ms = session_ms,
                .protocol_type = "consumer", .protocols = {{"range", ""}}};
  std::vector<group_errc> errors;
  auto record = [&](join_result r) { errors.push_back(r.error); };
  coord_.join(p, record);
  p.group_id = "g";
  p.session_timeout_ms = 100;  // below group.min.session.timeout.ms
  coord_.join(p, record);
  p.session_timeout_ms = session_ms;
  p.protocols.clear();
  coord_.join(p, record);
  EXPECT_EQ(errors, (std::vector<group_errc>{group_errc::invalid_group_id,
                                             group_errc::invalid_session_timeout,
                                             group_errc::inconsistent_protocol}));
  stable_single();
  p.protocols = {{"sticky", ""}};  // the group's members do not speak it
  coord_.join(p, record);
  p.protocol_type = "connect";
  p.protocols = {{"range", ""}};
  coord_.join(p, record);
  EXPECT_EQ(errors.back(), group_errc::inconsistent_protocol);
  EXPECT_EQ(errors[errors.size() - 2], group_errc::inconsistent_protocol);
}

TEST_F(kafka_groups_test, the_protocol_most_members_prefer_among_the_common_ones_wins) {
  require_known_ = false;
  auto ja = join("", "a", {{"range", "ra"}, {"roundrobin", "rr-a"}});
  const std::string a = (*ja)->member_id;
  sync(a, 1, {{a, ""}});
  auto jb = join("", "b", {{"roundrobin", "rr-b"}, {"range", "rb"}});
  auto jc = join("", "c", {{"roundrobin", "rr-c"}, {"range", "rc"}});
  auto ja2 = join(a, "a", {{"range", "ra"}, {"roundrobin", "rr-a"}});
  ASSERT_TRUE(ja2->has_value());
  EXPECT_EQ((*ja2)->protocol_name, "roundrobin");
  ASSERT_EQ((*ja2)->members.size(), 3u);
  for (const auto& m : (*ja2)->members) EXPECT_TRUE(m.metadata.starts_with("rr-"));
}

TEST_F(kafka_groups_test, the_initial_rebalance_delay_gathers_members_started_together) {
  group_config c = test_config();
  c.initial_rebalance_delay_ms = 3'000;
  group_coordinator coord{c};
  serve_all(coord);
  std::vector<join_result> answers;
  join_params p{.group_id = "g", .client_id = "c", .session_timeout_ms = session_ms,
                .rebalance_timeout_ms = rebalance_ms, .protocol_type = "consumer",
                .protocols = {{"range", ""}}};
  coord.join(p, [&](join_result r) { answers.push_back(r); });
  coord.tick(1'000);
  coord.join(p, [&](join_result r) { answers.push_back(r); });
  coord.tick(2'999);
  EXPECT_TRUE(answers.empty());
  coord.tick(3'000);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].generation_id, 1);
  EXPECT_EQ(answers[1].generation_id, 1);
}

TEST_F(kafka_groups_test, a_leader_that_never_syncs_is_removed_at_the_rebalance_timeout) {
  const std::string a = stable_single();
  auto jb = join("", "b");
  auto ja = join(a, "a");
  const std::string b = (*jb)->member_id;
  auto sb = sync(b, 2);
  // a never sends SyncGroup but keeps heartbeating.
  for (std::int64_t t = 5'000; t < rebalance_ms; t += 5'000) {
    coord_.tick(t);
    EXPECT_TRUE(coord_.heartbeat("g", 2, a));
  }
  EXPECT_FALSE(sb->has_value());
  coord_.tick(rebalance_ms);
  ASSERT_TRUE(sb->has_value());
  EXPECT_EQ((*sb)->error, group_errc::rebalance_in_progress);
  EXPECT_EQ(coord_.heartbeat("g", 2, a).error(), group_errc::unknown_member);
  auto jb3 = join(b, "b");
  ASSERT_TRUE(jb3->has_value());
  EXPECT_EQ((*jb3)->leader_id, b);
}

TEST_F(kafka_groups_test, unload_answers_waiting_requests_with_not_coordinator) {
  const std::string a = stable_single();
  auto jb = join("", "b");
  coord_.unload("g");
  ASSERT_TRUE(jb->has_value());
  EXPECT_EQ((*jb)->error, group_errc::not_coordinator);
  EXPECT_FALSE(coord_.describe("g"));
}

// --- offsets ------------------------------------------------------------------------------------

commit_params commit(std::string group, std::int32_t generation, std::string member,
                     std::vector<std::pair<offset_key, committed_offset>> offsets) {
  return {std::move(group), generation, std::move(member), std::move(offsets)};
}

TEST_F(kafka_groups_test, offsets_of_a_group_without_members_commit_and_fetch) {
  auto r = commit_now(coord_, commit("solo", -1, "", {{{"t", 0}, {5, 2, "m", 0}},
                                                         {{"t", 1}, {9, -1, std::nullopt, 0}}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<group_errc>{group_errc::none, group_errc::none}));
  auto got = coord_.committed("solo", {"t", 0});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->offset, 5);
  EXPECT_EQ(got->leader_epoch, 2);
  EXPECT_EQ(got->metadata, "m");
  EXPECT_FALSE(coord_.committed("solo", {"t", 2}));
  EXPECT_FALSE(coord_.committed("nobody", {"t", 0}));
  auto all = coord_.all_committed("solo");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].first, (offset_key{"t", 1}));
  EXPECT_EQ(all[1].second.offset, 9);
  coord_.tick(60'000);
  EXPECT_TRUE(coord_.committed("solo", {"t", 0}));  // groups with offsets are kept
  // A later commit overwrites.
  ASSERT_TRUE(commit_now(coord_, commit("solo", -1, "", {{{"t", 0}, {6, 2, "", 0}}})));
  EXPECT_EQ(coord_.committed("solo", {"t", 0})->offset, 6);
  EXPECT_EQ(coord_.committed("solo", {"t", 0})->commit_time_ms, 60'000);
}

TEST_F(kafka_groups_test, member_commits_are_checked_against_membership_and_generation) {
  const std::string a = stable_single();
  const offset_key k{"t", 0};
  EXPECT_TRUE(commit_now(coord_, commit("g", 1, a, {{k, {10, -1, "", 0}}})));
  EXPECT_EQ(commit_now(coord_, commit("g", 0, a, {{k, {11, -1, "", 0}}})).error(),
            group_errc::illegal_generation);
  EXPECT_EQ(commit_now(coord_, commit("g", 1, "x", {{k, {11, -1, "", 0}}})).error(),
            group_errc::unknown_member);
  EXPECT_EQ(commit_now(coord_, commit("g", -1, "", {{k, {11, -1, "", 0}}})).error(),
            group_errc::unknown_member);  // the group has members: not a simple commit
  EXPECT_EQ(commit_now(coord_, commit("new", 3, "m", {{k, {11, -1, "", 0}}})).error(),
            group_errc::illegal_generation);
  EXPECT_EQ(commit_now(coord_, commit("", -1, "", {{k, {11, -1, "", 0}}})).error(),
            group_errc::invalid_group_id);
  // Preparing a rebalance: the current generation may still commit (before it rejoins).
  auto jb = join("", "b");
  EXPECT_TRUE(commit_now(coord_, commit("g", 1, a, {{k, {12, -1, "", 0}}})));
  // Completing: not until the member has its new assignment.
  auto ja = join(a, "a");
  ASSERT_EQ(state(), group_state::completing_rebalance);
  EXPECT_EQ(commit_now(coord_, commit("g", 2, a, {{k, {13, -1, "", 0}}})).error(),
            group_errc::rebalance_in_progress);
  EXPECT_EQ(coord_.committed("g", k)->offset, 12);
}

TEST_F(kafka_groups_test, commit_bounds_metadata_size_and_offset_count) {
  group_config c = test_config();
  c.max_offset_metadata_bytes = 4;
  c.max_offsets_per_group = 2;
  group_coordinator coord{c};
  serve_all(coord);
  auto r = commit_now(coord, commit("g", -1, "", {{{"t", 0}, {1, -1, "12345", 0}},
                                                     {{"t", 1}, {1, -1, "1234", 0}},
                                                     {{"t", 2}, {1, -1, "", 0}},
                                                     {{"t", 3}, {1, -1, "", 0}},
                                                     {{"t", 1}, {2, -1, "", 0}}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<group_errc>{group_errc::metadata_too_large, group_errc::none,
                                         group_errc::none, group_errc::too_many_offsets,
                                         group_errc::none}));
  EXPECT_EQ(coord.committed("g", {"t", 1})->offset, 2);
  EXPECT_FALSE(coord.committed("g", {"t", 0}));
}

TEST(kafka_groups_config, presets_validate_and_bad_fields_are_named) {
  EXPECT_TRUE(group_config::lan().validate());
  EXPECT_TRUE(group_config::wan().validate());
  EXPECT_TRUE(group_config::local().validate());
  group_config c;
  c.max_session_timeout_ms = 1;
  ASSERT_FALSE(c.validate());
  EXPECT_NE(c.validate().error().find("max_session_timeout_ms"), std::string::npos);
}

// --- placement ----------------------------------------------------------------------------------

TEST(kafka_group_placement, groups_land_where_kafka_puts_them) {
  // Java's String.hashCode values: "" 0, "a" 97, "hello" 99162322; U+1F600 is the surrogate pair
  // D83D DE00 in UTF-16, 31 * 0xD83D + 0xDE00 = 1772899.
  EXPECT_EQ(offsets_partition_for("", 50), 0);
  EXPECT_EQ(offsets_partition_for("a", 50), 97 % 50);
  EXPECT_EQ(offsets_partition_for("hello", 50), 99162322 % 50);
  EXPECT_EQ(offsets_partition_for("\xF0\x9F\x98\x80", 1'000'000), 1772899 % 1'000'000);
  // "polygenelubricants" hashes to Integer.MIN_VALUE, which Kafka's Utils.abs maps to 0.
  EXPECT_EQ(offsets_partition_for("polygenelubricants", 7), 0);
  // A negative hash: "Aa\u00ff..." style ids land by their absolute value, always in range.
  for (int i = 0; i < 2000; ++i) {
    const auto p = offsets_partition_for("group-" + std::to_string(i) + "\xff", 50);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, 50);
  }
}

}  // namespace
}  // namespace chronik::kafka
