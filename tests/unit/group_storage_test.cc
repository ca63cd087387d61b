// The group coordinator's durable side (kafka/groups/group_storage.cc; docs/kafka.md "Durable
// groups"), with a test log standing in for the `__consumer_offsets` partition: commits are
// answered and visible only once committed, a second coordinator loading the log serves the same
// offsets and the same stable generation, failed writes answer errors, deletions and expiry write
// tombstones, and a checkpoint lets the log start after it without losing anything.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kafka/groups/group_coordinator.h"
#include "tests/unit/group_test_util.h"

namespace chronik::kafka {
namespace {

using testing::serve_all;

constexpr std::int32_t session_ms = 10'000;

group_config test_config() {
  group_config c = group_config::local();
  c.member_id_seed = 3;
  return c;
}

// The partition's log: what committed writes appended, from the log start.
struct test_log {
  std::vector<group_log_record> records;
  std::size_t checkpoint_start = 0;  // where the checkpoint being written begins

  // Commits every write the coordinator made (and those they lead to); a checkpoint's last part
  // trims the log at its first part, as the daemon's group_store does.
  void commit_all(group_coordinator& c) {
    for (int round = 0; round < 100; ++round) {
      auto writes = c.take_writes();
      if (writes.empty()) return;
      for (auto& w : writes) {
        if (w.checkpoint_first) checkpoint_start = records.size();
        records.insert(records.end(), w.records.begin(), w.records.end());
        if (w.checkpoint_last) records.erase(records.begin(), records.begin() + static_cast<std::ptrdiff_t>(checkpoint_start));
        c.write_done(w.id, write_outcome::committed);
      }
    }
  }

  // A new coordinator that loads this log as partition 0 of 1.
  void load_into(group_coordinator& c) const {
    c.begin_load(0, 1);
    EXPECT_EQ(c.serves("g"), group_errc::load_in_progress);
    for (const auto& r : records) c.load(0, r);
    c.finish_load(0);
  }
};

commit_params commit(std::string group, std::int32_t generation, std::string member,
                     std::vector<std::pair<offset_key, committed_offset>> offsets) {
  return {std::move(group), generation, std::move(member), std::move(offsets)};
}

using commit_answer = std::optional<std::expected<std::vector<group_errc>, group_errc>>;

std::shared_ptr<commit_answer> start_commit(group_coordinator& c, const commit_params& p) {
  auto slot = std::make_shared<commit_answer>();
  c.commit_offsets(p, [slot](std::expected<std::vector<group_errc>, group_errc> r) { *slot = std::move(r); });
  return slot;
}

// One member joined and synced through `log`: stable in generation 1. Returns its id.
std::string stable_member(group_coordinator& c, test_log& log, const std::string& group = "g") {
  std::optional<join_result> j;
  join_params p{.group_id = group, .client_id = "cl", .client_host = "/10.0.0.1", .session_timeout_ms = session_ms,
                .rebalance_timeout_ms = 30'000, .protocol_type = "consumer", .protocols = {{"range", "sub-a"}}};
  c.join(p, [&](join_result r) { j = std::move(r); });
  EXPECT_TRUE(j && j->error == group_errc::none);
  std::optional<sync_result> s;
  c.sync({group, j->generation_id, j->member_id, std::nullopt, std::nullopt, {{j->member_id, "assign-a"}}},
         [&](sync_result r) { s = std::move(r); });
  EXPECT_FALSE(s) << "a leader's assignment is answered once stored";
  log.commit_all(c);
  EXPECT_TRUE(s && s->error == group_errc::none && s->assignment == "assign-a");
  return j->member_id;
}

TEST(group_storage, groups_are_served_only_from_a_loaded_partition) {
  group_coordinator c(test_config());
  EXPECT_EQ(c.serves("g"), group_errc::not_coordinator);
  std::optional<join_result> j;
  c.join({.group_id = "g", .session_timeout_ms = session_ms, .protocol_type = "consumer", .protocols = {{"range", ""}}},
         [&](join_result r) { j = std::move(r); });
  ASSERT_TRUE(j);
  EXPECT_EQ(j->error, group_errc::not_coordinator);
  c.begin_load(0, 1);
  EXPECT_EQ(c.serves("g"), group_errc::load_in_progress);
  EXPECT_EQ(c.heartbeat("g", 1, "m").error(), group_errc::load_in_progress);
  c.finish_load(0);
  EXPECT_EQ(c.serves("g"), group_errc::none);
  c.unload_partition(0);
  EXPECT_EQ(c.serves("g"), group_errc::not_coordinator);
}

TEST(group_storage, a_commit_is_answered_and_visible_only_once_committed) {
  group_coordinator c(test_config());
  serve_all(c);
  auto answer = start_commit(c, commit("solo", -1, "", {{{"t", 0}, {7, 3, "meta", 0}}}));
  EXPECT_FALSE(*answer);
  EXPECT_FALSE(c.committed("solo", {"t", 0}));
  auto writes = c.take_writes();
  ASSERT_EQ(writes.size(), 1u);
  ASSERT_EQ(writes[0].records.size(), 1u);
  EXPECT_EQ(writes[0].records[0].key, (group_record_key_variant{offset_record_key{"solo", "t", 0}}));
  c.write_done(writes[0].id, write_outcome::committed);
  ASSERT_TRUE(*answer && **answer);
  EXPECT_EQ(**answer, std::vector<group_errc>{group_errc::none});
  ASSERT_TRUE(c.committed("solo", {"t", 0}));
  EXPECT_EQ(c.committed("solo", {"t", 0})->offset, 7);
  EXPECT_EQ(c.committed("solo", {"t", 0})->metadata, "meta");
}

TEST(group_storage, failed_writes_answer_errors_and_change_nothing) {
  group_coordinator c(test_config());
  serve_all(c);
  auto timed_out = start_commit(c, commit("solo", -1, "", {{{"t", 0}, {7, -1, "", 0}}}));
  auto w = c.take_writes();
  ASSERT_EQ(w.size(), 1u);
  c.write_done(w[0].id, write_outcome::failed);
  ASSERT_TRUE(*timed_out);
  EXPECT_EQ((*timed_out)->error(), group_errc::coordinator_not_available);
  EXPECT_FALSE(c.committed("solo", {"t", 0}));
  EXPECT_EQ(c.serves("solo"), group_errc::none);  // a timeout says nothing of leadership

  // Overwritten: every later write of the partition is too (Raft's log matching), so the
  // partition is dropped until it is loaded again.
  auto first = start_commit(c, commit("solo", -1, "", {{{"t", 0}, {8, -1, "", 0}}}));
  auto second = start_commit(c, commit("solo", -1, "", {{{"t", 0}, {9, -1, "", 0}}}));
  w = c.take_writes();
  ASSERT_EQ(w.size(), 2u);
  c.write_done(w[0].id, write_outcome::not_leader);
  ASSERT_TRUE(*first && *second);
  EXPECT_EQ((*first)->error(), group_errc::not_coordinator);
  EXPECT_EQ((*second)->error(), group_errc::not_coordinator);
  EXPECT_EQ(c.serves("solo"), group_errc::not_coordinator);
  c.write_done(w[1].id, write_outcome::committed);  // late: ignored
  EXPECT_EQ(c.writes_in_flight(), 0u);
}

TEST(group_storage, a_new_coordinator_loads_offsets_and_the_stable_generation) {
  test_log log;
  group_coordinator a(test_config());
  serve_all(a);
  const std::string member = stable_member(a, log);
  auto answer = start_commit(a, commit("g", 1, member, {{{"t", 0}, {11, 4, "m0", 0}}, {{"t", 1}, {2, 4, "m1", 0}}}));
  log.commit_all(a);
  ASSERT_TRUE(*answer && **answer);
  auto solo = start_commit(a, commit("solo", -1, "", {{{"u", 5}, {100, -1, "", 0}}}));
  log.commit_all(a);

  group_coordinator b(test_config());
  log.load_into(b);
  ASSERT_TRUE(b.committed("g", {"t", 0}));
  EXPECT_EQ(*b.committed("g", {"t", 0}), *a.committed("g", {"t", 0}));
  EXPECT_EQ(b.committed("g", {"t", 1})->offset, 2);
  EXPECT_EQ(b.committed("g", {"t", 1})->metadata, "m1");
  EXPECT_EQ(b.committed("solo", {"u", 5})->offset, 100);
  // The members go on in their generation without noticing the move.
  const auto view = b.describe("g");
  ASSERT_TRUE(view);
  EXPECT_EQ(view->state, group_state::stable);
  EXPECT_EQ(view->generation_id, 1);
  EXPECT_EQ(view->leader_id, member);
  ASSERT_EQ(view->members.size(), 1u);
  EXPECT_EQ(view->members[0].assignment, "assign-a");
  EXPECT_EQ(view->members[0].metadata, "sub-a");
  EXPECT_EQ(view->members[0].client_host, "/10.0.0.1");
  EXPECT_TRUE(b.heartbeat("g", 1, member));
  std::optional<sync_result> again;
  b.sync({"g", 1, member, std::nullopt, std::nullopt, {}}, [&](sync_result r) { again = std::move(r); });
  ASSERT_TRUE(again);
  EXPECT_EQ(again->assignment, "assign-a");
  // And commit in it.
  test_log more;
  auto next = start_commit(b, commit("g", 1, member, {{{"t", 0}, {12, 4, "", 0}}}));
  more.commit_all(b);
  ASSERT_TRUE(*next && **next);
  EXPECT_EQ(b.committed("g", {"t", 0})->offset, 12);
}

TEST(group_storage, a_silent_member_of_a_loaded_group_expires_one_session_after_the_load) {
  test_log log;
  group_coordinator a(test_config());
  serve_all(a);
  const std::string member = stable_member(a, log);
  start_commit(a, commit("g", 1, member, {{{"t", 0}, {1, -1, "", 0}}}));  // keeps the group once empty
  log.commit_all(a);
  group_coordinator b(test_config());
  b.tick(50'000);
  log.load_into(b);
  b.tick(50'000 + session_ms - 1);
  EXPECT_EQ(b.describe("g")->state, group_state::stable);
  b.tick(50'000 + session_ms);
  ASSERT_TRUE(b.describe("g"));
  EXPECT_EQ(b.describe("g")->state, group_state::empty);
  EXPECT_EQ(b.describe("g")->generation_id, 2);
}

TEST(group_storage, an_assignment_that_cannot_be_stored_sends_everyone_back_to_rejoin) {
  group_coordinator c(test_config());
  serve_all(c);
  std::optional<join_result> j;
  c.join({.group_id = "g", .client_id = "cl", .session_timeout_ms = session_ms, .rebalance_timeout_ms = 30'000,
          .protocol_type = "consumer", .protocols = {{"range", ""}}},
         [&](join_result r) { j = std::move(r); });
  ASSERT_TRUE(j);
  std::optional<sync_result> s;
  c.sync({"g", j->generation_id, j->member_id, std::nullopt, std::nullopt, {{j->member_id, "a"}}},
         [&](sync_result r) { s = std::move(r); });
  auto w = c.take_writes();
  ASSERT_EQ(w.size(), 1u);
  c.write_done(w[0].id, write_outcome::failed);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->error, group_errc::coordinator_not_available);
  EXPECT_EQ(c.describe("g")->state, group_state::preparing_rebalance);
}

TEST(group_storage, deleted_groups_and_offsets_stay_deleted_after_a_load) {
  test_log log;
  group_coordinator a(test_config());
  serve_all(a);
  const std::string member = stable_member(a, log);
  start_commit(a, commit("g", 1, member, {{{"t", 0}, {5, -1, "", 0}}, {{"t", 1}, {6, -1, "", 0}}}));
  start_commit(a, commit("solo", -1, "", {{{"t", 0}, {1, -1, "", 0}}, {{"t", 1}, {2, -1, "", 0}}}));
  log.commit_all(a);

  std::optional<group_errc> refused;
  a.delete_group("g", [&](group_errc e) { refused = e; });
  EXPECT_EQ(refused, group_errc::non_empty_group);
  std::optional<group_errc> missing;
  a.delete_group("nope", [&](group_errc e) { missing = e; });
  EXPECT_EQ(missing, group_errc::group_id_not_found);

  std::optional<std::expected<std::vector<group_errc>, group_errc>> offsets_gone;
  a.delete_offsets("solo", {{"t", 1}}, [&](std::expected<std::vector<group_errc>, group_errc> r) { offsets_gone = r; });
  EXPECT_FALSE(offsets_gone);
  log.commit_all(a);
  ASSERT_TRUE(offsets_gone && *offsets_gone);
  EXPECT_EQ(**offsets_gone, std::vector<group_errc>{group_errc::none});
  EXPECT_FALSE(a.committed("solo", {"t", 1}));

  ASSERT_TRUE(a.leave("g", member));
  log.commit_all(a);
  std::optional<group_errc> deleted;
  a.delete_group("g", [&](group_errc e) { deleted = e; });
  log.commit_all(a);
  EXPECT_EQ(deleted, group_errc::none);
  EXPECT_FALSE(a.describe("g"));

  group_coordinator b(test_config());
  log.load_into(b);
  EXPECT_FALSE(b.describe("g"));
  EXPECT_FALSE(b.committed("g", {"t", 0}));
  EXPECT_TRUE(b.committed("solo", {"t", 0}));
  EXPECT_FALSE(b.committed("solo", {"t", 1}));
}

TEST(group_storage, offsets_expire_after_retention_and_the_expiry_survives_a_load) {
  group_config cfg = test_config();
  cfg.offsets_retention_ms = 60'000;
  cfg.offsets_retention_check_interval_ms = 1'000;
  test_log log;
  group_coordinator a(cfg);
  serve_all(a);
  a.tick(0, 1'000'000);
  start_commit(a, commit("solo", -1, "", {{{"t", 0}, {1, -1, "", 0}}}));
  log.commit_all(a);
  a.tick(30'000, 1'030'000);
  start_commit(a, commit("solo", -1, "", {{{"t", 1}, {2, -1, "", 0}}}));
  log.commit_all(a);
  a.tick(60'500, 1'060'500);  // {t,0} was committed 60.5 s ago, {t,1} 30.5 s ago
  log.commit_all(a);
  EXPECT_FALSE(a.committed("solo", {"t", 0}));
  EXPECT_TRUE(a.committed("solo", {"t", 1}));
  group_coordinator b(cfg);
  log.load_into(b);
  EXPECT_FALSE(b.committed("solo", {"t", 0}));
  EXPECT_TRUE(b.committed("solo", {"t", 1}));
}

TEST(group_storage, a_checkpoint_lets_the_log_start_after_it_and_loses_nothing) {
  group_config cfg = test_config();
  cfg.checkpoint_min_records = 20;
  cfg.max_records_per_write = 3;  // the checkpoint comes in several parts
  test_log log;
  group_coordinator a(cfg);
  serve_all(a);
  const std::string member = stable_member(a, log);
  for (int round = 0; round < 30; ++round) {
    for (int p = 0; p < 4; ++p) {
      start_commit(a, commit("solo", -1, "", {{{"t", p}, {round * 10 + p, -1, "", 0}}}));
    }
    start_commit(a, commit("g", 1, member, {{{"u", 0}, {round, -1, "", 0}}}));
    log.commit_all(a);
  }
  // 1 group + 5 offsets live; without checkpoints the log would hold 151 records.
  EXPECT_LT(log.records.size(), 40u);
  group_coordinator b(cfg);
  log.load_into(b);
  for (int p = 0; p < 4; ++p) {
    ASSERT_TRUE(b.committed("solo", {"t", p})) << p;
    EXPECT_EQ(b.committed("solo", {"t", p})->offset, 290 + p);
  }
  EXPECT_EQ(b.committed("g", {"u", 0})->offset, 29);
  EXPECT_EQ(b.describe("g")->state, group_state::stable);
  EXPECT_EQ(b.describe("g")->members.at(0).assignment, "assign-a");
}

TEST(group_storage, writes_made_while_a_checkpoint_waits_follow_it_in_order) {
  group_config cfg = test_config();
  cfg.checkpoint_min_records = 4;
  test_log log;
  group_coordinator a(cfg);
  serve_all(a);
  for (int i = 0; i < 3; ++i) {
    start_commit(a, commit("solo", -1, "", {{{"t", 0}, {i, -1, "", 0}}}));
    log.commit_all(a);
  }
  // The fourth write makes the checkpoint due; it waits for that write, and a fifth made meanwhile
  // waits behind the checkpoint.
  auto fourth = start_commit(a, commit("solo", -1, "", {{{"t", 0}, {3, -1, "", 0}}}));
  auto w = a.take_writes();
  ASSERT_EQ(w.size(), 1u);
  auto fifth = start_commit(a, commit("solo", -1, "", {{{"t", 0}, {4, -1, "", 0}}}));
  EXPECT_TRUE(a.take_writes().empty());
  log.records.insert(log.records.end(), w[0].records.begin(), w[0].records.end());
  a.write_done(w[0].id, write_outcome::committed);
  auto next = a.take_writes();
  ASSERT_EQ(next.size(), 2u);
  EXPECT_TRUE(next[0].checkpoint && next[0].checkpoint_first && next[0].checkpoint_last);
  EXPECT_FALSE(next[1].checkpoint);
  // The checkpoint holds offset 3: the fifth commit is not in it, and comes after it.
  ASSERT_EQ(next[0].records.size(), 1u);
  EXPECT_EQ(std::get<offset_record_value>(*next[0].records[0].value).offset, 3);
  EXPECT_EQ(std::get<offset_record_value>(*next[1].records[0].value).offset, 4);
}

TEST(group_storage, unloading_answers_everything_waiting_with_not_coordinator) {
  group_coordinator c(test_config());
  serve_all(c);
  std::optional<join_result> j;
  c.join({.group_id = "g", .client_id = "cl", .session_timeout_ms = session_ms, .rebalance_timeout_ms = 30'000,
          .protocol_type = "consumer", .protocols = {{"range", ""}}},
         [&](join_result r) { j = std::move(r); });
  std::optional<sync_result> s;
  c.sync({"g", j->generation_id, j->member_id, std::nullopt, std::nullopt, {{j->member_id, "a"}}},
         [&](sync_result r) { s = std::move(r); });
  auto answer = start_commit(c, commit("solo", -1, "", {{{"t", 0}, {1, -1, "", 0}}}));
  c.unload_partition(0);
  ASSERT_TRUE(s && *answer);
  EXPECT_EQ(s->error, group_errc::not_coordinator);
  EXPECT_EQ((*answer)->error(), group_errc::not_coordinator);
  EXPECT_FALSE(c.describe("g"));
  EXPECT_TRUE(c.take_writes().empty());
}

}  // namespace
}  // namespace chronik::kafka
