// daemon/admin_auth and daemon/admin_token: the bearer token check of the admin endpoint
// (docs/security.md "Admin HTTP") and where the token lives on disk.
#include "daemon/admin_auth.h"
#include "daemon/admin_token.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace chronik::daemon {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view token = "0123456789abcdef0123456789abcdef";

TEST(admin_auth_test, bearer_header_parsing) {
  EXPECT_EQ(bearer_token_of("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token_of("bearer abc"), "abc");  // the scheme is case-insensitive (RFC 7235 §2.1)
  EXPECT_EQ(bearer_token_of("BEARER   a.b-c_d~e+f/g=="), "a.b-c_d~e+f/g==");
  EXPECT_FALSE(bearer_token_of("Bearer"));
  EXPECT_FALSE(bearer_token_of("Bearer "));
  EXPECT_FALSE(bearer_token_of("Bearerabc"));
  EXPECT_FALSE(bearer_token_of("Basic YWRtaW46eA=="));
  EXPECT_FALSE(bearer_token_of("Bearer a b"));
  EXPECT_FALSE(bearer_token_of("Bearer ab\"c"));
  EXPECT_FALSE(bearer_token_of("Bearer =abc"));
  EXPECT_FALSE(bearer_token_of("Bearer " + std::string(max_admin_token_bytes + 1, 'a')));
  EXPECT_EQ(bearer_token_of("Bearer " + std::string(max_admin_token_bytes, 'a'))->size(), max_admin_token_bytes);
}

TEST(admin_auth_test, tokens_equal_compares_whole_strings) {
  EXPECT_TRUE(tokens_equal(token, token));
  EXPECT_FALSE(tokens_equal("", token));
  EXPECT_FALSE(tokens_equal(token.substr(0, 31), token));      // a prefix
  EXPECT_FALSE(tokens_equal(std::string(token) + "0", token));  // an extension
  std::string last = std::string(token);
  last.back() = 'g';
  EXPECT_FALSE(tokens_equal(last, token));
  std::string first = std::string(token);
  first.front() = '1';
  EXPECT_FALSE(tokens_equal(first, token));
  EXPECT_TRUE(tokens_equal("", ""));
}

TEST(admin_auth_test, decision) {
  EXPECT_EQ(check_admin_auth(std::nullopt, token), admin_auth::missing);
  EXPECT_EQ(check_admin_auth("Basic eDp5", token), admin_auth::missing);
  EXPECT_EQ(check_admin_auth("Bearer " + std::string(token), token), admin_auth::ok);
  EXPECT_EQ(check_admin_auth("Bearer 0123456789abcdef", token), admin_auth::wrong);
  // An empty configured token authorizes nobody.
  EXPECT_EQ(check_admin_auth("Bearer x", ""), admin_auth::wrong);
}

TEST(admin_auth_test, token_file_text) {
  EXPECT_EQ(parse_admin_token(std::string(token) + "\n"), token);
  EXPECT_EQ(parse_admin_token("  \t" + std::string(token) + " \r\n"), token);
  EXPECT_FALSE(parse_admin_token(""));
  EXPECT_FALSE(parse_admin_token("short\n"));  // guessable
  EXPECT_FALSE(parse_admin_token("0123456789abcdef 0123456789abcdef"));
  EXPECT_FALSE(parse_admin_token(std::string(max_admin_token_bytes + 1, 'a')));
}

class admin_token_test : public ::testing::Test {
 protected:
  admin_token_test() {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("chronik-admin-token-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  ~admin_token_test() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(const fs::path& p, std::string_view text, fs::perms mode) {
    std::ofstream(p) << text;
    fs::permissions(p, mode);
  }
  fs::path dir_;
};

TEST_F(admin_token_test, generated_once_0600_and_kept) {
  auto first = load_node_admin_token(dir_, std::nullopt);
  ASSERT_TRUE(first) << first.error();
  EXPECT_TRUE(first->generated);
  EXPECT_EQ(first->token.size(), 64u);
  EXPECT_FALSE(first->warning);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / admin_token_file_name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = load_node_admin_token(dir_, std::nullopt);
  ASSERT_TRUE(second) << second.error();
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(second->token, first->token);
  // The CLI finds it through the data dir.
  auto cli = read_cli_admin_token(std::nullopt, dir_);
  ASSERT_TRUE(cli && *cli);
  EXPECT_EQ(**cli, first->token);
  auto none = read_cli_admin_token(std::nullopt, std::nullopt);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST_F(admin_token_test, configured_file_is_read_and_a_loose_mode_is_warned) {
  const auto file = dir_ / "cluster_token";
  write(file, std::string(token) + "\n", fs::perms::owner_read | fs::perms::owner_write);
  auto ok = load_node_admin_token(dir_, file);
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->token, token);
  EXPECT_FALSE(ok->generated);
  EXPECT_FALSE(ok->warning);
  EXPECT_FALSE(fs::exists(dir_ / admin_token_file_name));  // nothing generated beside it
  fs::permissions(file, fs::perms::others_read, fs::perm_options::add);
  auto loose = load_node_admin_token(dir_, file);
  ASSERT_TRUE(loose);
  ASSERT_TRUE(loose->warning);
  EXPECT_NE(loose->warning->find("chmod 600"), std::string::npos);
  auto cli = read_cli_admin_token(file, std::nullopt);
  ASSERT_TRUE(cli && *cli);
  EXPECT_EQ(**cli, token);
}

TEST_F(admin_token_test, missing_or_bad_configured_file_is_an_error_naming_it) {
  auto missing = load_node_admin_token(dir_, dir_ / "nope");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("nope"), std::string::npos);
  write(dir_ / "bad", "short", fs::perms::owner_read);
  auto bad = load_node_admin_token(dir_, dir_ / "bad");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("bad"), std::string::npos);
  EXPECT_EQ(bad.error().find("short"), std::string::npos);  // never echo what might be a token
  EXPECT_FALSE(read_cli_admin_token(dir_ / "nope", std::nullopt));
}

}  // namespace
}  // namespace chronik::daemon
