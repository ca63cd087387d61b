// The multi-Raft host (consensus/groups/raft_host.h, docs/raft_host.md): three hosts in one
// process, each with its own WAL directory, connected by a loopback outbox that posts every batch
// to the destination host. Group creation and bootstrap, elections and commits in 1 and 50 groups,
// group commit (one fdatasync for many groups), restart and rejoin, compaction, removal, the
// idle cost of 200 groups (outbox calls per tick per peer do not grow with the group count), and
// quiescence: 1000 idle groups send nothing, and a dead leader's quiesced groups are woken; and
// disk faults: a failed fdatasync fences a host, which acknowledges nothing and recovers by reopening.
//
// No sleeps: the loop runs posted handlers until every host is idle, waiting on the io_context
// (bounded) only while a disk thread has a batch in flight.
#include "consensus/groups/raft_host.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "consensus/storage/file_io.h"
#include "tests/unit/wal_test_util.h"

namespace chronik::consensus {
namespace {

constexpr std::size_t node_count = 3;

// A replicated list of strings: the state machine every group runs in these tests.
struct replica_state {
  std::vector<std::string> items;
  log_index applied;
  std::uint64_t snapshots_installed = 0;
};

std::string encode_items(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += s + "\n";
  return out;
}

std::vector<std::string> decode_items(const std::string& data) {
  std::vector<std::string> out;
  std::size_t at = 0;
  for (std::size_t nl; (nl = data.find('\n', at)) != std::string::npos; at = nl + 1) out.push_back(data.substr(at, nl - at));
  return out;
}

class host_cluster {
 public:
  host_cluster() {
    log_ = std::make_shared<spdlog::logger>("raft_host_test", std::make_shared<spdlog::sinks::null_sink_mt>());
    for (std::size_t i = 0; i < node_count; ++i) open(i);
  }
  ~host_cluster() {
    for (auto& h : hosts_) h.reset();
  }

  void open(std::size_t i) {
    host_config cfg;
    cfg.self = node_id{static_cast<std::uint32_t>(i + 1)};
    cfg.data_dir = dirs_[i].path();
    cfg.rng_seed = 11 + i;
    auto h = raft_host::open(io_, cfg, [this, i](node_id to, std::vector<group_message> msgs) {
      ++calls_[i][to.value() - 1];
      asio::post(io_, [this, from = node_id{static_cast<std::uint32_t>(i + 1)}, to, msgs = std::move(msgs)]() mutable {
        if (auto& dst = hosts_[to.value() - 1]) dst->step(from, std::move(msgs));  // a down node drops it
      });
    }, log_);
    ASSERT_TRUE(h.has_value()) << h.error().text;
    hosts_[i] = std::move(*h);
  }
  void close(std::size_t i) {
    hosts_[i].reset();
    state_[i].clear();
  }
  // Closes node i and empties its data directory (a wiped disk).
  void wipe(std::size_t i) {
    close(i);
    for (const auto& e : std::filesystem::directory_iterator(dirs_[i].path())) std::filesystem::remove_all(e.path());
  }

  raft_host& host(std::size_t i) { return *hosts_[i]; }
  const std::filesystem::path& dir(std::size_t i) const { return dirs_[i].path(); }
  replica_state& state(std::size_t i, std::uint64_t g) { return state_[i][g]; }

  raft_config config() const {
    raft_config c;
    c.election_timeout_ticks_min = 10;
    c.election_timeout_ticks_max = 20;
    c.quiesce_after_ticks = quiesce_after_ticks;
    return c;
  }
  std::uint32_t quiesce_after_ticks = raft_config{}.quiesce_after_ticks;  // for groups created next
  static conf_state voters() { return conf_state{{node_id{1}, node_id{2}, node_id{3}}, {}}; }

  std::expected<void, host_error> create(std::size_t i, std::uint64_t g, conf_state initial = voters(),
                                         group_start start = group_start::fresh) {
    return hosts_[i]->create_group(group_id{g}, std::move(initial), config(), [this, i, g](apply_batch&& b) {
      replica_state& s = state_[i][g];
      if (b.snap) {
        s.items = decode_items(b.snap->data);
        s.applied = b.snap->meta.index;
        ++s.snapshots_installed;
      }
      for (const entry& e : b.committed) {
        ASSERT_EQ(e.index, s.applied.next()) << "node " << i + 1 << " group " << g << " applied out of order";
        s.applied = e.index;
        if (e.type == entry_type::normal && !e.data.empty()) s.items.push_back(e.data.str());
      }
    }, start);
  }

  // Runs posted handlers until every live host is idle. Bounded in handler count and in time.
  bool settle() {
    for (int round = 0; round < 1'000'000; ++round) {
      if (io_.poll() > 0) continue;
      bool idle = true;
      for (auto& h : hosts_) idle = idle && (!h || h->idle());
      if (idle) return true;
      // A disk thread is busy: wait for its completion to be posted.
      io_.run_one_for(std::chrono::seconds(10));
    }
    return false;
  }

  void tick_all() {
    for (auto& h : hosts_)
      if (h) h->tick();
    ASSERT_TRUE(settle());
  }

  // Ticks until `done` holds; false after max_ticks.
  bool run_until(const std::function<bool()>& done, int max_ticks = 400) {
    if (!settle()) return false;
    for (int t = 0; t < max_ticks; ++t) {
      if (done()) return true;
      tick_all();
    }
    return done();
  }

  node_id leader_of(std::uint64_t g) {
    for (std::size_t i = 0; i < node_count; ++i) {
      if (!hosts_[i]) continue;
      auto s = hosts_[i]->status(group_id{g});
      if (s && s->state == role::leader) return s->id;
    }
    return node_id{};
  }

  // Campaigns group g from node `i` and waits until every live replica knows that leader.
  bool elect(std::uint64_t g, std::size_t i) {
    if (!hosts_[i]->campaign(group_id{g})) return false;
    return run_until([&] {
      for (auto& h : hosts_) {
        if (!h) continue;
        auto s = h->status(group_id{g});
        if (!s || s->leader != node_id{static_cast<std::uint32_t>(i + 1)}) return false;
      }
      return true;
    });
  }

  std::uint64_t calls(std::size_t from, std::size_t to) const { return calls_[from][to]; }
  void reset_calls() { calls_ = {}; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
  std::shared_ptr<spdlog::logger> log_;
  std::array<testing::scratch_dir, node_count> dirs_;
  std::array<std::unique_ptr<raft_host>, node_count> hosts_;
  std::array<std::map<std::uint64_t, replica_state>, node_count> state_;
  std::array<std::array<std::uint64_t, node_count>, node_count> calls_{};
};

// Creates groups 1..n on every node and elects node (g % 3) + 1 in group g.
void create_and_elect(host_cluster& c, std::uint64_t n) {
  for (std::uint64_t g = 1; g <= n; ++g)
    for (std::size_t i = 0; i < node_count; ++i) ASSERT_TRUE(c.create(i, g)) << "group " << g;
  ASSERT_TRUE(c.settle());
  for (std::uint64_t g = 1; g <= n; ++g) ASSERT_TRUE(c.host(g % 3).campaign(group_id{g}));
  ASSERT_TRUE(c.run_until([&] {
    for (std::uint64_t g = 1; g <= n; ++g)
      if (c.leader_of(g) != node_id{static_cast<std::uint32_t>(g % 3 + 1)}) return false;
    return true;
  }));
}

bool all_applied(host_cluster& c, std::uint64_t groups, const std::vector<std::string>& want) {
  for (std::size_t i = 0; i < node_count; ++i)
    for (std::uint64_t g = 1; g <= groups; ++g)
      if (c.state(i, g).items != want) return false;
  return true;
}

TEST(raft_host, one_group_bootstraps_elects_and_commits) {
  host_cluster c;
  for (std::size_t i = 0; i < node_count; ++i) ASSERT_TRUE(c.create(i, 1));
  // Until its bootstrap entries are durable, the group refuses commands.
  EXPECT_EQ(c.host(0).propose(group_id{1}, "early").error().code, host_errc::not_ready);
  ASSERT_TRUE(c.settle());
  auto st = c.host(1).status(group_id{1});
  ASSERT_TRUE(st);
  EXPECT_EQ(st->conf, host_cluster::voters());  // identical initial configuration everywhere
  EXPECT_EQ(st->commit, log_index{3});

  ASSERT_TRUE(c.elect(1, 0));
  EXPECT_EQ(c.host(1).propose(group_id{1}, "x").error().raft, raft_errc::not_leader);
  const std::vector<std::string> want{"a", "b", "c"};
  for (const auto& s : want) ASSERT_TRUE(c.host(0).propose(group_id{1}, s));
  ASSERT_TRUE(c.run_until([&] { return all_applied(c, 1, want); }));
  EXPECT_EQ(c.host(2).groups(), std::vector<group_id>{group_id{1}});
}

TEST(raft_host, fifty_groups_share_each_fdatasync) {
  host_cluster c;
  constexpr std::uint64_t n = 50;
  create_and_elect(c, n);
  const host_stats before = c.host(0).stats();
  const wal_stats wal_before = c.host(0).storage_stats();

  std::vector<std::string> want;
  for (int round = 0; round < 3; ++round) {
    want.push_back("r" + std::to_string(round));
    for (std::uint64_t g = 1; g <= n; ++g) ASSERT_TRUE(c.host(g % 3).propose(group_id{g}, want.back()));
  }
  ASSERT_TRUE(c.run_until([&] { return all_applied(c, n, want); }));

  // Group commit: far fewer appends (and fdatasyncs) than group writes.
  const host_stats after = c.host(0).stats();
  const wal_stats wal_after = c.host(0).storage_stats();
  const std::uint64_t appends = after.append_batches - before.append_batches;
  const std::uint64_t writes = after.group_writes - before.group_writes;
  EXPECT_GE(writes, n);
  EXPECT_LE(appends * 5, writes) << appends << " appends for " << writes << " group writes";
  EXPECT_GE(after.max_groups_per_append, n / 3);
  EXPECT_LE(wal_after.fsyncs - wal_before.fsyncs, appends + 2);  // + a possible segment rotation
}

TEST(raft_host, restarted_host_recovers_its_groups_and_rejoins) {
  host_cluster c;
  constexpr std::uint64_t n = 5;
  create_and_elect(c, n);
  // Leaders on nodes 1 and 2 only, so the groups keep committing while node 3 is down.
  for (std::uint64_t g = 2; g <= n; g += 3) ASSERT_TRUE(c.host(2).transfer_leadership(group_id{g}, node_id{1}));
  ASSERT_TRUE(c.run_until([&] {
    for (std::uint64_t g = 2; g <= n; g += 3)
      if (c.leader_of(g) != node_id{1}) return false;
    return true;
  }));
  std::vector<std::string> want{"before-1", "before-2"};
  for (const auto& s : want)
    for (std::uint64_t g = 1; g <= n; ++g) ASSERT_TRUE(c.host(c.leader_of(g).value() - 1).propose(group_id{g}, s));
  ASSERT_TRUE(c.run_until([&] { return all_applied(c, n, want); }));
  // Node 3 snapshots group 1, so its restart installs that snapshot and replays only the rest.
  const log_index snap_at = c.state(2, 1).applied;
  ASSERT_TRUE(c.host(2).compact(group_id{1}, snap_at, encode_items(c.state(2, 1).items)));
  ASSERT_TRUE(c.settle());
  const log_index last_before = c.host(2).status(group_id{2})->last_index;

  c.close(2);
  for (std::uint64_t g = 1; g <= n; ++g) ASSERT_TRUE(c.host(c.leader_of(g).value() - 1).propose(group_id{g}, "while-down"));
  want.push_back("while-down");
  ASSERT_TRUE(c.settle());

  c.open(2);
  std::vector<group_id> expect_groups;
  for (std::uint64_t g = 1; g <= n; ++g) expect_groups.push_back(group_id{g});
  EXPECT_EQ(c.host(2).recovered_groups(), expect_groups);
  for (std::uint64_t g = 1; g <= n; ++g) ASSERT_TRUE(c.create(2, g, conf_state{}));  // conf comes from the log
  EXPECT_EQ(c.state(2, 1).snapshots_installed, 1u);
  EXPECT_EQ(c.state(2, 1).applied, snap_at);
  EXPECT_EQ(c.host(2).status(group_id{2})->last_index, last_before);
  EXPECT_EQ(c.host(2).status(group_id{3})->conf, host_cluster::voters());
  ASSERT_TRUE(c.run_until([&] { return all_applied(c, n, want); }));
}

// docs/raft.md "Rejoining replicas": a node whose disk was wiped starts the group rejoining, keeps
// that across a restart while it has not caught up, and votes again once it has.
TEST(raft_host, a_wiped_replica_rejoins_and_votes_once_caught_up) {
  host_cluster c;
  create_and_elect(c, 1);
  const std::size_t leader = c.leader_of(1).value() - 1;
  const std::size_t wiped = (leader + 1) % node_count;
  std::vector<std::string> want{"before-1", "before-2"};
  for (const auto& s : want) ASSERT_TRUE(c.host(leader).propose(group_id{1}, s));
  ASSERT_TRUE(c.run_until([&] { return all_applied(c, 1, want); }));

  c.wipe(wiped);
  c.open(wiped);
  EXPECT_TRUE(c.host(wiped).recovered_groups().empty());
  ASSERT_TRUE(c.create(wiped, 1, host_cluster::voters(), group_start::rejoin));
  ASSERT_TRUE(c.settle());
  EXPECT_TRUE(c.host(wiped).status(group_id{1})->rejoining);
  // Durable with the bootstrap: a restart before catching up still rejoins.
  c.close(wiped);
  c.open(wiped);
  ASSERT_TRUE(c.create(wiped, 1, conf_state{}));
  EXPECT_TRUE(c.host(wiped).status(group_id{1})->rejoining);

  want.push_back("after");
  ASSERT_TRUE(c.host(leader).propose(group_id{1}, "after"));
  ASSERT_TRUE(c.run_until([&] { return all_applied(c, 1, want) && !c.host(wiped).status(group_id{1})->rejoining; }));
  c.close(wiped);
  c.open(wiped);
  ASSERT_TRUE(c.create(wiped, 1, conf_state{}));
  EXPECT_FALSE(c.host(wiped).status(group_id{1})->rejoining) << "the end of rejoining is durable";
}

TEST(raft_host, removed_group_stays_removed_across_restart) {
  host_cluster c;
  create_and_elect(c, 3);
  for (std::size_t i = 0; i < node_count; ++i) ASSERT_TRUE(c.host(i).remove_group(group_id{2}));
  ASSERT_TRUE(c.settle());
  EXPECT_EQ(c.host(0).groups(), (std::vector<group_id>{group_id{1}, group_id{3}}));
  EXPECT_EQ(c.host(2).propose(group_id{2}, "x").error().code, host_errc::unknown_group);
  EXPECT_EQ(c.host(0).remove_group(group_id{2}).error().code, host_errc::unknown_group);

  c.close(0);
  c.open(0);
  EXPECT_EQ(c.host(0).recovered_groups(), (std::vector<group_id>{group_id{1}, group_id{3}}));
  EXPECT_EQ(c.create(0, 2).error().code, host_errc::group_removed);
  ASSERT_TRUE(c.create(0, 1));
  ASSERT_TRUE(c.create(0, 3));
  // The other groups still work after the removal and the restart.
  ASSERT_TRUE(c.run_until([&] { return c.leader_of(1) != no_node && c.leader_of(3) != no_node; }));
  for (std::uint64_t g : {1, 3}) ASSERT_TRUE(c.host(c.leader_of(g).value() - 1).propose(group_id{g}, "after"));
  ASSERT_TRUE(c.run_until([&] {
    for (std::size_t i = 0; i < node_count; ++i)
      for (std::uint64_t g : {1, 3})
        if (c.state(i, g).items != std::vector<std::string>{"after"}) return false;
    return true;
  }));
}

// docs/raft.md "Reviving a removed group": a replica removed from the group and deleted here comes
// back when the group adds it again (a partition moved back to this node). Its entries are gone, so
// it starts rejoining, with its commit index lowered to what is still stored, also after a restart,
// and it catches up as a learner.
TEST(raft_host, a_removed_group_revived_rejoins_and_catches_up) {
  host_cluster c;
  create_and_elect(c, 1);
  const std::size_t leader = c.leader_of(1).value() - 1;
  const std::size_t gone = (leader + 1) % node_count;
  const node_id gone_id{static_cast<std::uint32_t>(gone + 1)};
  std::vector<std::string> want{"before-1", "before-2"};
  for (const auto& s : want) ASSERT_TRUE(c.host(leader).propose(group_id{1}, s));
  ASSERT_TRUE(c.run_until([&] { return all_applied(c, 1, want); }));
  ASSERT_GT(c.host(gone).status(group_id{1})->commit.value, 0u);

  ASSERT_TRUE(c.host(leader).propose_conf_change(group_id{1}, conf_change{conf_change::kind::remove, gone_id}));
  ASSERT_TRUE(c.run_until([&] { return c.host(leader).status(group_id{1})->conf.voters.size() == 2; }));
  ASSERT_TRUE(c.host(gone).remove_group(group_id{1}));
  // Not before the removal is durable: the group would start from storage about to change.
  EXPECT_EQ(c.host(gone).revive_group(group_id{1}).error().code, host_errc::not_ready);
  ASSERT_TRUE(c.settle());
  want.push_back("while-away");
  ASSERT_TRUE(c.host(leader).propose(group_id{1}, "while-away"));

  EXPECT_EQ(c.create(gone, 1, conf_state{}).error().code, host_errc::group_removed);
  EXPECT_EQ(c.host(gone).revive_group(group_id{2}).error().code, host_errc::unknown_group) << "never removed";
  ASSERT_TRUE(c.host(gone).revive_group(group_id{1}));
  c.state(gone, 1) = {};
  ASSERT_TRUE(c.create(gone, 1, conf_state{}));
  EXPECT_EQ(c.host(gone).revive_group(group_id{1}).error().code, host_errc::group_exists);
  ASSERT_TRUE(c.settle());
  auto st = c.host(gone).status(group_id{1});
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->rejoining);
  EXPECT_LE(st->commit, st->last_index) << "the commit index lowered to the entries still stored";

  // The revival is durable: a restart finds the group as its own again, still rejoining.
  c.close(gone);
  c.open(gone);
  EXPECT_EQ(c.host(gone).recovered_groups(), std::vector<group_id>{group_id{1}});
  ASSERT_TRUE(c.create(gone, 1, conf_state{}));
  EXPECT_TRUE(c.host(gone).status(group_id{1})->rejoining);

  // The leader adds it back, as a learner and then a voter, and it catches up.
  ASSERT_TRUE(c.host(leader).propose_conf_change(group_id{1}, conf_change{conf_change::kind::add_learner, gone_id}));
  ASSERT_TRUE(c.run_until([&] { return all_applied(c, 1, want); }));
  ASSERT_TRUE(c.host(leader).propose_conf_change(group_id{1}, conf_change{conf_change::kind::add_voter, gone_id}));
  want.push_back("after");
  ASSERT_TRUE(c.run_until([&] {
    return c.host(leader).status(group_id{1})->conf.voters.size() == 3 && c.host(leader).propose(group_id{1}, "after");
  }));
  ASSERT_TRUE(c.run_until([&] { return all_applied(c, 1, want) && !c.host(gone).status(group_id{1})->rejoining; }));
}

TEST(raft_host, idle_groups_coalesce_into_one_call_per_peer_per_tick) {
  host_cluster c;
  c.quiesce_after_ticks = 0;  // every leader keeps heartbeating: the worst case of coalescing
  constexpr std::uint64_t n = 200;
  create_and_elect(c, n);
  ASSERT_TRUE(c.settle());
  c.reset_calls();
  std::array<host_stats, node_count> before;
  for (std::size_t i = 0; i < node_count; ++i) before[i] = c.host(i).stats();

  constexpr int ticks = 30;
  for (int t = 0; t < ticks; ++t) c.tick_all();

  for (std::size_t i = 0; i < node_count; ++i) {
    const host_stats after = c.host(i).stats();
    // Every leader heartbeats every tick (heartbeat_ticks = 1): ~67 groups' heartbeats to each
    // peer plus the responses to the peers' heartbeats, yet at most 2 calls per peer per tick:
    // one for the tick's flush, one for the responses.
    EXPECT_GE(after.messages_sent - before[i].messages_sent, 2u * (n / 3) * ticks);
    for (std::size_t j = 0; j < node_count; ++j) {
      if (i == j) continue;
      EXPECT_LE(c.calls(i, j), 2u * ticks) << "node " << i + 1 << " -> " << j + 1;
    }
    // Idle groups never touch the disk.
    EXPECT_EQ(after.append_batches, before[i].append_batches) << "node " << i + 1;
    for (std::uint64_t g = 1; g <= n; ++g) ASSERT_EQ(c.leader_of(g), node_id{static_cast<std::uint32_t>(g % 3 + 1)});
  }
}

bool quiesced_everywhere(host_cluster& c, std::uint64_t groups) {
  for (std::size_t i = 0; i < node_count; ++i)
    for (std::uint64_t g = 1; g <= groups; ++g) {
      auto s = c.host(i).status(group_id{g});
      if (!s || !s->quiesced) return false;
    }
  return true;
}

// Quiescence (docs/raft_host.md): once 1000 idle groups have quiesced, ticks send nothing at all
// and visit no core, and a proposal to one of them still commits.
TEST(raft_host, thousand_quiesced_groups_send_nothing) {
  host_cluster c;
  constexpr std::uint64_t n = 1000;
  create_and_elect(c, n);
  ASSERT_TRUE(c.run_until([&] { return quiesced_everywhere(c, n); }, 100));
  std::array<host_stats, node_count> before;
  for (std::size_t i = 0; i < node_count; ++i) {
    before[i] = c.host(i).stats();
    EXPECT_EQ(before[i].awake_groups, 0u) << "node " << i + 1;
  }
  c.reset_calls();
  for (int t = 0; t < 50; ++t) c.tick_all();
  for (std::size_t i = 0; i < node_count; ++i) {
    const host_stats after = c.host(i).stats();
    EXPECT_EQ(after.messages_sent, before[i].messages_sent) << "node " << i + 1;
    EXPECT_EQ(after.outbox_calls, before[i].outbox_calls) << "node " << i + 1;
    for (std::size_t j = 0; j < node_count; ++j) EXPECT_EQ(c.calls(i, j), 0u);
  }
  const node_id leader = c.leader_of(500);
  ASSERT_TRUE(c.host(leader.value() - 1).propose(group_id{500}, "wake"));
  ASSERT_TRUE(c.run_until([&] {
    for (std::size_t i = 0; i < node_count; ++i)
      if (c.state(i, 500).items != std::vector<std::string>{"wake"}) return false;
    return true;
  }));
  EXPECT_TRUE(c.host(0).status(group_id{499})->quiesced);  // its neighbours slept through it
}

// SWIM says the leader's node is dead: the host wakes the quiesced groups it led, and only those,
// and they elect a new leader. Without that verdict they would sleep forever.
TEST(raft_host, dead_leader_node_wakes_its_quiesced_groups) {
  host_cluster c;
  constexpr std::uint64_t n = 6;  // node 1 leads groups 3 and 6
  create_and_elect(c, n);
  ASSERT_TRUE(c.run_until([&] { return quiesced_everywhere(c, n); }, 100));
  c.close(0);
  for (int t = 0; t < 60; ++t) c.tick_all();
  for (std::uint64_t g : {3, 6}) {
    EXPECT_TRUE(c.host(1).status(group_id{g})->quiesced);
    EXPECT_EQ(c.host(1).status(group_id{g})->leader, node_id{1});
  }
  for (std::size_t i : {1, 2}) c.host(i).set_node_liveness(node_id{1}, node_liveness::dead);
  EXPECT_EQ(c.host(1).stats().liveness_wakes, 2u);
  EXPECT_FALSE(c.host(1).status(group_id{3})->quiesced);
  EXPECT_TRUE(c.host(1).status(group_id{1})->quiesced);  // led by node 2: left alone
  ASSERT_TRUE(c.run_until([&] {
    for (std::uint64_t g : {3, 6}) {
      const node_id l = c.leader_of(g);
      if (l != node_id{2} && l != node_id{3}) return false;
    }
    return true;
  }, 200));
  for (std::uint64_t g : {3, 6}) ASSERT_TRUE(c.host(c.leader_of(g).value() - 1).propose(group_id{g}, "new-leader"));
  ASSERT_TRUE(c.run_until([&] {
    for (std::size_t i : {1, 2})
      for (std::uint64_t g : {3, 6})
        if (c.state(i, g).items != std::vector<std::string>{"new-leader"}) return false;
    return true;
  }));
}

// A group that quiesces under a leader already known dead (a false alarm here: node 1 is fine)
// is woken at once on that node, and the live leader keeps its place.
TEST(raft_host, quiescing_under_a_dead_leader_wakes_at_once) {
  host_cluster c;
  create_and_elect(c, 3);  // node 1 leads group 3
  c.host(1).set_node_liveness(node_id{1}, node_liveness::dead);
  for (int t = 0; t < 120; ++t) {
    c.tick_all();
    ASSERT_FALSE(c.host(1).status(group_id{3})->quiesced) << "tick " << t;
  }
  EXPECT_GT(c.host(1).stats().liveness_wakes, 0u);
  EXPECT_EQ(c.leader_of(3), node_id{1});
  EXPECT_TRUE(c.host(2).status(group_id{2})->quiesced);  // led by node 3: unaffected
  c.host(1).set_node_liveness(node_id{1}, node_liveness::alive);
  ASSERT_TRUE(c.run_until([&] { return quiesced_everywhere(c, 3); }, 200));
}

// Fails every fdatasync under one host's directory while in scope (consensus/storage/file_io.h).
struct failing_fsync {
  explicit failing_fsync(std::filesystem::path dir) {
    io::set_fault_injector([dir = std::move(dir)](io::fault_point p, const std::filesystem::path& f) {
      return p == io::fault_point::datasync && f.string().starts_with(dir.string()) ? EIO : 0;
    });
  }
  ~failing_fsync() { io::set_fault_injector({}); }
  failing_fsync(const failing_fsync&) = delete;
  failing_fsync& operator=(const failing_fsync&) = delete;
};

// A leader's fdatasync fails (docs/storage.md "Disk faults"). Nothing of that write is
// acknowledged here: no persisted callback (acks=1), no apply. Its appends left with the write
// (they do not wait for the leader's own fsync), so the followers hold the entry.
// The host is fenced: commands and status answer storage_failed and it sends nothing at all, so
// it neither leads nor votes (a vote must be durable first, Raft paper §5.1 Figure 2). The two
// others elect a leader and go on committing; once the WAL is cut back to what was synced and
// reopened, the node catches up from its durable log.
TEST(raft_host, failed_fsync_fences_the_host_and_acknowledges_nothing) {
  host_cluster c;
  for (std::size_t i = 0; i < node_count; ++i) ASSERT_TRUE(c.create(i, 1));
  ASSERT_TRUE(c.settle());
  ASSERT_TRUE(c.elect(1, 0));
  std::vector<log_index> persisted;
  ASSERT_TRUE(c.host(0).set_persisted_callback(group_id{1}, [&](log_index last, term_id) { persisted.push_back(last); }));
  ASSERT_TRUE(c.host(0).propose(group_id{1}, "a"));
  ASSERT_TRUE(c.run_until([&] { return all_applied(c, 1, {"a"}); }));
  ASSERT_FALSE(persisted.empty());
  const std::vector<log_index> persisted_before = persisted;

  {
    failing_fsync fault(c.dir(0));
    ASSERT_TRUE(c.host(0).propose(group_id{1}, "b"));
    ASSERT_TRUE(c.settle());
  }
  ASSERT_TRUE(c.host(0).failed());
  EXPECT_NE(c.host(0).failure().find("fdatasync"), std::string::npos) << c.host(0).failure();
  EXPECT_EQ(persisted, persisted_before) << "the failed write was reported durable";
  for (std::size_t i = 0; i < node_count; ++i) EXPECT_EQ(c.state(i, 1).items, std::vector<std::string>{"a"});
  EXPECT_EQ(c.host(0).propose(group_id{1}, "c").error().code, host_errc::storage_failed);
  EXPECT_EQ(c.host(0).status(group_id{1}).error().code, host_errc::storage_failed);
  EXPECT_EQ(c.host(0).campaign(group_id{1}).error().code, host_errc::storage_failed);

  c.reset_calls();
  ASSERT_TRUE(c.run_until([&] {
    const node_id l = c.leader_of(1);
    return l == node_id{2} || l == node_id{3};
  }));
  EXPECT_EQ(c.calls(0, 1) + c.calls(0, 2), 0u) << "a fenced host sent a heartbeat or a vote";
  ASSERT_TRUE(c.host(c.leader_of(1).value() - 1).propose(group_id{1}, "c"));
  // "b" left for the followers with the failed write (a leader's appends do not wait for its
  // own fsync: docs/raft.md "Messages that do not wait for the disk"), so the new leader holds
  // it and commits it before "c" (Raft paper §5.4.2). It was never acknowledged to its client:
  // committing it loses nothing, as a producer's retry of an unanswered request may find.
  const std::vector<std::string> want{"a", "b", "c"};
  ASSERT_TRUE(c.run_until([&] { return c.state(1, 1).items == want && c.state(2, 1).items == want; }));
  EXPECT_EQ(persisted, persisted_before);

  ASSERT_TRUE(c.host(0).discard_unsynced());
  c.close(0);
  c.open(0);
  EXPECT_EQ(c.host(0).recovered_groups(), std::vector<group_id>{group_id{1}});
  ASSERT_TRUE(c.create(0, 1));
  ASSERT_TRUE(c.run_until([&] { return all_applied(c, 1, want); }));
}

// A healthy host has nothing to cut back.
TEST(raft_host, discard_unsynced_needs_a_failed_host) {
  host_cluster c;
  EXPECT_EQ(c.host(0).discard_unsynced().error().code, host_errc::invalid_argument);
  EXPECT_FALSE(c.host(0).failed());
  EXPECT_TRUE(c.host(0).failure().empty());
}

}  // namespace
}  // namespace chronik::consensus
