// The fixture of the daemon configuration tests (config_test.cc, config_addresses_test.cc): a TOML
// file in a fresh temporary directory, loaded with load_node_config.
#pragma once

#include <gtest/gtest.h>

#include <expected>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "daemon/config.h"

namespace chronik::daemon::config_testing {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class temp_dir {
 public:
  temp_dir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("chronik-config-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class config_test : public ::testing::Test {
 protected:
  fs::path write(const std::string& toml) {
    const auto file = dir_.path() / "node.toml";
    std::ofstream(file, std::ios::trunc) << toml;
    return file;
  }
  std::expected<node_config, std::string> load(const std::string& toml, const cli_overrides& cli = {}) {
    return load_node_config(write(toml), cli);
  }
  // The error line for a file that must be rejected.
  std::string error_of(const std::string& toml, const cli_overrides& cli = {}) {
    auto cfg = load(toml, cli);
    EXPECT_FALSE(cfg.has_value()) << "accepted: " << toml;
    return cfg ? std::string() : cfg.error();
  }
  std::string cli_error_of(const cli_overrides& cli) {
    auto cfg = load_node_config(std::nullopt, cli);
    EXPECT_FALSE(cfg.has_value());
    return cfg ? std::string() : cfg.error();
  }

  temp_dir dir_;
};

}  // namespace chronik::daemon::config_testing
