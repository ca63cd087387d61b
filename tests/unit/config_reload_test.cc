// SIGHUP's reload decision (daemon/config_reload.h), on configurations loaded by load_node_config
// from a file the test rewrites between "starts" and "reloads", as an operator would.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "daemon/config.h"
#include "daemon/config_reload.h"

namespace chronik::daemon {
namespace {

namespace fs = std::filesystem;

class config_reload_test : public ::testing::Test {
 protected:
  config_reload_test() {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("chronik-reload-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
    cli_.node_id = 1;
    cli_.data_dir = (dir_ / "data").string();
  }
  ~config_reload_test() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path write(const std::string& toml) {
    const auto file = dir_ / "node.toml";
    std::ofstream(file) << toml;
    return file;
  }
  std::expected<node_config, std::string> load(const fs::path& file) { return load_node_config(file, cli_); }

  fs::path dir_;
  cli_overrides cli_;
};

TEST_F(config_reload_test, a_changed_log_level_is_applied_and_named) {
  const auto file = write("log_level = \"info\"\n");
  const auto started = load(file);
  ASSERT_TRUE(started) << started.error();
  write("log_level = \"debug\"\n");
  const auto d = decide_reload(started->level, reload_config_file::given, load(file));
  ASSERT_TRUE(d.new_level);
  EXPECT_EQ(*d.new_level, log_level::debug);
  EXPECT_FALSE(d.error);
  EXPECT_NE(d.line.find("log level: info -> debug"), std::string::npos) << d.line;
}

TEST_F(config_reload_test, changed_module_levels_are_applied_and_named) {
  const auto file = write("log_level = \"info\"\n[log_levels]\nraft = \"debug\"\n");
  const auto started = load(file);
  ASSERT_TRUE(started) << started.error();
  write("log_level = \"info\"\n[log_levels]\nraft = \"warn\"\ngossip = \"trace\"\n");
  const auto d = decide_reload(started->level, reload_config_file::given, load(file), started->module_levels);
  ASSERT_TRUE(d.new_level);
  ASSERT_TRUE(d.new_module_levels);
  EXPECT_EQ(*d.new_level, log_level::info);
  EXPECT_EQ(d.new_module_levels->at("raft"), log_level::warn);
  EXPECT_EQ(d.new_module_levels->at("gossip"), log_level::trace);
  EXPECT_NE(d.line.find("log_levels: raft=debug -> gossip=trace raft=warn"), std::string::npos) << d.line;
  EXPECT_EQ(d.line.find("log level:"), std::string::npos) << d.line;
  // The same levels again: nothing to apply.
  const auto again = decide_reload(started->level, reload_config_file::given, load(file), *d.new_module_levels);
  EXPECT_FALSE(again.new_level);
}

TEST_F(config_reload_test, an_unchanged_file_changes_nothing_and_says_so) {
  const auto file = write("log_level = \"warn\"\n");
  const auto started = load(file);
  ASSERT_TRUE(started) << started.error();
  const auto d = decide_reload(started->level, reload_config_file::given, load(file));
  EXPECT_FALSE(d.new_level);
  EXPECT_FALSE(d.error);
  EXPECT_NE(d.line.find("nothing reloadable changed (log level warn"), std::string::npos) << d.line;
}

TEST_F(config_reload_test, a_file_that_no_longer_validates_changes_nothing_and_is_an_error) {
  const auto file = write("log_level = \"info\"\n");
  const auto started = load(file);
  ASSERT_TRUE(started) << started.error();
  write("log_level = \"debug\"\nkafka_port = 70000\n");
  const auto d = decide_reload(started->level, reload_config_file::given, load(file));
  EXPECT_FALSE(d.new_level);
  EXPECT_TRUE(d.error);
  EXPECT_NE(d.line.find("no longer loads, nothing changed"), std::string::npos) << d.line;
  EXPECT_NE(d.line.find("kafka_port"), std::string::npos) << d.line;
}

TEST_F(config_reload_test, the_command_line_level_still_wins_over_the_file) {
  cli_.log_level = "error";
  const auto file = write("log_level = \"info\"\n");
  const auto started = load(file);
  ASSERT_TRUE(started) << started.error();
  write("log_level = \"trace\"\n");
  const auto d = decide_reload(started->level, reload_config_file::given, load(file));
  EXPECT_FALSE(d.new_level) << d.line;
}

TEST_F(config_reload_test, without_a_file_nothing_changes) {
  const auto started = load_node_config(std::nullopt, cli_);
  ASSERT_TRUE(started) << started.error();
  const auto d = decide_reload(started->level, reload_config_file::none, load_node_config(std::nullopt, cli_));
  EXPECT_FALSE(d.new_level);
  EXPECT_NE(d.line.find("no --config file"), std::string::npos) << d.line;
}

}  // namespace
}  // namespace chronik::daemon
