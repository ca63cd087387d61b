// daemon/raft_state_dir.h: the owner file of the node's Raft state, discarding that state when the
// node moves to another cluster, and the leftovers of a discard interrupted by a crash.
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "daemon/raft_state_dir.h"

namespace chronik::daemon {
namespace {

namespace fs = std::filesystem;

class raft_state_dir_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("chronik-raft-state-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void touch(const fs::path& p, const std::string& text = "x") {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  fs::path dir_;
};

TEST_F(raft_state_dir_test, owner_round_trip_and_absent) {
  auto none = read_raft_owner(dir_);
  ASSERT_TRUE(none) << none.error();
  EXPECT_FALSE(*none);
  ASSERT_TRUE(write_raft_owner(dir_, "c0ffee"));
  auto owner = read_raft_owner(dir_);
  ASSERT_TRUE(owner) << owner.error();
  ASSERT_TRUE(*owner);
  EXPECT_EQ(**owner, "c0ffee");
}

TEST_F(raft_state_dir_test, bad_owner_files_are_errors) {
  touch(dir_ / "meta-cluster", "");
  auto empty = read_raft_owner(dir_);
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().find("is empty"), std::string::npos) << empty.error();
  touch(dir_ / "meta-cluster", std::string(200, 'a'));
  auto big = read_raft_owner(dir_);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().find("larger than"), std::string::npos) << big.error();
}

TEST_F(raft_state_dir_test, discard_removes_the_state_and_the_owner_but_nothing_else) {
  touch(dir_ / "raft" / "wal-0000000001.log");
  touch(dir_ / "raft-host" / "removed-groups");
  touch(dir_ / "node_uuid");
  touch(dir_ / "formation");
  ASSERT_TRUE(write_raft_owner(dir_, "old"));
  auto r = discard_raft_state(dir_);
  ASSERT_TRUE(r) << r.error();
  EXPECT_FALSE(fs::exists(dir_ / "raft"));
  EXPECT_FALSE(fs::exists(dir_ / "raft-host"));
  EXPECT_FALSE(fs::exists(dir_ / "raft.discarded"));
  EXPECT_FALSE(fs::exists(dir_ / "meta-cluster"));
  EXPECT_TRUE(fs::exists(dir_ / "node_uuid"));
  EXPECT_TRUE(fs::exists(dir_ / "formation"));
  EXPECT_TRUE(discard_raft_state(dir_)) << "nothing left to discard is fine";
}

TEST_F(raft_state_dir_test, leftovers_of_an_interrupted_discard_are_removed_and_live_state_kept) {
  touch(dir_ / "raft.discarded" / "wal-0000000001.log");
  touch(dir_ / "raft-host.discarded" / "removed-groups");
  touch(dir_ / "raft" / "wal-0000000002.log");
  auto r = remove_discarded_raft_state(dir_);
  ASSERT_TRUE(r) << r.error();
  EXPECT_FALSE(fs::exists(dir_ / "raft.discarded"));
  EXPECT_FALSE(fs::exists(dir_ / "raft-host.discarded"));
  EXPECT_TRUE(fs::exists(dir_ / "raft" / "wal-0000000002.log"));
}

}  // namespace
}  // namespace chronik::daemon
