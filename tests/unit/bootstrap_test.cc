// One test per bootstrap rule (docs/bootstrap.md R1-R8), driving a single coordinator with
// hand-made gossip views.
#include <gtest/gtest.h>

#include "metadata/core/bootstrap.h"
#include "metadata/core/formation_codec.h"

namespace chronik::metadata {
namespace {

using kind = formation::kind;

node_ref ref(std::uint32_t id) { return {node_id{id}, "u" + std::to_string(id)}; }

peer_view fresh(std::uint32_t id, std::uint32_t expect = 3) { return {ref(id), true, false, expect, {}}; }

peer_view with(peer_view p, formation f) {
  p.state = std::move(f);
  return p;
}

formation proposal(std::uint32_t founder, std::string cluster, std::vector<std::uint32_t> voters, std::uint64_t round = 1) {
  formation f{kind::promised, ref(founder), std::move(cluster), {}, round};
  for (auto v : voters) f.voters.push_back(ref(v));
  return f;
}

formation member(std::string cluster, std::vector<std::uint32_t> voters) {
  formation f{kind::member, {}, std::move(cluster), {}, 0};
  for (auto v : voters) f.voters.push_back(ref(v));
  return f;
}

bootstrap make(std::uint32_t self, formation restored = {}) {
  bootstrap_config cfg{3, 5, 50};
  return bootstrap(cfg, ref(self), std::move(restored), [] { return std::string("new-cluster"); });
}

void settle(bootstrap& b, const std::vector<peer_view>& view, int ticks) {
  b.observe(view);
  for (int i = 0; i < ticks; ++i) b.tick();
}

TEST(Bootstrap, R1LowestFoundsAfterStableWindowOnly) {
  auto b = make(1);
  b.advance();
  b.observe({fresh(2), fresh(3)});
  EXPECT_EQ(b.state().state, kind::fresh);  // the window has not passed
  settle(b, {fresh(2), fresh(3)}, 10);
  ASSERT_EQ(b.state().state, kind::promised);
  EXPECT_EQ(b.state().founder, ref(1));
  EXPECT_EQ(b.state().voters, (std::vector<node_ref>{ref(1), ref(2), ref(3)}));
  EXPECT_FALSE(b.ready().persist.has_value());  // a founder does not persist its own proposal
}

TEST(Bootstrap, R1NotLowestOrTooFewOrOthersFormingMeansNoFounding) {
  auto b2 = make(2);
  settle(b2, {fresh(1), fresh(3)}, 20);
  EXPECT_EQ(b2.state().state, kind::fresh);
  auto few = make(1);
  settle(few, {fresh(2)}, 20);
  EXPECT_EQ(few.state().state, kind::fresh);
  auto busy = make(1);
  settle(busy, {fresh(2), fresh(3), fresh(4), with(fresh(5), proposal(5, "c", {5, 6, 7}))}, 20);
  EXPECT_EQ(busy.state().state, kind::fresh);
  auto other_expect = make(1);
  settle(other_expect, {fresh(2, 5), fresh(3, 5)}, 20);  // different bootstrap_expect: not counted
  EXPECT_EQ(other_expect.state().state, kind::fresh);
}

TEST(Bootstrap, R2PromiseIsPersistedAndOnlyToTheLowest) {
  auto b = make(2);
  b.advance();
  b.observe({with(fresh(1), proposal(1, "c", {1, 2, 3})), fresh(3)});
  ASSERT_EQ(b.state().state, kind::promised);
  ASSERT_TRUE(b.ready().persist.has_value());
  EXPECT_EQ(b.ready().persist->cluster_id, "c");
  // A voter that sees a lower fresh node than the founder refuses.
  auto c = make(3);
  c.observe({with(fresh(2), proposal(2, "c", {2, 3, 4})), fresh(1), fresh(4)});
  EXPECT_EQ(c.state().state, kind::fresh);
  // ... or a lower founder whose proposal leaves it out.
  auto d = make(4);
  d.observe({with(fresh(2), proposal(2, "c2", {2, 4, 5})), with(fresh(1), proposal(1, "c1", {1, 3, 6})), fresh(5)});
  EXPECT_EQ(d.state().state, kind::fresh);
}

TEST(Bootstrap, R3CommitWithEveryPromiseAndR4WithdrawOnTimeout) {
  auto b = make(1);
  settle(b, {fresh(2), fresh(3)}, 10);
  ASSERT_EQ(b.state().state, kind::promised);
  const std::string c = b.state().cluster_id;
  b.advance();
  settle(b, {with(fresh(2), proposal(1, c, {1, 2, 3})), fresh(3)}, 1);
  EXPECT_EQ(b.state().state, kind::promised);  // one promise missing
  settle(b, {with(fresh(2), proposal(1, c, {1, 2, 3})), with(fresh(3), proposal(1, c, {1, 2, 3}))}, 1);
  ASSERT_EQ(b.state().state, kind::member);
  EXPECT_TRUE(b.ready().start_group);
  EXPECT_TRUE(b.ready().persist.has_value());

  auto w = make(1);
  settle(w, {fresh(2), fresh(3)}, 10);
  ASSERT_EQ(w.state().state, kind::promised);
  settle(w, {with(fresh(2), proposal(1, w.state().cluster_id, {1, 2, 3})), fresh(3)}, 60);
  EXPECT_EQ(w.state().state, kind::fresh);  // withdrew after the promise timeout
}

TEST(Bootstrap, R5ReleaseOnlyOnOutcomeOrConfirmedDeath) {
  auto b = make(2, proposal(1, "c", {1, 2, 3}));
  auto founder = with(fresh(1), proposal(1, "c", {1, 2, 3}));
  founder.alive = true;
  settle(b, {founder, fresh(3)}, 5);
  EXPECT_EQ(b.state().state, kind::promised);
  auto suspect = founder;  // suspect counts as alive: keep holding
  settle(b, {suspect, fresh(3)}, 5);
  EXPECT_EQ(b.state().state, kind::promised);
  auto dead = founder;
  dead.alive = false;
  dead.dead = true;
  b.advance();
  settle(b, {dead, fresh(3)}, 1);
  EXPECT_EQ(b.state().state, kind::fresh);
  EXPECT_TRUE(b.ready().persist.has_value());  // the release is durable too
  auto withdrawn = make(2, proposal(1, "c", {1, 2, 3}));
  settle(withdrawn, {fresh(1), fresh(3)}, 1);
  EXPECT_EQ(withdrawn.state().state, kind::fresh);
}

TEST(Bootstrap, R6AdoptFromAnyMemberOfThePromisedCluster) {
  auto b = make(3, proposal(1, "c", {1, 2, 3}));
  b.advance();
  auto dead_founder = fresh(1);
  dead_founder.alive = false;
  dead_founder.dead = true;
  settle(b, {dead_founder, with(fresh(2), member("c", {1, 2, 3}))}, 1);
  ASSERT_EQ(b.state().state, kind::member);
  EXPECT_TRUE(b.ready().start_group);
  // A fresh node never adopts, even when listed: it joins through the cluster instead (R7).
  auto f = make(3);
  f.advance();
  settle(f, {with(fresh(2), member("c", {1, 2, 3}))}, 1);
  EXPECT_EQ(f.state().state, kind::fresh);
  EXPECT_EQ(f.ready().join, std::optional<std::string>("c"));
}

TEST(Bootstrap, R7JoinFirstAndNeverFoundWhileAClusterIsInSight) {
  auto b = make(1);
  b.advance();
  settle(b, {fresh(2), fresh(3), with(fresh(9), member("c", {7, 8, 9}))}, 20);
  EXPECT_EQ(b.state().state, kind::fresh);
  // The join was asked once; the cluster disappearing (abandoned) frees the node to found.
  settle(b, {fresh(2), fresh(3)}, 20);
  EXPECT_EQ(b.state().state, kind::promised);
}

TEST(Bootstrap, R8AbandonOnlyWhenNoQuorumCanHold) {
  auto b = make(1, member("c", {1, 2, 3}));
  EXPECT_TRUE(b.ready().start_group);  // a member restarts into its cluster (property 3)
  b.advance();
  settle(b, {with(fresh(2), proposal(1, "c", {1, 2, 3})), fresh(3)}, 1);
  EXPECT_EQ(b.state().state, kind::member);  // node 2 still holds c: a quorum can still form
  settle(b, {fresh(2), fresh(3)}, 1);
  ASSERT_EQ(b.state().state, kind::fresh);
  EXPECT_TRUE(b.ready().abandon_group);
  // Voters out of sight are assumed to hold it.
  auto unseen = make(1, member("c", {1, 2, 3}));
  settle(unseen, {fresh(2)}, 5);
  EXPECT_EQ(unseen.state().state, kind::member);
}

TEST(FormationCodec, RoundTripAndRejectsGarbage) {
  for (const formation& f : {formation{}, proposal(3, "abc", {3, 4, 5}, 7), member("xyz", {1, 2}), member("j", {})}) {
    auto back = decode_formation(encode_formation(f));
    ASSERT_TRUE(back.has_value()) << encode_formation(f);
    EXPECT_EQ(*back, f);
  }
  for (const std::string bad : {"", "promised", "promised x c 1 1/u", "member", "member c 1/u,junk", "zzz"})
    EXPECT_FALSE(decode_formation(bad).has_value()) << bad;
}

}  // namespace
}  // namespace chronik::metadata
