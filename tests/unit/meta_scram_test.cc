// SCRAM credentials in `__meta` (metadata/meta_scram.h): upsert and delete for one user all or
// none, the shape checks every replica runs, snapshots carrying them, and the bounds equal to
// the broker's (kafka/sasl/scram_credential.h).
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "kafka/sasl/scram_credential.h"
#include "meta.pb.h"
#include "metadata/meta_commands.h"
#include "metadata/meta_state.h"

namespace chronik::metadata {
namespace {

namespace cmd = commands;

struct machine {
  meta_state s;
  std::uint64_t next_index = 1;
  std::expected<apply_result, meta_errc> run(const std::string& bytes) { return s.apply(log_index{next_index++}, bytes); }
};

scram_record record(std::int8_t mechanism, std::string salt = "salt", std::uint32_t iterations = 4096) {
  const std::size_t n = mechanism == scram_sha_256 ? 32 : 64;
  return {mechanism, std::move(salt), iterations, std::string(n, 's'), std::string(n, 'k')};
}

TEST(MetaScram, UpsertReplacesAndDeleteRemoves) {
  machine m;
  auto r = m.run(cmd::alter_scram_credentials("alice", {record(scram_sha_256), record(scram_sha_512)}, {}, 1));
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(r->kind, command_kind::alter_scram_credentials);
  ASSERT_EQ(m.s.scram_users().size(), 1u);
  EXPECT_EQ(m.s.scram_users().at("alice").size(), 2u);

  ASSERT_TRUE(m.run(cmd::alter_scram_credentials("alice", {record(scram_sha_512, "other", 8192)}, {}, 2)));
  EXPECT_EQ(m.s.scram_users().at("alice").at(scram_sha_512).iterations, 8192u);
  EXPECT_EQ(m.s.scram_users().at("alice").at(scram_sha_512).salt, "other");

  ASSERT_TRUE(m.run(cmd::alter_scram_credentials("alice", {}, {scram_sha_256}, 3)));
  EXPECT_EQ(m.s.scram_users().at("alice").size(), 1u);
  // The last credential gone: the user is gone.
  ASSERT_TRUE(m.run(cmd::alter_scram_credentials("alice", {}, {scram_sha_512}, 4)));
  EXPECT_TRUE(m.s.scram_users().empty());
}

TEST(MetaScram, RefusedRecordsChangeNothing) {
  machine m;
  ASSERT_TRUE(m.run(cmd::alter_scram_credentials("alice", {record(scram_sha_256)}, {}, 1)));
  const meta_data before = m.s.data();
  const auto refuse = [&](const std::string& bytes, meta_errc want) {
    auto r = m.run(bytes);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), want);
    auto now = m.s.data();
    now.applied = before.applied;
    EXPECT_EQ(now, before);
  };
  // Deleting what is not there refuses the whole record, upsertions included.
  refuse(cmd::alter_scram_credentials("alice", {record(scram_sha_256, "new")}, {scram_sha_512}, 2),
         meta_errc::unknown_scram_credential);
  refuse(cmd::alter_scram_credentials("bob", {}, {scram_sha_256}, 3), meta_errc::unknown_scram_credential);
  refuse(cmd::alter_scram_credentials("", {record(scram_sha_256)}, {}, 4), meta_errc::invalid_scram_credential);
  refuse(cmd::alter_scram_credentials(std::string(256, 'u'), {record(scram_sha_256)}, {}, 5),
         meta_errc::invalid_scram_credential);
  refuse(cmd::alter_scram_credentials("alice", {record(3)}, {}, 6), meta_errc::invalid_scram_credential);
  refuse(cmd::alter_scram_credentials("alice", {record(scram_sha_256, "s", 4095)}, {}, 7),
         meta_errc::invalid_scram_credential);
  refuse(cmd::alter_scram_credentials("alice", {record(scram_sha_256, "s", 16385)}, {}, 8),
         meta_errc::invalid_scram_credential);
  refuse(cmd::alter_scram_credentials("alice", {record(scram_sha_256, "")}, {}, 9), meta_errc::invalid_scram_credential);
  auto short_key = record(scram_sha_512);
  short_key.stored_key.resize(32);
  refuse(cmd::alter_scram_credentials("alice", {short_key}, {}, 10), meta_errc::invalid_scram_credential);
  // One mechanism twice in one record.
  refuse(cmd::alter_scram_credentials("alice", {record(scram_sha_256)}, {scram_sha_256}, 11),
         meta_errc::invalid_scram_credential);
  refuse(cmd::alter_scram_credentials("alice", {}, {}, 12), meta_errc::malformed_command);
}

TEST(MetaScram, SnapshotCarriesCredentials) {
  machine m;
  ASSERT_TRUE(m.run(cmd::alter_scram_credentials("alice", {record(scram_sha_256), record(scram_sha_512)}, {}, 1)));
  ASSERT_TRUE(m.run(cmd::alter_scram_credentials("bob", {record(scram_sha_512, "pepper", 10000)}, {}, 2)));
  meta_state restored;
  ASSERT_TRUE(restored.restore(m.s.snapshot()));
  EXPECT_EQ(restored.data(), m.s.data());
  EXPECT_EQ(restored.snapshot(), m.s.snapshot());

  // A snapshot with a credential out of shape is refused whole.
  proto::MetaSnapshot s;
  ASSERT_TRUE(s.ParseFromString(m.s.snapshot()));
  s.mutable_scram_users(0)->mutable_credentials(0)->set_iterations(1);
  meta_state bad;
  EXPECT_EQ(bad.restore(s.SerializeAsString()).error(), meta_errc::malformed_snapshot);
  // Two entries of one user, too.
  ASSERT_TRUE(s.ParseFromString(m.s.snapshot()));
  *s.add_scram_users() = s.scram_users(0);
  EXPECT_EQ(bad.restore(s.SerializeAsString()).error(), meta_errc::malformed_snapshot);
}

TEST(MetaScram, BoundsEqualTheBrokers) {
  EXPECT_EQ(scram_min_iterations, kafka::sasl::scram_min_iterations);
  EXPECT_EQ(scram_max_iterations, kafka::sasl::scram_max_iterations);
  EXPECT_EQ(max_scram_salt_bytes, kafka::sasl::scram_max_salt_bytes);
  EXPECT_EQ(scram_sha_256, static_cast<std::int8_t>(kafka::sasl::scram_mechanism::sha_256));
  EXPECT_EQ(scram_sha_512, static_cast<std::int8_t>(kafka::sasl::scram_mechanism::sha_512));
}

}  // namespace
}  // namespace chronik::metadata
