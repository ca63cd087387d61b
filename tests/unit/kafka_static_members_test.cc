// Static membership (KIP-345) in the group coordinator core (kafka/groups/group_static.cc;
// docs/kafka.md "Static membership"): a restarted instance takes its old place without a rebalance
// and the old member id is fenced everywhere (JoinGroup, SyncGroup, Heartbeat, OffsetCommit,
// LeaveGroup); a restarted leader is not told it leads; a protocol change or a rebalance in
// progress still rebalances; KIP-394 ids are for dynamic members only; LeaveGroup by instance id;
// static members survive a rebalance timeout but not a session timeout; a replacement that cannot
// be stored is undone; and the binding survives a load by another coordinator.
#include <gtest/gtest.h>

#include <memory>
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

group_config test_config(std::uint64_t seed = 11) {
  group_config c = group_config::local();
  c.member_id_seed = seed;
  return c;
}

// The partition's log, as committed writes appended it (no checkpoints happen at this size).
struct test_log {
  std::vector<group_log_record> records;
  void commit_all(group_coordinator& c, write_outcome outcome = write_outcome::committed) {
    for (int round = 0; round < 100; ++round) {
      auto writes = c.take_writes();
      if (writes.empty()) return;
      for (auto& w : writes) {
        if (outcome == write_outcome::committed) records.insert(records.end(), w.records.begin(), w.records.end());
        c.write_done(w.id, outcome);
      }
    }
  }
  void load_into(group_coordinator& c) const {
    c.begin_load(0, 1);
    for (const auto& r : records) c.load(0, r);
    c.finish_load(0);
  }
};

class kafka_static_members_test : public ::testing::Test {
 protected:
  using join_slot = std::shared_ptr<std::optional<join_result>>;
  using sync_slot = std::shared_ptr<std::optional<sync_result>>;

  // A JoinGroup; `instance` makes it a static member. Writes commit to log_ unless held.
  join_slot join(const std::string& member, std::optional<std::string> instance,
                 std::vector<member_protocol> protocols = {{"range", "meta"}}) {
    auto slot = std::make_shared<std::optional<join_result>>();
    join_params p;
    p.group_id = "g";
    p.member_id = member;
    p.client_id = "c";
    p.session_timeout_ms = session_ms;
    p.rebalance_timeout_ms = rebalance_ms;
    p.protocol_type = "consumer";
    p.protocols = std::move(protocols);
    p.require_known_member_id = true;  // static members skip it; dynamic ones (JoinGroup v4+) do not
    p.group_instance_id = std::move(instance);
    coord_->join(std::move(p), [slot](join_result r) {
      ASSERT_FALSE(slot->has_value()) << "answered twice";
      *slot = std::move(r);
    });
    if (!hold_writes_) log_.commit_all(*coord_);
    return slot;
  }

  sync_slot sync(const std::string& member, std::int32_t generation, std::optional<std::string> instance,
                 std::vector<std::pair<std::string, std::string>> assignments = {}) {
    auto slot = std::make_shared<std::optional<sync_result>>();
    sync_params p{"g", generation, member, std::nullopt, std::nullopt, std::move(assignments), std::move(instance)};
    coord_->sync(std::move(p), [slot](sync_result r) {
      ASSERT_FALSE(slot->has_value()) << "answered twice";
      *slot = std::move(r);
    });
    log_.commit_all(*coord_);
    return slot;
  }

  group_errc beat(const std::string& member, std::int32_t generation, std::optional<std::string_view> instance) {
    auto r = coord_->heartbeat("g", generation, member, instance);
    return r ? group_errc::none : r.error();
  }

  group_view view() const { return coord_->describe("g").value(); }

  // Static members a (instance "ia", the leader) and b ("ib"), stable in generation 2.
  void stable_pair(const std::vector<member_protocol>& protocols = {{"range", "meta"}}) {
    auto ja = join("", "ia", protocols);
    ASSERT_TRUE(ja->has_value());
    a_ = (*ja)->member_id;
    ASSERT_EQ((*ja)->error, group_errc::none);
    auto jb = join("", "ib", protocols);  // a rebalance: a rejoins
    auto ja2 = join(a_, "ia", protocols);
    ASSERT_TRUE(jb->has_value() && ja2->has_value());
    b_ = (*jb)->member_id;
    ASSERT_EQ((*ja2)->generation_id, 2);
    ASSERT_EQ((*ja2)->leader_id, a_);
    // The leader sees every member's instance id (JoinGroup v5+ answers carry them).
    ASSERT_EQ((*ja2)->members.size(), 2u);
    for (const auto& m : (*ja2)->members) EXPECT_EQ(m.group_instance_id, m.member_id == a_ ? "ia" : "ib");
    auto sb = sync(b_, 2, "ib");
    auto sa = sync(a_, 2, "ia", {{a_, "A"}, {b_, "B"}});
    ASSERT_TRUE(sa->has_value() && sb->has_value());
    ASSERT_EQ((*sb)->assignment, "B");
    ASSERT_EQ(view().state, group_state::stable);
  }

  test_log log_;
  bool hold_writes_ = false;
  std::unique_ptr<group_coordinator> coord_ = [] {
    auto c = std::make_unique<group_coordinator>(test_config());
    serve_all(*c);
    return c;
  }();
  std::string a_, b_;
};

TEST_F(kafka_static_members_test, a_static_member_joins_without_the_member_id_round_trip) {
  auto j = join("", "ia");
  ASSERT_TRUE(j->has_value());
  EXPECT_EQ((*j)->error, group_errc::none);  // not member_id_required, though the join asks for it
  EXPECT_TRUE((*j)->member_id.starts_with("ia-"));
  EXPECT_EQ(view().members.at(0).group_instance_id, "ia");
}

TEST_F(kafka_static_members_test, a_pending_member_id_with_an_instance_id_is_refused_and_forgotten) {
  auto dynamic = join("", std::nullopt);
  ASSERT_EQ((*dynamic)->error, group_errc::member_id_required);
  ASSERT_EQ(view().pending_members, 1u);
  // KIP-394 ids go to dynamic members only; the id does not linger to hold up a rebalance.
  auto mixed = join((*dynamic)->member_id, "ia");
  ASSERT_TRUE(mixed->has_value());
  EXPECT_EQ((*mixed)->error, group_errc::unknown_member);
  EXPECT_EQ(view().pending_members, 0u);
  EXPECT_TRUE(view().members.empty());
}

TEST_F(kafka_static_members_test, a_restarted_follower_takes_its_place_without_a_rebalance) {
  stable_pair();
  auto restarted = join("", "ib");
  ASSERT_TRUE(restarted->has_value());
  const join_result& r = **restarted;
  EXPECT_EQ(r.error, group_errc::none);
  EXPECT_NE(r.member_id, b_);
  EXPECT_EQ(r.generation_id, 2);
  EXPECT_EQ(r.leader_id, a_);
  EXPECT_TRUE(r.members.empty());
  EXPECT_EQ(view().state, group_state::stable);
  EXPECT_EQ(view().generation_id, 2);
  // It syncs for the assignment its previous incarnation had; the leader noticed nothing.
  auto s = sync(r.member_id, 2, "ib");
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->error, group_errc::none);
  EXPECT_EQ((*s)->assignment, "B");
  EXPECT_EQ(beat(a_, 2, "ia"), group_errc::none);
  EXPECT_EQ(beat(r.member_id, 2, "ib"), group_errc::none);
  EXPECT_EQ(view().member_ids.size(), 2u);
}

TEST_F(kafka_static_members_test, the_old_member_id_is_fenced_everywhere) {
  stable_pair();
  auto restarted = join("", "ib");
  const std::string fresh = (*restarted)->member_id;
  EXPECT_EQ(beat(b_, 2, "ib"), group_errc::fenced_instance_id);
  EXPECT_EQ(beat(b_, 2, std::nullopt), group_errc::unknown_member);  // the old id is no member now
  auto s = sync(b_, 2, "ib");
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->error, group_errc::fenced_instance_id);
  auto j = join(b_, "ib");
  ASSERT_TRUE(j->has_value());
  EXPECT_EQ((*j)->error, group_errc::fenced_instance_id);
  auto c = commit_now(*coord_, {"g", 2, b_, {{{"t", 0}, {5, -1, "", 0}}}, "ib"});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), group_errc::fenced_instance_id);
  EXPECT_EQ(coord_->leave("g", b_, "ib").error(), group_errc::fenced_instance_id);
  // Nothing the zombie sent disturbed the group; the live incarnation commits.
  EXPECT_EQ(view().state, group_state::stable);
  auto ok = commit_now(*coord_, {"g", 2, fresh, {{{"t", 0}, {5, -1, "", 0}}}, "ib"});
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, std::vector<group_errc>{group_errc::none});
  // An instance id bound to no member is unknown.
  EXPECT_EQ(beat(fresh, 2, "nobody"), group_errc::unknown_member);
}

TEST_F(kafka_static_members_test, a_restarted_leader_is_not_told_it_leads_and_nothing_rebalances) {
  stable_pair();
  auto restarted = join("", "ia");
  ASSERT_TRUE(restarted->has_value());
  const join_result& r = **restarted;
  EXPECT_EQ(r.error, group_errc::none);
  // Told the old id leads, it computes no assignment a stable group would never hand out.
  EXPECT_EQ(r.leader_id, a_);
  EXPECT_NE(r.member_id, a_);
  EXPECT_TRUE(r.members.empty());
  EXPECT_EQ(view().state, group_state::stable);
  EXPECT_EQ(view().leader_id, r.member_id);  // it does lead the next rebalance
  auto s = sync(r.member_id, 2, "ia");
  EXPECT_EQ((*s)->assignment, "A");
  // A leader rejoining under its current id still rebalances (Kafka: its view of topics changed).
  auto again = join(r.member_id, "ia");
  EXPECT_FALSE(again->has_value());
  EXPECT_EQ(view().state, group_state::preparing_rebalance);
}

TEST_F(kafka_static_members_test, a_restart_that_changes_the_selected_protocol_rebalances) {
  stable_pair({{"range", "meta"}, {"roundrobin", "meta"}});
  // The restarted b speaks only roundrobin: the next generation would select it, so the group
  // rebalances instead of keeping range (Kafka compares the selected protocols).
  auto restarted = join("", "ib", {{"roundrobin", "m"}});
  EXPECT_FALSE(restarted->has_value());
  EXPECT_EQ(view().state, group_state::preparing_rebalance);
  EXPECT_EQ(beat(a_, 2, "ia"), group_errc::rebalance_in_progress);
}

TEST_F(kafka_static_members_test, a_restart_during_completing_rebalance_rebalances_again) {
  stable_pair();
  auto jc = join("", std::string("ic"));  // generation 3 begins
  auto ja = join(a_, "ia");
  auto jb = join(b_, "ib");
  ASSERT_TRUE(ja->has_value() && jb->has_value() && jc->has_value());
  ASSERT_EQ(view().state, group_state::completing_rebalance);
  auto waiting = sync(b_, 3, "ib");  // b waits for the leader's assignment
  EXPECT_FALSE(waiting->has_value());
  auto restarted = join("", "ib");
  // The old incarnation's SyncGroup is answered: fenced, it is a zombie now.
  ASSERT_TRUE(waiting->has_value());
  EXPECT_EQ((*waiting)->error, group_errc::fenced_instance_id);
  EXPECT_FALSE(restarted->has_value());
  EXPECT_EQ(view().state, group_state::preparing_rebalance);
}

TEST_F(kafka_static_members_test, a_waiting_join_of_the_old_id_is_fenced_and_the_new_one_takes_it_over) {
  stable_pair();
  auto jc = join("", std::string("ic"));  // preparing: everyone must rejoin
  auto old_join = join(b_, "ib");
  EXPECT_FALSE(old_join->has_value());
  auto restarted = join("", "ib");
  ASSERT_TRUE(old_join->has_value());
  EXPECT_EQ((*old_join)->error, group_errc::fenced_instance_id);
  EXPECT_FALSE(restarted->has_value());
  auto ja = join(a_, "ia");  // the last one: the rebalance completes
  ASSERT_TRUE(restarted->has_value() && ja->has_value() && jc->has_value());
  EXPECT_EQ((*restarted)->generation_id, 3);
  EXPECT_EQ((*ja)->members.size(), 3u);
  EXPECT_FALSE(view().members.empty());
  for (const auto& m : view().members) EXPECT_NE(m.member_id, b_);
}

TEST_F(kafka_static_members_test, leave_by_instance_id_alone_removes_the_bound_member) {
  stable_pair();
  EXPECT_EQ(coord_->leave("g", "", "nobody").error(), group_errc::unknown_member);
  EXPECT_EQ(coord_->leave("g", "", std::nullopt).error(), group_errc::unknown_member);
  ASSERT_TRUE(coord_->leave("g", "", "ib"));
  EXPECT_EQ(view().member_ids, std::vector<std::string>{a_});
  EXPECT_EQ(view().state, group_state::preparing_rebalance);
  EXPECT_EQ(beat(b_, 2, "ib"), group_errc::unknown_member);
  // The instance joins again as a new member (no binding to take over).
  auto back = join("", "ib");
  EXPECT_FALSE(back->has_value());  // a rebalance, waiting for a
  // Leaving with the member id and its own instance id works as a dynamic leave.
  ASSERT_TRUE(coord_->leave("g", a_, "ia"));
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ((*back)->generation_id, 3);
  EXPECT_EQ((*back)->leader_id, (*back)->member_id);
}

TEST_F(kafka_static_members_test, a_static_member_outlives_a_rebalance_timeout_but_not_its_session) {
  stable_pair();
  auto jd = join("", std::nullopt);  // a dynamic newcomer: KIP-394 first
  ASSERT_TRUE(jd->has_value());
  ASSERT_EQ((*jd)->error, group_errc::member_id_required);
  const std::string d = (*jd)->member_id;
  auto joined = join(d, std::nullopt);
  ASSERT_EQ(view().state, group_state::preparing_rebalance);
  auto ja = join(a_, "ia");
  // b keeps heartbeating but never rejoins.
  for (std::int64_t t = 5'000; t < rebalance_ms; t += 5'000) {
    coord_->tick(t);
    EXPECT_EQ(beat(b_, 2, "ib"), group_errc::rebalance_in_progress);
  }
  coord_->tick(rebalance_ms);
  log_.commit_all(*coord_);
  ASSERT_TRUE(joined->has_value() && ja->has_value());
  EXPECT_EQ((*ja)->generation_id, 3);
  // Kept: a dynamic member would have been dropped here.
  EXPECT_EQ(view().member_ids.size(), 3u);
  EXPECT_EQ(beat(b_, 2, "ib"), group_errc::illegal_generation);  // so it rejoins
  // Now b goes quiet, and the others sync and heartbeat: b's session ends.
  sync(d, 3, std::nullopt);
  sync(a_, 3, "ia", {{a_, "A"}, {d, "D"}});
  for (std::int64_t t = rebalance_ms + 5'000; t <= rebalance_ms + 2 * session_ms; t += 5'000) {
    coord_->tick(t);
    log_.commit_all(*coord_);
    beat(a_, view().generation_id, "ia");
    beat(d, view().generation_id, std::nullopt);
  }
  for (const auto& m : view().members) EXPECT_NE(m.group_instance_id, "ib");
  EXPECT_EQ(beat(b_, 3, "ib"), group_errc::unknown_member);
}

TEST_F(kafka_static_members_test, a_replacement_that_cannot_be_stored_is_undone) {
  stable_pair();
  hold_writes_ = true;
  auto restarted = join("", "ib");
  EXPECT_FALSE(restarted->has_value());  // answered once the new binding is stored
  log_.commit_all(*coord_, write_outcome::failed);
  ASSERT_TRUE(restarted->has_value());
  EXPECT_EQ((*restarted)->error, group_errc::coordinator_not_available);
  EXPECT_EQ((*restarted)->member_id, "");
  // The old binding is back, as if the restart never reached the coordinator.
  EXPECT_EQ(beat(b_, 2, "ib"), group_errc::none);
  EXPECT_EQ(view().state, group_state::stable);
  hold_writes_ = false;
  auto retried = join("", "ib");
  ASSERT_TRUE(retried->has_value());
  EXPECT_EQ((*retried)->error, group_errc::none);
}

TEST_F(kafka_static_members_test, the_binding_survives_a_coordinator_move) {
  stable_pair();
  // Seed 12's first id is seed 11's second, b's: the new coordinator must not hand it out again.
  auto moved = std::make_unique<group_coordinator>(test_config(12));
  log_.load_into(*moved);
  coord_ = std::move(moved);
  ASSERT_EQ(view().state, group_state::stable);
  for (const auto& m : view().members) EXPECT_EQ(m.group_instance_id, m.member_id == a_ ? "ia" : "ib");
  EXPECT_EQ(beat(b_, 2, "ib"), group_errc::none);
  // The restart lands on the new coordinator: it takes over without a rebalance...
  auto restarted = join("", "ib");
  ASSERT_TRUE(restarted->has_value());
  EXPECT_EQ((*restarted)->error, group_errc::none);
  EXPECT_EQ((*restarted)->generation_id, 2);
  const std::string fresh = (*restarted)->member_id;
  EXPECT_EQ(beat(b_, 2, "ib"), group_errc::fenced_instance_id);
  // ...and the replacement was stored: a third coordinator fences the old id too.
  auto third = std::make_unique<group_coordinator>(test_config(13));
  log_.load_into(*third);
  coord_ = std::move(third);
  EXPECT_EQ(beat(b_, 2, "ib"), group_errc::fenced_instance_id);
  EXPECT_EQ(beat(fresh, 2, "ib"), group_errc::none);
  auto s = sync(fresh, 2, "ib");
  EXPECT_EQ((*s)->assignment, "B");
}

}  // namespace
}  // namespace chronik::kafka
