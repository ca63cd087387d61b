// The multi-Raft host's pure core (consensus/groups/host_core.h): what leaves before and only
// after a write is durable, applies only once durable, the urgent heartbeat lane, bounded and
// out-of-order disk batches, and fencing on a failed write. The test is the shell: it holds the
// disk batches and completes them when it chooses.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>

#include "consensus/core/memory_storage.h"
#include "consensus/groups/host_core.h"

namespace chronik::consensus {
namespace {

node_id nid(std::uint64_t v) { return node_id{static_cast<std::uint32_t>(v)}; }
group_id gid(std::uint64_t v) { return group_id{v}; }

raft_config test_config() {
  raft_config c;
  c.pre_vote = false;  // a campaign changes the term at once: its vote must be durable first
  return c;
}

bool has_type(const outgoing& out, message_type t) {
  return std::ranges::any_of(out, [t](const auto& kv) {
    return std::ranges::any_of(kv.second, [t](const group_message& gm) { return gm.msg.type == t; });
  });
}

std::size_t count_group(const outgoing& out, group_id g) {
  std::size_t n = 0;
  for (const auto& [to, msgs] : out) n += static_cast<std::size_t>(std::ranges::count(msgs, g, &group_message::group));
  return n;
}

struct host_fixture {
  explicit host_fixture(std::size_t max_in_flight = 4)
      : core(host_core_config{nid(1), 7, max_in_flight, 1u << 20}, nullptr, {}, {}) {}

  void create(std::uint64_t g, std::vector<node_id> voters) {
    auto& s = stores[g];
    s = std::make_unique<memory_storage>();
    conf_state c;
    c.voters = std::move(voters);
    ASSERT_TRUE(core.create_group(gid(g), c, test_config(), group_start::fresh, std::make_unique<memory_storage_view>(*s)));
  }
  // The shell's end of handler.
  host_output flush() {
    host_output o;
    if (core.take_flush_request()) core.flush(o);
    return o;
  }
  // The disk writes `b` (or fails to) and reports it.
  host_output complete(const disk_batch& b, bool ok = true) {
    if (ok)
      for (const group_write& w : b.writes) stores.at(w.group.value)->persist(w.state, w.snap, w.entries);
    disk_completion d;
    d.batches.push_back(b.id);
    if (!ok) d.append_failed = "injected";
    host_output o;
    core.on_disk_done(d, o);
    return o;
  }
  // Flushes and completes everything until the core is idle.
  std::vector<apply_batch> settle() {
    std::vector<apply_batch> applied;
    for (int i = 0; i < 50 && !core.idle(); ++i) {
      host_output o = flush();
      for (auto& a : o.applies) applied.push_back(std::move(a));
      for (const disk_batch& b : o.disk) {
        host_output c = complete(b);
        for (auto& a : c.applies) applied.push_back(std::move(a));
      }
    }
    return applied;
  }
  // Bootstraps a group of this node and nodes 2 and 3, and makes this node a candidate in it (its
  // vote durable); a granted vote then makes it leader.
  void campaign_with_peers(std::uint64_t g) {
    create(g, {nid(1), nid(2), nid(3)});
    settle();
    ASSERT_TRUE(core.campaign(gid(g)));
    settle();
  }
  // Bootstraps a single-voter group and makes this node its leader.
  void single_leader(std::uint64_t g) {
    create(g, {nid(1)});
    settle();
    ASSERT_TRUE(core.campaign(gid(g)));
    settle();
    ASSERT_EQ(core.status(gid(g))->state, role::leader);
  }

  std::map<std::uint64_t, std::unique_ptr<memory_storage>> stores;
  host_core core;
};

TEST(host_core, bootstrap_is_written_before_the_group_runs) {
  host_fixture h;
  h.create(10, {nid(1), nid(2), nid(3)});
  EXPECT_EQ(h.core.propose(gid(10), "x").error().code, host_errc::not_ready);
  host_output o = h.flush();
  ASSERT_EQ(o.disk.size(), 1u);
  ASSERT_EQ(o.disk[0].writes.size(), 1u);
  EXPECT_EQ(o.disk[0].writes[0].entries.size(), 3u);  // one conf change per member, term 1
  EXPECT_TRUE(o.sends.empty());
  h.complete(o.disk[0]);
  EXPECT_EQ(h.core.status(gid(10))->last_index, log_index{3});
  EXPECT_EQ(h.core.propose(gid(10), "x").error().code, host_errc::raft);  // running, not leading
}

TEST(host_core, vote_requests_wait_for_the_durable_vote) {
  host_fixture h;
  h.create(10, {nid(1), nid(2), nid(3)});
  h.settle();
  ASSERT_TRUE(h.core.campaign(gid(10)));
  host_output o = h.flush();
  // Raft paper §5.1 Figure 2: currentTerm and votedFor are on stable storage before any RPC.
  EXPECT_TRUE(o.sends.empty());
  EXPECT_TRUE(o.urgent.empty());
  ASSERT_EQ(o.disk.size(), 1u);
  ASSERT_TRUE(o.disk[0].writes[0].state.has_value());
  EXPECT_EQ(o.disk[0].writes[0].state->vote, nid(1));
  host_output done = h.complete(o.disk[0]);
  EXPECT_TRUE(has_type(done.sends, message_type::vote));
  EXPECT_EQ(done.sends.size(), 2u);  // one outbox call per peer
}

TEST(host_core, entries_are_applied_only_after_their_write) {
  host_fixture h;
  h.single_leader(10);
  const auto index = h.core.propose(gid(10), "x");
  ASSERT_TRUE(index);
  host_output o = h.flush();
  ASSERT_EQ(o.disk.size(), 1u);
  EXPECT_TRUE(o.applies.empty());
  EXPECT_EQ(h.core.batches_in_flight(), 1u);
  EXPECT_TRUE(h.flush().applies.empty());  // still in flight: nothing of the group moves
  h.complete(o.disk[0]);
  // Durable here: the single voter commits; the commit-only state skips the disk (dissertation
  // §3.8) and the entry is handed out.
  const auto deferred_before = h.core.stats().deferred_commits;
  host_output next = h.flush();
  EXPECT_TRUE(next.disk.empty());
  ASSERT_EQ(next.applies.size(), 1u);
  ASSERT_FALSE(next.applies[0].committed.empty());
  EXPECT_EQ(next.applies[0].committed.back().data, "x");
  EXPECT_EQ(next.applies[0].committed.back().index, *index);
  EXPECT_EQ(h.core.stats().deferred_commits, deferred_before + 1);
  // The deferred commit rides with the group's next write.
  ASSERT_TRUE(h.core.propose(gid(10), "y"));
  host_output w = h.flush();
  ASSERT_EQ(w.disk.size(), 1u);
  ASSERT_TRUE(w.disk[0].writes[0].state.has_value());
  EXPECT_EQ(w.disk[0].writes[0].state->commit, *index);
}

TEST(host_core, a_deferred_commit_rides_with_another_groups_write) {
  host_fixture h;
  h.single_leader(10);
  h.single_leader(11);
  const auto index = h.core.propose(gid(10), "x");
  ASSERT_TRUE(index);
  host_output o = h.flush();
  h.complete(o.disk[0]);
  ASSERT_EQ(h.flush().applies.size(), 1u);  // "x" committed: group 10 now defers its commit index
  ASSERT_TRUE(h.core.propose(gid(11), "y"));
  host_output w = h.flush();
  ASSERT_EQ(w.disk.size(), 1u);
  const auto& writes = w.disk[0].writes;
  const auto it = std::ranges::find(writes, gid(10), &group_write::group);
  ASSERT_NE(it, writes.end());  // no fsync of its own: it joins a write that happens anyway
  EXPECT_TRUE(it->entries.empty());
  ASSERT_TRUE(it->state.has_value());
  EXPECT_EQ(it->state->commit, *index);
  // Its completion advances no ready of group 10 (none was taken for it) and releases nothing.
  host_output done = h.complete(w.disk[0]);
  EXPECT_EQ(count_group(done.sends, gid(10)), 0u);
  EXPECT_TRUE(std::ranges::none_of(done.applies, [](const apply_batch& b) { return b.group == gid(10); }));
  h.settle();
  EXPECT_TRUE(h.core.idle());
  EXPECT_EQ(h.stores.at(10)->persisted_hard_state().commit, *index);
}

TEST(host_core, persisted_names_the_last_entry_of_the_completed_write) {
  host_fixture h;
  h.single_leader(10);
  ASSERT_TRUE(h.core.propose(gid(10), "x"));
  const auto last = h.core.propose(gid(10), "y");
  ASSERT_TRUE(last);
  host_output o = h.flush();
  EXPECT_TRUE(o.persisted.empty());
  host_output done = h.complete(o.disk[0]);
  ASSERT_EQ(done.persisted.size(), 1u);
  EXPECT_EQ(done.persisted[0].first, gid(10));
  EXPECT_EQ(done.persisted[0].second.index, *last);
  EXPECT_TRUE(done.persisted[0].second.data.empty());  // payloads are never copied back
}

TEST(host_core, batches_may_complete_out_of_order) {
  host_fixture h;
  h.create(10, {nid(1), nid(2), nid(3)});
  h.create(11, {nid(1), nid(2), nid(3)});
  h.settle();
  ASSERT_TRUE(h.core.campaign(gid(10)));
  host_output a = h.flush();
  ASSERT_TRUE(h.core.campaign(gid(11)));
  host_output b = h.flush();
  ASSERT_EQ(a.disk.size(), 1u);
  ASSERT_EQ(b.disk.size(), 1u);
  EXPECT_LT(a.disk[0].id, b.disk[0].id);
  host_output second = h.complete(b.disk[0]);
  EXPECT_EQ(count_group(second.sends, gid(11)), 2u);
  EXPECT_EQ(count_group(second.sends, gid(10)), 0u);  // its vote is not durable yet
  host_output first = h.complete(a.disk[0]);
  EXPECT_EQ(count_group(first.sends, gid(10)), 2u);
}

TEST(host_core, batches_in_flight_are_bounded) {
  host_fixture h(1);
  h.create(10, {nid(1), nid(2), nid(3)});
  h.create(11, {nid(1), nid(2), nid(3)});
  h.settle();
  ASSERT_TRUE(h.core.campaign(gid(10)));
  host_output a = h.flush();
  ASSERT_EQ(a.disk.size(), 1u);
  ASSERT_TRUE(h.core.campaign(gid(11)));
  EXPECT_TRUE(h.flush().disk.empty());  // the ready waits inside its core
  h.complete(a.disk[0]);
  host_output b = h.flush();
  ASSERT_EQ(b.disk.size(), 1u);
  EXPECT_EQ(b.disk[0].writes[0].group, gid(11));
}

TEST(host_core, heartbeats_take_the_urgent_lane_while_a_write_is_in_flight) {
  host_fixture h;
  h.campaign_with_peers(10);
  h.core.step(nid(2), {group_message{gid(10), message{message_type::vote_response, nid(2), nid(1), h.core.status(gid(10))->term}}});
  h.settle();
  ASSERT_EQ(h.core.status(gid(10))->state, role::leader);
  ASSERT_TRUE(h.core.propose(gid(10), "x"));
  host_output o = h.flush();
  ASSERT_EQ(o.disk.size(), 1u);
  for (std::uint32_t i = 0; i < test_config().heartbeat_ticks; ++i) h.core.tick();
  host_output hb = h.flush();
  EXPECT_TRUE(has_type(hb.urgent, message_type::heartbeat));
  EXPECT_FALSE(has_type(hb.sends, message_type::heartbeat));
  for (const auto& [to, msgs] : hb.urgent)
    for (const group_message& gm : msgs) EXPECT_EQ(gm.msg.type, message_type::heartbeat);
  EXPECT_TRUE(hb.disk.empty());
  EXPECT_FALSE(has_type(hb.sends, message_type::append));  // whatever the entry sends waits for its write
  EXPECT_EQ(h.complete(o.disk[0]).persisted.size(), 1u);
}

// A leader's appends go out with its write, not after it (ready::early_messages, dissertation
// §10.2.1): a new leader's first append, which tells the followers who leads, used to wait for
// every fsync queued ahead of its write (70-190 ms during a drain). Applies still wait.
TEST(host_core, a_leaders_appends_leave_with_its_write) {
  host_fixture h;
  h.campaign_with_peers(10);
  const term_id term = h.core.status(gid(10))->term;
  h.core.step(nid(2), {group_message{gid(10), message{message_type::vote_response, nid(2), nid(1), term}}});
  host_output first = h.flush();  // the new leader's no-op: written, and sent at the same time
  ASSERT_EQ(h.core.status(gid(10))->state, role::leader);
  ASSERT_EQ(first.disk.size(), 1u);
  EXPECT_TRUE(has_type(first.sends, message_type::append));
  EXPECT_EQ(first.sends.size(), 2u);
  EXPECT_TRUE(first.applies.empty());
  h.complete(first.disk[0]);
  // The followers take the no-op: their progress leaves probe, and appends are pipelined.
  const log_index noop = h.core.status(gid(10))->last_index;
  for (std::uint64_t f : {2u, 3u}) {
    message ack{message_type::append_response, nid(f), nid(1), term};
    ack.index = noop;
    h.core.step(nid(f), {group_message{gid(10), ack}});
  }
  h.settle();
  ASSERT_TRUE(h.core.propose(gid(10), "x"));
  host_output o = h.flush();
  ASSERT_EQ(o.disk.size(), 1u);
  ASSERT_TRUE(has_type(o.sends, message_type::append));
  for (const auto& [to, msgs] : o.sends)
    for (const group_message& gm : msgs) {
      ASSERT_EQ(gm.msg.type, message_type::append);
      ASSERT_FALSE(gm.msg.entries.empty());
      EXPECT_EQ(gm.msg.entries.back().data, "x");
    }
  EXPECT_TRUE(o.applies.empty());
  host_output done = h.complete(o.disk[0]);
  EXPECT_FALSE(has_type(done.sends, message_type::append)) << "nothing of the write was held back";
}

TEST(host_core, a_failed_write_fences_the_host_and_releases_nothing) {
  host_fixture h;
  h.create(10, {nid(1), nid(2), nid(3)});
  h.create(11, {nid(1), nid(2), nid(3)});
  h.settle();
  ASSERT_TRUE(h.core.campaign(gid(10)));
  host_output a = h.flush();
  ASSERT_TRUE(h.core.campaign(gid(11)));
  host_output b = h.flush();
  host_output failed = h.complete(a.disk[0], false);
  EXPECT_TRUE(h.core.failed());
  EXPECT_EQ(h.core.failure(), "injected");
  EXPECT_TRUE(failed.empty());
  // A batch submitted before the failure completes successfully, and still releases nothing.
  EXPECT_TRUE(h.complete(b.disk[0]).empty());
  EXPECT_EQ(h.core.propose(gid(10), "x").error().code, host_errc::storage_failed);
  EXPECT_EQ(h.core.status(gid(10)).error().code, host_errc::storage_failed);
  h.core.tick();
  h.core.step(nid(2), {group_message{gid(10), message{message_type::heartbeat, nid(2), nid(1), term_id{9}}}});
  EXPECT_FALSE(h.core.take_flush_request());
  EXPECT_TRUE(h.core.idle());
}

TEST(host_core, an_operation_failure_fences_after_the_append_is_handled) {
  host_fixture h;
  h.create(10, {nid(1), nid(2), nid(3)});
  h.settle();
  ASSERT_TRUE(h.core.campaign(gid(10)));
  host_output a = h.flush();
  for (const group_write& w : a.disk[0].writes) h.stores.at(w.group.value)->persist(w.state, w.snap, w.entries);
  disk_completion d{{a.disk[0].id}, std::nullopt, std::string("compaction failed")};
  host_output o;
  h.core.on_disk_done(d, o);
  EXPECT_TRUE(has_type(o.sends, message_type::vote));  // durable, so released
  EXPECT_TRUE(h.core.failed());
}

TEST(host_core, a_flush_is_requested_once_until_it_runs) {
  host_fixture h;
  h.create(10, {nid(1)});
  EXPECT_TRUE(h.core.take_flush_request());
  EXPECT_FALSE(h.core.take_flush_request());
  host_output o;
  h.core.flush(o);
  EXPECT_FALSE(h.core.take_flush_request());
  EXPECT_FALSE(h.core.idle());  // the bootstrap write is in flight
}

TEST(host_core, removed_groups_stay_removed_and_their_writes_complete_harmlessly) {
  host_fixture h;
  h.create(10, {nid(1), nid(2), nid(3)});
  h.settle();
  ASSERT_TRUE(h.core.campaign(gid(10)));
  host_output a = h.flush();
  ASSERT_TRUE(h.core.remove_group(gid(10)));
  EXPECT_TRUE(h.complete(a.disk[0]).empty());
  host_output r = h.flush();
  ASSERT_EQ(r.disk.size(), 1u);
  ASSERT_EQ(r.disk[0].ops.size(), 1u);
  EXPECT_EQ(r.disk[0].ops[0].op, disk_op::kind::remove);
  auto again = h.core.create_group(gid(10), {}, test_config(), group_start::fresh,
                                   std::make_unique<memory_storage_view>(*h.stores.at(10)));
  EXPECT_EQ(again.error().code, host_errc::group_removed);
}

// A vote request from node 2 for group 10, as a candidate of `term` whose log ends at 3 (term 1):
// the bootstrap's three configuration entries, so as up to date as a new replica.
group_message vote_request(std::uint64_t g, std::uint64_t term) {
  message m;
  m.type = message_type::vote;
  m.from = nid(2);
  m.to = nid(1);
  m.term = term_id{term};
  m.index = log_index{3};
  m.log_term = term_id{1};
  return group_message{gid(g), std::move(m)};
}

// Everything sent while the core settles, as settle() would run it.
std::vector<message> sends_while_settling(host_fixture& h) {
  std::vector<message> sent;
  const auto take = [&](const outgoing& out) {
    for (const auto& [to, msgs] : out)
      for (const auto& gm : msgs) sent.push_back(gm.msg);
  };
  for (int i = 0; i < 50 && !h.core.idle(); ++i) {
    host_output o = h.flush();
    take(o.urgent);
    take(o.sends);
    for (const disk_batch& b : o.disk) {
      host_output c = h.complete(b);
      take(c.urgent);
      take(c.sends);
    }
  }
  return sent;
}

bool granted_vote(const std::vector<message>& sent) {
  return std::ranges::any_of(sent, [](const message& m) { return m.type == message_type::vote_response && !m.reject; });
}

// A new partition's first replica campaigns as soon as its group runs; a peer that has not created
// the group yet, or has not finished its bootstrap, holds the request (held_votes.h) and answers it
// when its core starts, instead of dropping it and costing the group an election timeout.
TEST(host_core, a_vote_request_for_a_group_not_running_yet_is_answered_once_it_runs) {
  host_fixture h;
  h.core.step(nid(2), {vote_request(10, 2)});  // the group is unknown here yet
  EXPECT_EQ(h.core.stats().votes_held, 1u);
  EXPECT_EQ(h.core.stats().messages_dropped, 0u);
  h.create(10, {nid(1), nid(2), nid(3)});
  EXPECT_TRUE(granted_vote(sends_while_settling(h)));

  h.create(11, {nid(1), nid(2), nid(3)});  // bootstrapping: its write not durable yet
  h.core.step(nid(2), {vote_request(11, 2)});
  EXPECT_EQ(h.core.stats().votes_held, 2u);
  EXPECT_TRUE(granted_vote(sends_while_settling(h)));
  EXPECT_EQ(h.core.status(gid(11))->term, term_id{2});
}

TEST(host_core, a_held_vote_request_expires_and_removed_groups_hold_none) {
  host_fixture h;
  h.core.step(nid(2), {vote_request(10, 2)});
  for (std::uint64_t i = 0; i < held_votes::hold_ticks; ++i) h.core.tick();
  h.create(10, {nid(1), nid(2), nid(3)});
  EXPECT_FALSE(granted_vote(sends_while_settling(h)));  // by now the candidate asks again itself
  EXPECT_EQ(h.core.status(gid(10))->term, term_id{1});

  ASSERT_TRUE(h.core.remove_group(gid(10)));
  h.core.step(nid(2), {vote_request(10, 3)});
  EXPECT_EQ(h.core.stats().votes_held, 1u);  // only the first
  EXPECT_EQ(h.core.stats().messages_dropped, 1u);
  // Appends are never held: the leader resends them every heartbeat.
  group_message append = vote_request(12, 2);
  append.msg.type = message_type::append;
  h.core.step(nid(2), {append});
  EXPECT_EQ(h.core.stats().messages_dropped, 2u);
}

using host_core_death = ::testing::Test;

TEST(host_core_death, a_batch_completes_at_most_once) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto complete_twice = [] {
    host_fixture h;
    h.create(10, {nid(1)});
    host_output o = h.flush();
    h.complete(o.disk[0]);
    h.complete(o.disk[0]);
  };
  EXPECT_DEATH(complete_twice(), "completes at most once");
}

TEST(host_core_death, a_batch_never_submitted_cannot_complete) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto complete_unknown = [] {
    host_fixture h;
    disk_completion d;
    d.batches.push_back(42);
    host_output o;
    h.core.on_disk_done(d, o);
  };
  EXPECT_DEATH(complete_unknown(), "only once submitted");
}

}  // namespace
}  // namespace chronik::consensus
