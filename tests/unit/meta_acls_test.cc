// The `__meta` ACL records (metadata/meta_acls.cc): CreateAcls and DeleteAcls commands, their
// rules, and the bindings in snapshots.
#include <gtest/gtest.h>

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

acl_record acl(std::string name, std::string principal, std::int8_t op = 3, std::int8_t perm = 3) {
  return {2, std::move(name), 3, std::move(principal), "*", op, perm};
}

TEST(MetaAcls, CreateAddsOnceAndDeleteRemovesExactly) {
  machine m;
  auto r = m.run(cmd::create_acls({acl("t", "User:alice"), acl("t", "User:bob")}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, command_kind::create_acls);
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(m.s.acls().size(), 2u);
  // Present already: accepted, unchanged.
  r = m.run(cmd::create_acls({acl("t", "User:alice")}));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->changed);
  // Delete names bindings exactly: a DENY twin of alice's ALLOW is not alice's ALLOW.
  r = m.run(cmd::delete_acls({acl("t", "User:alice", 3, 2)}));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->changed);
  r = m.run(cmd::delete_acls({acl("t", "User:alice")}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, command_kind::delete_acls);
  EXPECT_TRUE(r->changed);
  ASSERT_EQ(m.s.acls().size(), 1u);
  EXPECT_EQ(m.s.acls().begin()->principal, "User:bob");
}

TEST(MetaAcls, ABadBindingRefusesTheWholeRecord) {
  machine m;
  const std::vector<acl_record> bad = {
      {1, "t", 3, "User:a", "*", 3, 3},   // resource type ANY
      {6, "t", 3, "User:a", "*", 3, 3},   // DELEGATION_TOKEN: not stored
      {2, "t", 2, "User:a", "*", 3, 3},   // pattern MATCH
      {2, "t", 3, "User:a", "*", 1, 3},   // operation ANY
      {2, "t", 3, "User:a", "*", 13, 3},  // past IDEMPOTENT_WRITE
      {2, "t", 3, "User:a", "*", 3, 1},   // permission ANY
      {2, "", 3, "User:a", "*", 3, 3},    // empty name
      {2, "t", 3, "", "*", 3, 3},         // empty principal
      {2, "t", 3, "User:a", "", 3, 3},    // empty host
      {2, std::string(256, 'x'), 3, "User:a", "*", 3, 3},
  };
  for (const auto& b : bad) {
    auto r = m.run(cmd::create_acls({acl("ok", "User:a"), b}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), meta_errc::invalid_acl);
    EXPECT_TRUE(m.s.acls().empty());
  }
}

TEST(MetaAcls, BindingsSurviveASnapshot) {
  machine m;
  ASSERT_TRUE(m.run(cmd::create_acls({acl("t", "User:alice"), {4, "kafka-cluster", 3, "User:ops", "10.0.0.1", 7, 3},
                                      {2, "orders-", 4, "User:*", "*", 4, 2}})));
  const std::string snap = m.s.snapshot();
  meta_state b;
  ASSERT_TRUE(b.restore(snap));
  EXPECT_EQ(b.data(), m.s.data());
  EXPECT_EQ(b.acls().size(), 3u);
  EXPECT_EQ(b.snapshot(), snap);
}

TEST(MetaAcls, ASnapshotWithABadBindingIsRefused) {
  proto::MetaSnapshot s;
  s.set_format_version(1);
  s.set_next_group_id(first_partition_group_id.value);
  auto* a = s.add_acls();
  a->set_resource_type(2);
  a->set_resource_name("t");
  a->set_pattern_type(9);
  a->set_principal("User:a");
  a->set_host("*");
  a->set_operation(3);
  a->set_permission(3);
  meta_state st;
  EXPECT_EQ(st.restore(s.SerializeAsString()).error(), meta_errc::malformed_snapshot);
  a->set_pattern_type(3);
  ASSERT_TRUE(st.restore(s.SerializeAsString()));
  EXPECT_EQ(st.acls().size(), 1u);
  // The same binding twice is not a canonical snapshot.
  *s.add_acls() = *a;
  EXPECT_EQ(meta_state().restore(s.SerializeAsString()).error(), meta_errc::malformed_snapshot);
}

}  // namespace
}  // namespace chronik::metadata
