// The files of mutual TLS between nodes (daemon/rpc_tls_files.h): what `chronik-server certs`
// writes, and the one-line errors `start` gives for the configured files.
#include <filesystem>
#include <fstream>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "daemon/node_certs.h"
#include "daemon/node_identity.h"
#include "daemon/rpc_tls_files.h"

namespace chronik::daemon {
namespace {

namespace fs = std::filesystem;

class RpcTlsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("chronik-rpc-tls-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static unsigned mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  rpc_tls_paths paths(std::uint32_t id) const {
    return {dir_ / "ca.crt", dir_ / ("node-" + std::to_string(id) + ".crt"), dir_ / ("node-" + std::to_string(id) + ".key")};
  }
  fs::path dir_;
};

TEST_F(RpcTlsFiles, CertsWritesACaAndNodeFilesWithPrivateKeys) {
  auto lines = make_certs({dir_, {1, 2, 3}, 30, false});
  ASSERT_TRUE(lines.has_value()) << lines.error();
  EXPECT_EQ(lines->size(), 4u);
  EXPECT_EQ(mode(dir_ / "ca.key"), 0600u);
  for (std::uint32_t id : {1u, 2u, 3u}) {
    EXPECT_EQ(mode(paths(id).key_file), 0600u);
    EXPECT_EQ(certificate_identity(read(paths(id).cert_file)).value().node, node_id{id});
    auto loaded = load_rpc_tls_files(paths(id), node_id{id});
    ASSERT_TRUE(loaded.has_value()) << loaded.error();
    EXPECT_EQ(loaded->cert_pem, read(paths(id).cert_file));
  }
}

TEST_F(RpcTlsFiles, ASecondRunKeepsTheCaAndSignsNewNodesWithIt) {
  ASSERT_TRUE(make_certs({dir_, {1}, 30, false}).has_value());
  const std::string ca = read(dir_ / "ca.crt");
  const std::string node1 = read(paths(1).cert_file);
  ASSERT_TRUE(make_certs({dir_, {1, 4}, 30, false}).has_value());
  EXPECT_EQ(read(dir_ / "ca.crt"), ca);
  EXPECT_EQ(read(paths(1).cert_file), node1);  // kept without --force
  EXPECT_TRUE(load_rpc_tls_files(paths(4), node_id{4}).has_value());
  // --force replaces the node's key pair (rotation); the CA stays.
  ASSERT_TRUE(make_certs({dir_, {1}, 30, true}).has_value());
  EXPECT_NE(read(paths(1).cert_file), node1);
  EXPECT_EQ(read(dir_ / "ca.crt"), ca);
  EXPECT_TRUE(load_rpc_tls_files(paths(1), node_id{1}).has_value());
}

TEST_F(RpcTlsFiles, DataDirBindsTheCertificateToThatDirectorysUuid) {
  const fs::path data = dir_ / "data-1";
  auto lines = make_certs({dir_, {1}, 30, false, data});
  ASSERT_TRUE(lines.has_value()) << lines.error();
  // The node_uuid exists before the node ever starts, and the certificate binds it.
  auto uuid = load_or_create_node_uuid(data);
  ASSERT_TRUE(uuid.has_value());
  const std::string first = read(paths(1).cert_file);
  EXPECT_EQ(certificate_identity(first), (consensus::certified_identity{node_id{1}, uuid->hex()}));
  EXPECT_TRUE(check_certificate_uuid(first, uuid->hex()).has_value());
  // A second run keeps it; a wiped data directory (a new uuid) gets a new certificate.
  ASSERT_TRUE(make_certs({dir_, {1}, 30, false, data}).has_value());
  EXPECT_EQ(read(paths(1).cert_file), first);
  fs::remove_all(data);
  lines = make_certs({dir_, {1}, 30, false, data});
  ASSERT_TRUE(lines.has_value()) << lines.error();
  const std::string second = read(paths(1).cert_file);
  EXPECT_NE(second, first);
  auto new_uuid = load_or_create_node_uuid(data);
  ASSERT_TRUE(new_uuid.has_value());
  EXPECT_NE(new_uuid->hex(), uuid->hex());
  EXPECT_EQ(certificate_identity(second).value().node_uuid, new_uuid->hex());
  EXPECT_FALSE(check_certificate_uuid(first, new_uuid->hex()).has_value());
  // One data directory binds one node.
  auto two = make_certs({dir_, {1, 2}, 30, false, data});
  ASSERT_FALSE(two.has_value());
  EXPECT_NE(two.error().find("exactly one --node"), std::string::npos) << two.error();
}

TEST_F(RpcTlsFiles, HalfACaIsRefusedRatherThanReplaced) {
  ASSERT_TRUE(make_certs({dir_, {}, 30, false}).has_value());
  fs::remove(dir_ / "ca.key");
  auto r = make_certs({dir_, {1}, 30, false});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("only one of ca.crt and ca.key"), std::string::npos) << r.error();
}

TEST_F(RpcTlsFiles, EachBadFileGivesOneLineNamingItsKey) {
  ASSERT_TRUE(make_certs({dir_, {1, 2}, 30, false}).has_value());
  auto error_of = [](const rpc_tls_paths& p, std::uint32_t self) {
    auto r = load_rpc_tls_files(p, node_id{self});
    EXPECT_FALSE(r.has_value());
    return r.has_value() ? std::string() : r.error();
  };
  auto p = paths(1);
  p.ca_file = dir_ / "missing.crt";
  EXPECT_TRUE(error_of(p, 1).starts_with("rpc_tls_ca_file: ")) << error_of(p, 1);
  p = paths(1);
  p.key_file = paths(2).key_file;
  EXPECT_TRUE(error_of(p, 1).starts_with("rpc_tls_key_file: ")) << error_of(p, 1);
  EXPECT_TRUE(error_of(paths(2), 1).starts_with("rpc_tls_cert_file: ")) << error_of(paths(2), 1);
  p = paths(1);
  p.cert_file = dir_ / "ca.key";  // a key where a certificate belongs
  EXPECT_TRUE(error_of(p, 1).starts_with("rpc_tls_cert_file: ")) << error_of(p, 1);
  for (const auto& e : {error_of(paths(2), 1), error_of(p, 1)}) EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

}  // namespace
}  // namespace chronik::daemon
