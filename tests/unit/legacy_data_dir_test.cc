// A data directory written by main before the durable formats were versioned (docs/raft.md
// "Configuration change entries", docs/bootstrap.md "The formation file") still opens: its WAL
// holds `__meta` configuration changes in the old text form and its formation file holds the old
// text. Two such directories: one built here with the old bytes spelled out (a voter and a
// learner), and one that chronik-server of commit acdde69 wrote (tests/unit/fixtures). Each is
// opened with the current code: the raft host recovers the configuration, a new change is written
// as a version 1 record after the old ones, a reopen reads both, and the formation store reads the
// promise.
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "consensus/groups/raft_host.h"
#include "consensus/storage/wal.h"
#include "daemon/formation_store.h"
#include "tests/unit/wal_test_util.h"

namespace chronik {
namespace {

using consensus::conf_change;
using consensus::entry;
using consensus::entry_type;
using consensus::group_id;
using consensus::log_index;
using consensus::node_id;
using consensus::term_id;

const group_id meta_group{1};

entry legacy_conf_entry(std::uint64_t index, std::string text) {
  return entry{term_id{1}, log_index{index}, entry_type::conf_change, std::move(text)};
}

// What main wrote for a node 1 that formed `__meta` with voter 1 and learner 2, and then had one
// command committed in term 2: the bootstrap entries (text conf changes at term 1) and the
// formation file (text and a newline).
void write_legacy_data_dir(const std::filesystem::path& dir) {
  auto w = consensus::wal::open(dir, consensus::wal_options{});
  ASSERT_TRUE(w.has_value()) << w.error().text;
  consensus::group_write bootstrap{meta_group, consensus::hard_state{term_id{1}, node_id{}, log_index{2}}, {}, {}};
  bootstrap.entries = {legacy_conf_entry(1, "add_voter 1"), legacy_conf_entry(2, "add_learner 2")};
  consensus::group_write command{meta_group, consensus::hard_state{term_id{2}, node_id{1}, log_index{3}}, {}, {}};
  command.entries = {entry{term_id{2}, log_index{3}, entry_type::normal, "command"}};
  const std::vector<consensus::group_write> writes = {bootstrap};
  ASSERT_TRUE((*w)->append_batch(writes).has_value());
  const std::vector<consensus::group_write> more = {command};
  ASSERT_TRUE((*w)->append_batch(more).has_value());

  std::ofstream f(dir / "formation", std::ios::binary);
  f << "member c-7 1/uuid-1,2/uuid-2\n";
  ASSERT_TRUE(f.good());
}

class node {
 public:
  explicit node(const std::filesystem::path& dir) : dir_(dir) {
    log_ = std::make_shared<spdlog::logger>("legacy", std::make_shared<spdlog::sinks::null_sink_mt>());
  }

  void open() {
    consensus::host_config cfg;
    cfg.self = node_id{1};
    cfg.data_dir = dir_;
    auto h = consensus::raft_host::open(io_, cfg, [](node_id, std::vector<consensus::group_message>) {}, log_);
    ASSERT_TRUE(h.has_value()) << h.error().text;
    host_ = std::move(*h);
    applied_.clear();
  }
  void close() { host_.reset(); }

  void create() {
    // An empty initial configuration: the stored log must supply it.
    auto r = host_->create_group(meta_group, {}, consensus::raft_config{},
                                 [this](consensus::apply_batch&& b) {
                                   for (auto& e : b.committed) applied_.push_back(std::move(e));
                                 });
    ASSERT_TRUE(r.has_value()) << r.error().text;
    ASSERT_TRUE(settle());
  }

  // Runs posted handlers until the host is idle; bounded in rounds and, per wait, in time.
  bool settle() {
    for (int round = 0; round < 100'000; ++round) {
      if (io_.poll() > 0) continue;
      if (host_->idle()) return true;
      io_.run_one_for(std::chrono::seconds(10));
    }
    return false;
  }

  bool run_until(const std::function<bool()>& done) {
    for (int t = 0; t < 200 && settle(); ++t) {
      if (done()) return true;
      host_->tick();
    }
    return false;
  }

  consensus::raft_status status() const { return *host_->status(meta_group); }
  consensus::raft_host& host() { return *host_; }
  const std::vector<entry>& applied() const { return applied_; }

 private:
  std::filesystem::path dir_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<consensus::raft_host> host_;
  std::vector<entry> applied_;
};

std::vector<node_id> ids(std::initializer_list<std::uint64_t> v) {
  std::vector<node_id> out;
  for (auto i : v) out.push_back(node_id{static_cast<std::uint32_t>(i)});
  return out;
}

TEST(LegacyDataDir, OpensWithTheCurrentFormats) {
  consensus::testing::scratch_dir dir;
  write_legacy_data_dir(dir.path());

  auto formation = daemon::load_formation(dir.path());
  ASSERT_TRUE(formation.has_value()) << formation.error();
  EXPECT_EQ(formation->state, metadata::formation::kind::member);
  EXPECT_EQ(formation->cluster_id, "c-7");
  EXPECT_EQ(formation->voters, (std::vector<metadata::node_ref>{{chronik::node_id{1}, "uuid-1"}, {chronik::node_id{2}, "uuid-2"}}));

  node n(dir.path());
  n.open();
  EXPECT_EQ(n.host().recovered_groups(), std::vector<group_id>{meta_group});
  n.create();
  EXPECT_EQ(n.status().conf.voters, ids({1}));
  EXPECT_EQ(n.status().conf.learners, ids({2}));

  // The only voter elects itself and commits an entry of its term; then a new change is accepted
  // and committed, and is written in version 1.
  ASSERT_TRUE(n.host().campaign(meta_group).has_value());
  ASSERT_TRUE(n.run_until([&] { return n.status().state == consensus::role::leader && n.status().commit == n.status().last_index; }));
  auto index = n.host().propose_conf_change(meta_group, conf_change{conf_change::kind::add_voter, node_id{2}});
  ASSERT_TRUE(index.has_value()) << index.error().text;
  ASSERT_TRUE(n.run_until([&] { return n.status().commit >= *index; }));
  EXPECT_EQ(n.status().conf.voters, ids({1, 2}));
  EXPECT_TRUE(n.status().conf.learners.empty());

  auto stored = n.host().read_entries(meta_group, log_index{1}, index->next(), ~0ULL);
  ASSERT_TRUE(stored.has_value()) << stored.error().text;
  ASSERT_EQ(stored->size(), index->value);
  EXPECT_EQ(stored->front().data, "add_voter 1") << "old entries are replicated log data: never rewritten";
  EXPECT_EQ(stored->back().data, (conf_change{conf_change::kind::add_voter, node_id{2}}.encode()));
  EXPECT_EQ(stored->back().data.front(), '\x08');

  // A reopen reads the old and the new form in one log. The commit index need not have been
  // durable (docs/raft_host.md), so the new change may count as uncommitted until this node,
  // still the only voter of the committed configuration, leads again and commits its log.
  n.close();
  n.open();
  n.create();
  ASSERT_EQ(n.status().last_index, *index);
  if (n.status().commit < *index) {
    EXPECT_EQ(n.status().conf.voters, ids({1}));
    ASSERT_TRUE(n.host().campaign(meta_group).has_value());
    ASSERT_TRUE(n.run_until([&] { return n.status().commit > *index; }));
  }
  EXPECT_EQ(n.status().conf.voters, ids({1, 2}));
  EXPECT_TRUE(n.status().conf.learners.empty());

  // The formation store now writes version 1, and reads it back.
  ASSERT_TRUE(daemon::save_formation(dir.path(), *formation).has_value());
  std::ifstream in(dir.path() / "formation", std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.front(), '\x08');
  auto again = daemon::load_formation(dir.path());
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_EQ(*again, *formation);
}

// The fixture is what chronik-server of commit acdde69 left after forming a one-node cluster
// (tests/unit/fixtures/make_legacy_data_dir.sh): the bootstrap entry "add_voter 1" and the node's
// registration in `__meta`, and its formation file in text. A copy is opened, so the checked-in
// files never change.
TEST(LegacyDataDir, OpensTheDirectoryOldMainWrote) {
  consensus::testing::scratch_dir dir;
  std::filesystem::copy(CHRONIK_LEGACY_FIXTURE, dir.path(), std::filesystem::copy_options::recursive);

  std::ifstream text(dir.path() / "formation", std::ios::binary);
  const std::string legacy{std::istreambuf_iterator<char>(text), std::istreambuf_iterator<char>()};
  ASSERT_TRUE(legacy.starts_with("member ")) << "the fixture is the old text form";
  auto formation = daemon::load_formation(dir.path());
  ASSERT_TRUE(formation.has_value()) << formation.error();
  EXPECT_EQ(formation->state, metadata::formation::kind::member);
  EXPECT_EQ(formation->cluster_id.size(), 32u);
  ASSERT_EQ(formation->voters.size(), 1u);
  EXPECT_EQ(formation->voters.front().id, chronik::node_id{1});

  node n(dir.path());
  n.open();
  EXPECT_EQ(n.host().recovered_groups(), std::vector<group_id>{meta_group});
  n.create();
  EXPECT_EQ(n.status().conf.voters, ids({1}));
  auto stored = n.host().read_entries(meta_group, log_index{1}, n.status().last_index.next(), ~0ULL);
  ASSERT_TRUE(stored.has_value()) << stored.error().text;
  ASSERT_GE(stored->size(), 3u) << "bootstrap, the leader's empty entry, the registration";
  EXPECT_EQ(stored->front().type, entry_type::conf_change);
  EXPECT_EQ(stored->front().data, "add_voter 1");

  // It leads again, applies the old log and takes a change in the new form.
  ASSERT_TRUE(n.host().campaign(meta_group).has_value());
  ASSERT_TRUE(n.run_until([&] { return n.status().state == consensus::role::leader && n.status().commit == n.status().last_index; }));
  EXPECT_GE(n.applied().size(), stored->size());
  auto index = n.host().propose_conf_change(meta_group, conf_change{conf_change::kind::add_learner, node_id{2}});
  ASSERT_TRUE(index.has_value()) << index.error().text;
  ASSERT_TRUE(n.run_until([&] { return n.status().commit >= *index; }));
  EXPECT_EQ(n.status().conf.learners, ids({2}));

  n.close();
  n.open();
  n.create();
  if (n.status().commit < *index) {
    ASSERT_TRUE(n.host().campaign(meta_group).has_value());
    ASSERT_TRUE(n.run_until([&] { return n.status().commit > *index; }));
  }
  EXPECT_EQ(n.status().conf.voters, ids({1}));
  EXPECT_EQ(n.status().conf.learners, ids({2}));
}

}  // namespace
}  // namespace chronik
