// daemon/gossip_keyring_store: the data dir's gossip keyring survives restarts, the configured key
// becomes primary, the file is the owner's only, and a damaged file stops the start with its name.
#include "daemon/gossip_keyring_store.h"

#include "daemon/node_identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace chronik::daemon {
namespace {

namespace fs = std::filesystem;

class keyring_store_test : public ::testing::Test {
 protected:
  keyring_store_test() {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("chronik-keyring-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  ~keyring_store_test() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

gossip::gossip_key key_of(std::uint8_t b) {
  gossip::gossip_key k{};
  k.fill(b);
  return k;
}

TEST_F(keyring_store_test, nothing_configured_nothing_stored_means_plaintext) {
  auto ring = load_gossip_keyring(dir_, std::nullopt);
  ASSERT_TRUE(ring) << ring.error();
  EXPECT_FALSE(ring->has_value());
  EXPECT_FALSE(fs::exists(dir_ / gossip_keyring_file));
}

TEST_F(keyring_store_test, configured_key_is_stored_0600_and_later_keys_survive_restarts) {
  auto first = load_gossip_keyring(dir_, key_of(1));
  ASSERT_TRUE(first && first->has_value());
  EXPECT_EQ((*first)->keys(), std::vector{key_of(1)});
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / gossip_keyring_file).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // A key installed while running (saved), then a restart with the same configured key: both
  // stay, the configured one primary.
  auto ring = **first;
  ASSERT_TRUE(ring.install(key_of(2)));
  ASSERT_TRUE(save_gossip_keyring(dir_, ring));
  auto again = load_gossip_keyring(dir_, key_of(1));
  ASSERT_TRUE(again && again->has_value());
  EXPECT_EQ((*again)->keys(), (std::vector{key_of(1), key_of(2)}));

  // Without a configured key the stored ring applies as it is.
  auto unconfigured = load_gossip_keyring(dir_, std::nullopt);
  ASSERT_TRUE(unconfigured && unconfigured->has_value());
  EXPECT_EQ((*unconfigured)->keys(), (std::vector{key_of(1), key_of(2)}));

  // Configuring the installed key makes it primary, and that is stored too.
  auto rotated = load_gossip_keyring(dir_, key_of(2));
  ASSERT_TRUE(rotated && rotated->has_value());
  EXPECT_EQ((*rotated)->primary(), key_of(2));
  EXPECT_EQ((*load_gossip_keyring(dir_, std::nullopt))->primary(), key_of(2));
}

TEST_F(keyring_store_test, a_damaged_file_is_an_error_naming_it) {
  std::ofstream(dir_ / gossip_keyring_file) << "not base64\n";
  auto ring = load_gossip_keyring(dir_, key_of(1));
  ASSERT_FALSE(ring);
  EXPECT_NE(ring.error().find(gossip_keyring_file), std::string::npos) << ring.error();
}

TEST_F(keyring_store_test, keyring_command_installs_uses_removes_and_refuses_a_running_node) {
  ASSERT_TRUE(load_gossip_keyring(dir_, key_of(1)));
  auto edit = [&](keyring_action action, std::string key) {
    return edit_stored_keyring(keyring_command_options{action, std::move(key), dir_});
  };
  const auto k2 = gossip::key_to_base64(key_of(2));
  ASSERT_TRUE(edit(keyring_action::install, k2));
  EXPECT_EQ(edit(keyring_action::list, "")->keys(), (std::vector{key_of(1), key_of(2)}));
  ASSERT_TRUE(edit(keyring_action::use, k2));
  EXPECT_EQ(edit(keyring_action::list, "")->primary(), key_of(2));
  EXPECT_NE(edit(keyring_action::remove, k2).error().find("primary key cannot be removed"), std::string::npos);
  ASSERT_TRUE(edit(keyring_action::remove, gossip::key_to_base64(key_of(1))));
  EXPECT_EQ(edit(keyring_action::list, "")->keys(), std::vector{key_of(2)});
  // What a restart sees is the edited file.
  EXPECT_EQ((*load_gossip_keyring(dir_, std::nullopt))->keys(), std::vector{key_of(2)});
  EXPECT_NE(edit(keyring_action::use, "bad").error().find("base64"), std::string::npos);
  EXPECT_NE(edit(keyring_action::use, gossip::key_to_base64(key_of(9))).error().find("not installed"),
            std::string::npos);
  {
    auto running = data_dir_lock::acquire(dir_);  // as a running node holds it
    ASSERT_TRUE(running) << running.error();
    auto refused = edit(keyring_action::install, gossip::key_to_base64(key_of(3)));
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("stop the node first"), std::string::npos) << refused.error();
  }
  EXPECT_EQ(edit(keyring_action::list, "")->keys(), std::vector{key_of(2)});
}

TEST_F(keyring_store_test, keyring_command_needs_an_existing_keyring) {
  auto r = edit_stored_keyring(keyring_command_options{keyring_action::list, "", dir_});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("start the node once with gossip_key"), std::string::npos) << r.error();
  EXPECT_FALSE(edit_stored_keyring(keyring_command_options{keyring_action::list, "", dir_ / "missing"}));
}

TEST_F(keyring_store_test, keygen_makes_distinct_valid_keys) {
  auto a = generate_gossip_key();
  auto b = generate_gossip_key();
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(gossip::key_from_base64(*a).has_value());
}

}  // namespace
}  // namespace chronik::daemon
