// The bytes of a configuration-change entry (consensus/core/conf_change.cc, docs/raft.md
// "Configuration change entries"): version 1 round trips for every kind, agrees byte for byte with
// the Protobuf schema it claims to follow, the legacy text form is still read, and unknown versions
// and garbage are refused with an error rather than a crash or a guess.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "consensus/core/memory_storage.h"
#include "consensus/core/raft.h"
#include "raft_storage.pb.h"

namespace chronik::consensus {
namespace {

const std::vector<conf_change::kind> all_kinds = {conf_change::kind::add_voter, conf_change::kind::add_learner,
                                                  conf_change::kind::remove};

// Nodes whose varints take 1, 2, 3 and 5 bytes (the widest node id, base/node_id.h).
const std::vector<std::uint32_t> nodes = {1, 3, 127, 128, 300, 16384, ~0U};

TEST(ConfChangeCodec, RoundTripsEveryKind) {
  for (auto k : all_kinds) {
    for (std::uint32_t n : nodes) {
      const conf_change cc{k, node_id{n}};
      auto back = conf_change::decode(cc.encode());
      ASSERT_TRUE(back.has_value()) << to_string(cc) << ": " << to_string(back.error());
      EXPECT_EQ(*back, cc);
    }
  }
}

TEST(ConfChangeCodec, VersionOneBytesAreFixed) {
  // Replicated log data: these bytes must never change for version 1.
  EXPECT_EQ(conf_change({conf_change::kind::add_voter, node_id{3}}).encode(), std::string("\x08\x01\x10\x01\x18\x03", 6));
  EXPECT_EQ(conf_change({conf_change::kind::add_learner, node_id{4}}).encode(), std::string("\x08\x01\x10\x02\x18\x04", 6));
  EXPECT_EQ(conf_change({conf_change::kind::remove, node_id{300}}).encode(), std::string("\x08\x01\x10\x03\x18\xac\x02", 7));
}

proto::RaftConfChangeKind proto_kind(conf_change::kind k) {
  switch (k) {
    case conf_change::kind::add_voter: return proto::RAFT_CONF_CHANGE_ADD_VOTER;
    case conf_change::kind::add_learner: return proto::RAFT_CONF_CHANGE_ADD_LEARNER;
    case conf_change::kind::remove: return proto::RAFT_CONF_CHANGE_REMOVE;
  }
  return proto::RAFT_CONF_CHANGE_UNSPECIFIED;
}

TEST(ConfChangeCodec, MatchesTheProtobufSchema) {
  for (auto k : all_kinds) {
    for (std::uint32_t n : nodes) {
      const conf_change cc{k, node_id{n}};
      proto::RaftConfChange parsed;
      ASSERT_TRUE(parsed.ParseFromString(cc.encode()));
      EXPECT_EQ(parsed.version(), 1u);
      EXPECT_EQ(parsed.kind(), proto_kind(k));
      EXPECT_EQ(parsed.node(), n);

      proto::RaftConfChange m;
      m.set_version(1);
      m.set_kind(proto_kind(k));
      m.set_node(n);
      EXPECT_EQ(m.SerializeAsString(), cc.encode()) << "the hand encoding is Protobuf's canonical one";
    }
  }
}

TEST(ConfChangeCodec, ReadsFieldsInAnyOrderAfterTheVersion) {
  auto cc = conf_change::decode(std::string("\x08\x01\x18\x05\x10\x03", 6));
  ASSERT_TRUE(cc.has_value());
  EXPECT_EQ(*cc, (conf_change{conf_change::kind::remove, node_id{5}}));
}

TEST(ConfChangeCodec, ReadsTheLegacyTextForm) {
  // What every data directory written before version 1 holds (today's main wrote these).
  auto v = conf_change::decode("add_voter 3");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, (conf_change{conf_change::kind::add_voter, node_id{3}}));
  auto l = conf_change::decode("add_learner 12");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(*l, (conf_change{conf_change::kind::add_learner, node_id{12}}));
  auto r = conf_change::decode("remove 4294967295");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (conf_change{conf_change::kind::remove, node_id{4294967295u}}));
}

// The node field is 64 bits in both forms and a node id 32: a wider value is refused as
// malformed, never truncated into another node's id (4294967297 would have named node 1).
TEST(ConfChangeCodec, RefusesANodeWiderThanANodeId) {
  EXPECT_EQ(conf_change::decode("remove 4294967297").error(), conf_change_errc::malformed);
  EXPECT_EQ(conf_change::decode("add_voter 18446744073709551615").error(), conf_change_errc::malformed);
  proto::RaftConfChange m;
  m.set_version(1);
  m.set_kind(proto_kind(conf_change::kind::add_voter));
  m.set_node(4294967297ULL);
  EXPECT_EQ(conf_change::decode(m.SerializeAsString()).error(), conf_change_errc::malformed);
}

TEST(ConfChangeCodec, ToStringIsTheLegacyText) {
  for (auto k : all_kinds) {
    const conf_change cc{k, node_id{42}};
    auto back = conf_change::decode(to_string(cc));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, cc);
  }
}

TEST(ConfChangeCodec, RefusesUnknownVersions) {
  for (std::string v : {std::string("\x08\x00\x10\x01\x18\x03", 6), std::string("\x08\x02\x10\x01\x18\x03", 6),
                        std::string("\x08\x02", 2), std::string("\x08\x80\x01", 3)}) {
    auto cc = conf_change::decode(v);
    ASSERT_FALSE(cc.has_value());
    EXPECT_EQ(cc.error(), conf_change_errc::unknown_version);
  }
}

TEST(ConfChangeCodec, RefusesGarbage) {
  const std::vector<std::string> bad = {
      std::string("\x08", 1),                           // version truncated
      std::string("\x08\x01", 2),                       // no kind, no node
      std::string("\x08\x01\x10\x01", 4),               // no node
      std::string("\x08\x01\x18\x03", 4),               // no kind
      std::string("\x08\x01\x10\x00\x18\x03", 6),       // kind unspecified
      std::string("\x08\x01\x10\x04\x18\x03", 6),       // kind unknown
      std::string("\x08\x01\x10\x01\x18\x00", 6),       // node 0
      std::string("\x08\x01\x10\x01\x18\x03\x20\x01", 8),  // a field version 1 does not define
      std::string("\x08\x01\x10\x01\x10\x02\x18\x03", 8),  // kind twice
      std::string("\x08\x01\x10\x01\x18\x83", 6),          // node varint truncated
      std::string("\x08\x01\x10\x01\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 15),  // > 64 bits
      std::string("\x08\x01\x10\x01\x1a\x01\x03", 7),      // node as length-delimited
      "add_voter", "add_voter ", "add_voter 0", "add_voter x", "add_voter 3 ", "promote 3", " 3",
  };
  for (const auto& b : bad) {
    auto cc = conf_change::decode(b);
    EXPECT_FALSE(cc.has_value()) << "accepted bytes of size " << b.size();
    if (!cc) {
      EXPECT_EQ(cc.error(), conf_change_errc::malformed);
    }
  }
  auto empty = conf_change::decode("");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error(), conf_change_errc::empty);
}

TEST(ConfChangeCodec, RandomBytesNeverCrash) {
  // Whatever arrives, decode answers: a value or an error. Seeded: the same bytes every run.
  std::mt19937_64 rng(14);
  for (int i = 0; i < 20000; ++i) {
    std::string b(rng() % 16, '\0');
    for (auto& c : b) c = static_cast<char>(rng());
    if (i % 2 == 0 && !b.empty()) b[0] = '\x08';
    auto cc = conf_change::decode(b);
    if (cc) {
      EXPECT_EQ(conf_change::decode(cc->encode()), cc);
    }
  }
}

// A core restarting on a log whose configuration change it cannot read stops, rather than run
// with a configuration its peers do not have (it used to skip the entry silently).
TEST(ConfChangeCodecDeathTest, RestartOnAnUnreadableStoredChangeStops) {
  memory_storage storage(conf_state{{node_id{1}}, {}});
  storage.persist(std::nullopt, std::nullopt,
                  {entry{term_id{1}, log_index{2}, entry_type::conf_change, std::string("\x08\x02\x10\x01\x18\x02", 6)}});
  EXPECT_DEATH(raft(raft_config{}, node_id{1}, storage, 1), "undecodable");

  memory_storage readable(conf_state{{node_id{1}}, {}});
  readable.persist(std::nullopt, std::nullopt,
                   {entry{term_id{1}, log_index{2}, entry_type::conf_change, "add_learner 2"}});
  raft r(raft_config{}, node_id{1}, readable, 1);
  EXPECT_EQ(r.status().last_index, log_index{2});
}

}  // namespace
}  // namespace chronik::consensus
