// The durable formation record (metadata/formation_record.h, docs/bootstrap.md "The formation
// file"): version 1 round trips every state, the text form that files written before it hold is
// still read, and unknown versions and garbage are refused with a reason.
#include "metadata/formation_record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "formation.pb.h"

namespace chronik::metadata {
namespace {

formation promised() {
  formation f;
  f.state = formation::kind::promised;
  f.founder = {node_id{1}, "uuid-1"};
  f.cluster_id = "c-7";
  f.round = 3;
  f.voters = {{node_id{1}, "uuid-1"}, {node_id{2}, "uuid-2"}, {node_id{3}, "uuid-3"}};
  return f;
}

formation member(std::vector<node_ref> voters) {
  formation f;
  f.state = formation::kind::member;
  f.cluster_id = "c-7";
  f.voters = std::move(voters);
  return f;
}

TEST(FormationRecord, RoundTripsEveryState) {
  for (const formation& f : {formation{}, promised(), member({{node_id{1}, "uuid-1"}, {node_id{2}, "uuid-2"}}), member({})}) {
    const std::string bytes = encode_formation_record(f);
    ASSERT_FALSE(bytes.empty());
    EXPECT_EQ(bytes.front(), '\x08') << "the version field comes first";
    auto back = decode_formation_record(bytes);
    ASSERT_TRUE(back.has_value()) << back.error();
    EXPECT_EQ(*back, f);
  }
}

TEST(FormationRecord, IsVersionOne) {
  proto::FormationRecord r;
  ASSERT_TRUE(r.ParseFromString(encode_formation_record(promised())));
  EXPECT_EQ(r.version(), 1u);
  EXPECT_EQ(r.state(), proto::FORMATION_RECORD_PROMISED);
  EXPECT_EQ(r.round(), 3u);
  EXPECT_EQ(r.voters_size(), 3);
}

TEST(FormationRecord, ReadsTheLegacyTextForm) {
  // The exact bytes today's main writes to <data_dir>/formation (text plus a newline).
  auto p = decode_formation_record("promised 1/uuid-1 c-7 3 1/uuid-1,2/uuid-2,3/uuid-3\n");
  ASSERT_TRUE(p.has_value()) << p.error();
  EXPECT_EQ(*p, promised());
  auto m = decode_formation_record("member c-7 1/uuid-1,2/uuid-2\n");
  ASSERT_TRUE(m.has_value()) << m.error();
  EXPECT_EQ(*m, member({{node_id{1}, "uuid-1"}, {node_id{2}, "uuid-2"}}));
  auto joined = decode_formation_record("member c-7 \n");
  ASSERT_TRUE(joined.has_value()) << joined.error();
  EXPECT_EQ(*joined, member({}));
}

// A legacy id wider than a node id is refused rather than truncated into another node's id
// (4294967297 would have been read as node 1).
TEST(FormationRecord, RefusesALegacyIdWiderThanANodeId) {
  EXPECT_FALSE(decode_formation_record("member c-7 4294967297/uuid-1\n").has_value());
  EXPECT_FALSE(decode_formation_record("promised 4294967297/uuid-1 c-7 3 1/uuid-1\n").has_value());
  auto top = decode_formation_record("member c-7 4294967295/uuid-1\n");
  ASSERT_TRUE(top.has_value()) << top.error();
  EXPECT_EQ(top->voters.front().id, chronik::node_id{4294967295u});
}

TEST(FormationRecord, RefusesUnknownVersions) {
  proto::FormationRecord r;
  ASSERT_TRUE(r.ParseFromString(encode_formation_record(promised())));
  r.set_version(2);
  auto f = decode_formation_record(r.SerializeAsString());
  ASSERT_FALSE(f.has_value());
  EXPECT_NE(f.error().find("version 2"), std::string::npos) << f.error();
}

TEST(FormationRecord, RefusesGarbageAndIncompleteRecords) {
  auto record = [](auto edit) {
    proto::FormationRecord r;
    EXPECT_TRUE(r.ParseFromString(encode_formation_record(promised())));
    edit(r);
    return r.SerializeAsString();
  };
  const std::vector<std::string> bad = {
      "",
      std::string("\x08", 1),
      std::string("\x08\x01\xff\xff", 4),
      "promised",
      "member",
      "wandering c-7 1/u\n",
      record([](proto::FormationRecord& r) { r.set_state(proto::FORMATION_RECORD_UNSPECIFIED); }),
      record([](proto::FormationRecord& r) { r.clear_cluster_id(); }),
      record([](proto::FormationRecord& r) { r.clear_founder(); }),
      record([](proto::FormationRecord& r) { r.clear_voters(); }),
  };
  for (const auto& b : bad) {
    auto f = decode_formation_record(b);
    EXPECT_FALSE(f.has_value()) << "accepted " << b.size() << " bytes";
    if (!f) {
      EXPECT_FALSE(f.error().empty());
    }
  }
}

}  // namespace
}  // namespace chronik::metadata
