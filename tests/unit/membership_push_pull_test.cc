// The compact push-pull (docs/gossip.md "Compact push-pull"): members travel as digests, full
// records only towards a side that lacks them, and a joiner still gets every full record.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "gossip/core/membership.h"
#include "tests/unit/membership_test_util.h"

namespace chronik::gossip {
namespace {

using namespace test;

std::string meta_of(std::uint32_t id) { return "node " + std::to_string(id) + " " + std::string(90, 'm'); }

membership with_meta(std::uint32_t id, std::vector<std::string> seeds = {}) {
  self_identity self{node_id{id}, "uuid-" + std::to_string(id), addr_of(id), meta_of(id), "c"};
  return membership(test_config(), self, std::move(seeds), id);
}

member_record record(std::uint32_t id, std::uint64_t inc = 0) {
  return {node_id{id}, incarnation{inc}, member_state::alive, "uuid-" + std::to_string(id), addr_of(id), meta_of(id)};
}

member_digest digest(std::uint32_t id, std::uint64_t inc = 0) {
  return {node_id{id}, incarnation{inc}, member_state::alive, identity_digest("uuid-" + std::to_string(id), addr_of(id))};
}

// Cores wired to each other by address, every packet delivered at once and in order; it keeps each
// push-pull it delivers.
struct wired {
  struct sync {
    std::string to;
    node_id from;
    push_pull_msg pp;
  };
  std::map<std::string, membership*> at;
  std::vector<sync> syncs;

  void pump() {
    for (int round = 0; round < 100; ++round) {
      std::vector<outbound_packet> out;
      for (auto& [addr, m] : at) {
        out.insert(out.end(), m->ready().packets.begin(), m->ready().packets.end());
        m->advance();
      }
      if (out.empty()) return;
      for (const auto& p : out) {
        for (const auto& msg : p.env.messages)
          if (const auto* pp = std::get_if<push_pull_msg>(&msg)) syncs.push_back({p.to_addr, p.env.from, *pp});
        if (auto it = at.find(p.to_addr); it != at.end()) it->second->step(p.env);
      }
    }
    FAIL() << "packets still flowing after 100 rounds";
  }
  void tick(int ticks) {
    for (int t = 0; t < ticks; ++t) {
      for (auto& [addr, m] : at) m->tick();
      pump();
    }
  }
  // Every core holds every other as alive with its current metadata.
  bool agree() const {
    for (const auto& [a, m] : at)
      for (const auto& [b, other] : at) {
        auto held = m->find(other->self().id);
        if (!held || held->state != member_state::alive || held->meta != other->self().meta) return false;
      }
    return true;
  }
  bool tick_until_agreed(int max_ticks) {
    for (int t = 0; t < max_ticks && !agree(); ++t) tick(1);
    return agree();
  }
};

std::size_t meta_bytes(const push_pull_msg& pp) {
  std::size_t n = 0;
  for (const auto& r : pp.members) n += r.meta.size();
  return n;
}

// Before the compact push-pull every sync carried every member's metadata both ways, though both
// sides held it already: 95% of chronik's gossip bytes beyond memberlist's (docs/performance.md).
TEST(Membership, PushPullBetweenAgreeingMembersCarriesNoMetadata) {
  auto a = with_meta(1), b = with_meta(2, {addr_of(1)}), c = with_meta(3, {addr_of(1)});
  wired w{{{addr_of(1), &a}, {addr_of(2), &b}, {addr_of(3), &c}}, {}};
  ASSERT_TRUE(w.tick_until_agreed(1000));
  // The syncs that pass on the last news (full, since their peer may lack records) go out within
  // a gossip interval; after them only the periodic syncs are left.
  w.tick(2 * static_cast<int>(test_config().ticks(test_config().gossip_interval_ms)));
  w.syncs.clear();
  const auto period = static_cast<int>(test_config().ticks(test_config().push_pull_interval_ms));
  w.tick(2 * period);
  ASSERT_TRUE(w.agree());
  std::size_t requests = 0;
  for (const auto& s : w.syncs) {
    SCOPED_TRACE("push-pull from node " + std::to_string(s.from.value()) + " to " + s.to);
    EXPECT_EQ(meta_bytes(s.pp), 0u);
    EXPECT_TRUE(s.pp.members.empty());
    EXPECT_TRUE(s.pp.want.empty());
    if (!s.pp.reply) {
      ++requests;
      EXPECT_EQ(s.pp.digests.size(), 3u);
    } else {
      EXPECT_TRUE(s.pp.digests.empty()) << "a reply repeats what the requester holds";
    }
  }
  EXPECT_GE(requests, 3u) << "each member syncs once per period";
}

TEST(Membership, JoinerGetsEveryMembersFullRecord) {
  auto a = with_meta(1), b = with_meta(2, {addr_of(1)}), c = with_meta(3, {addr_of(1)});
  wired w{{{addr_of(1), &a}, {addr_of(2), &b}, {addr_of(3), &c}}, {}};
  ASSERT_TRUE(w.tick_until_agreed(1000));
  auto joiner = with_meta(4, {addr_of(1)});
  w.at[addr_of(4)] = &joiner;
  w.syncs.clear();
  w.tick(1);
  // The join carries the joiner's own record in full, and the reply every record it lacks.
  ASSERT_FALSE(w.syncs.empty());
  const auto& join = w.syncs[0].pp;
  EXPECT_TRUE(join.join);
  ASSERT_EQ(join.members.size(), 1u);
  EXPECT_EQ(join.members[0].meta, meta_of(4));
  const auto answer = std::find_if(w.syncs.begin(), w.syncs.end(),
                                   [](const auto& s) { return s.pp.reply && s.to == addr_of(4) && s.from == node_id{1}; });
  ASSERT_NE(answer, w.syncs.end());
  const auto& reply = answer->pp;
  std::map<std::uint32_t, std::string> got;
  for (const auto& r : reply.members) got[r.node.value()] = r.meta;
  EXPECT_EQ(got, (std::map<std::uint32_t, std::string>{{1, meta_of(1)}, {2, meta_of(2)}, {3, meta_of(3)}}));
  EXPECT_TRUE(reply.want.empty());
  for (std::uint32_t id : {1u, 2u, 3u}) EXPECT_EQ(joiner.find(node_id{id})->meta, meta_of(id));
  EXPECT_EQ(a.find(node_id{4})->meta, meta_of(4));
  EXPECT_TRUE(w.tick_until_agreed(1000));
}

// A replier that lacks records (a member it does not know, or a newer incarnation, which may come
// with new metadata) asks for them, and the requester sends them in one more message.
TEST(Membership, ReplierAsksForTheRecordsItLacks) {
  auto m = with_meta(1);
  m.step(from(2, {alive_msg{node_id{2}, incarnation{0}, "uuid-2", addr_of(2), meta_of(2)}}));
  m.step(from(4, {alive_msg{node_id{4}, incarnation{3}, "uuid-4", addr_of(4), meta_of(4)}}));
  m.advance();
  // Node 3 holds node 2 newer and node 4 older than we do, and knows node 5, whom we do not know.
  m.step(from(3, {push_pull_msg{false, false, {}, {digest(1), digest(2, 4), digest(3), digest(4, 1), digest(5, 2)}, true, {}}}));
  const push_pull_msg* reply = nullptr;
  for (const auto& p : m.ready().packets)
    for (const auto& msg : p.env.messages)
      if (const auto* pp = std::get_if<push_pull_msg>(&msg); pp && pp->reply && p.to_addr == addr_of(3)) reply = pp;
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(reply->want, (std::vector<node_id>{node_id{2}, node_id{3}, node_id{5}}));
  // Node 3 holds node 1 as we do, and node 4 older: only node 4's record goes back, in full.
  ASSERT_EQ(reply->members.size(), 1u);
  EXPECT_EQ(reply->members[0].node, node_id{4});
  EXPECT_EQ(reply->members[0].meta, meta_of(4));
  EXPECT_TRUE(reply->digests.empty());
  m.advance();

  auto newer = record(2, 4);
  newer.meta = "changed";
  m.step(from(3, {push_pull_msg{false, true, {newer, record(3), record(5, 2)}, {}, true, {}}}));
  EXPECT_EQ(m.find(node_id{2})->meta, "changed");
  EXPECT_EQ(m.find(node_id{5})->meta, meta_of(5));
  EXPECT_EQ(m.find(node_id{5})->inc.value, 2u);
  for (const auto& p : m.ready().packets) EXPECT_NE(p.via, transport::stream) << "a reply without want is not answered";
}

// The answer to a want holds each record we have once, whatever the list repeats or names.
TEST(Membership, WantedRecordsAreAnsweredOnceWithWhatWeHold) {
  auto m = with_meta(1);
  m.step(from(2, {alive_msg{node_id{2}, incarnation{0}, "uuid-2", addr_of(2), meta_of(2)}}));
  m.advance();
  std::vector<node_id> want(1000, node_id{2});
  want.push_back(node_id{99});
  want.push_back(node_id{1});
  m.step(from(2, {push_pull_msg{false, true, {}, {}, true, want}}));
  std::vector<const push_pull_msg*> answers;
  for (const auto& p : m.ready().packets)
    for (const auto& msg : p.env.messages)
      if (const auto* pp = std::get_if<push_pull_msg>(&msg)) answers.push_back(pp);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(answers[0]->reply) << "so that it is not answered in turn";
  EXPECT_TRUE(answers[0]->want.empty());
  ASSERT_EQ(answers[0]->members.size(), 2u);
  EXPECT_EQ(answers[0]->members[0].node, node_id{2});
  EXPECT_EQ(answers[0]->members[1].node, node_id{1});
  EXPECT_EQ(answers[0]->members[1].meta, meta_of(1));
}

// A peer of an older version sends no `compact` and reads only full records: it gets full replies,
// and full requests from then on, until it speaks compact.
TEST(Membership, PeerWithoutCompactPushPullGetsFullRecords) {
  auto m = with_meta(1);
  m.step(from(2, {push_pull_msg{false, false, {record(2)}}}));
  const push_pull_msg* reply = nullptr;
  for (const auto& p : m.ready().packets)
    for (const auto& msg : p.env.messages)
      if (const auto* pp = std::get_if<push_pull_msg>(&msg); pp && pp->reply) reply = pp;
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(reply->members.size(), 2u);
  EXPECT_TRUE(reply->digests.empty());
  EXPECT_TRUE(reply->want.empty());
  m.advance();
  auto next_request = [&]() -> std::optional<push_pull_msg> {
    for (int t = 0; t < 2000; ++t) {
      m.tick();
      for (const auto& p : m.ready().packets)
        for (const auto& msg : p.env.messages)
          if (const auto* pp = std::get_if<push_pull_msg>(&msg); pp && !pp->reply && p.to_addr == addr_of(2)) {
            auto found = *pp;
            m.advance();
            return found;
          }
      m.advance();
    }
    return std::nullopt;
  };
  auto request = next_request();
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->members.size(), 2u);
  EXPECT_TRUE(request->digests.empty());
  EXPECT_TRUE(request->compact) << "so that an upgraded peer answers compactly";
  // Upgraded, the peer speaks compact: our requests to it are compact again.
  m.step(from(2, {push_pull_msg{false, true, {}, {digest(1), digest(2)}, true, {}}}));
  m.advance();
  request = next_request();
  ASSERT_TRUE(request.has_value());
  EXPECT_TRUE(request->members.empty());
  EXPECT_EQ(request->digests.size(), 2u);
}

// A digest that claims a suspicion about a member we hold at the same identity is merged like the
// full record; one about another identity needs the full record, which identity.cc judges.
TEST(Membership, DigestsOfSuspicionsAreMergedAndOtherIdentitiesAskedFor) {
  auto m = with_meta(1);
  m.step(from(2, {alive_msg{node_id{2}, incarnation{3}, "uuid-2", addr_of(2), meta_of(2)}}));
  m.step(from(4, {alive_msg{node_id{4}, incarnation{0}, "uuid-4", addr_of(4), meta_of(4)}}));
  m.advance();
  auto suspect = digest(2, 3);
  suspect.state = member_state::suspect;
  auto impostor = digest(4, 9);
  impostor.identity = identity_digest("other", "10.9.9.9:7946");
  m.step(from(3, {push_pull_msg{false, false, {record(3)}, {suspect, impostor}, true, {}}}));
  EXPECT_EQ(m.find(node_id{2})->state, member_state::suspect);
  EXPECT_EQ(m.find(node_id{2})->meta, meta_of(2));
  EXPECT_EQ(m.find(node_id{4})->inc.value, 0u);
  const push_pull_msg* reply = nullptr;
  for (const auto& p : m.ready().packets)
    for (const auto& msg : p.env.messages)
      if (const auto* pp = std::get_if<push_pull_msg>(&msg); pp && pp->reply) reply = pp;
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(reply->want, (std::vector<node_id>{node_id{4}}));
}

}  // namespace
}  // namespace chronik::gossip
