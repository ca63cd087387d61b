// Scenario tests of single membership rules, driving one or two cores by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "gossip/core/membership.h"
#include "tests/unit/membership_test_util.h"

namespace chronik::gossip {
namespace {

using namespace test;

TEST(Membership, SuspicionOfSelfIsRefutedWithHigherIncarnation) {
  auto m = make(1);
  m.step(from(2, {suspect_msg{node_id{1}, incarnation{0}, node_id{2}}}));
  EXPECT_EQ(m.self().inc.value, 1u);
  EXPECT_EQ(m.self().state, member_state::alive);
  EXPECT_EQ(m.stats().refutations, 1u);
  m.step(from(2, {dead_msg{node_id{1}, incarnation{5}, node_id{2}}}));
  EXPECT_EQ(m.self().inc.value, 6u);
  // A stale accusation changes nothing.
  m.step(from(2, {suspect_msg{node_id{1}, incarnation{2}, node_id{2}}}));
  EXPECT_EQ(m.self().inc.value, 6u);
}

TEST(Membership, OlderIncarnationsAreIgnored) {
  auto m = make(1);
  m.step(from(2, {alive(2, 3)}));
  m.step(from(3, {suspect_msg{node_id{2}, incarnation{2}, node_id{3}}}));
  EXPECT_EQ(m.find(node_id{2})->state, member_state::alive);
  m.step(from(3, {suspect_msg{node_id{2}, incarnation{3}, node_id{3}}}));
  EXPECT_EQ(m.find(node_id{2})->state, member_state::suspect);
  m.step(from(2, {alive(2, 3)}));  // same incarnation does not clear suspicion
  EXPECT_EQ(m.find(node_id{2})->state, member_state::suspect);
  m.step(from(2, {alive(2, 4)}));
  EXPECT_EQ(m.find(node_id{2})->state, member_state::alive);
}

TEST(Membership, DeadFromSelfMeansLeft) {
  auto m = make(1);
  m.step(from(2, {alive(2, 0)}));
  m.step(from(2, {dead_msg{node_id{2}, incarnation{0}, node_id{2}}}));
  EXPECT_EQ(m.find(node_id{2})->state, member_state::left);
}

TEST(Membership, ForeignClusterIsIgnored) {
  auto m = make(1, {"10.0.0.2:7946"});
  m.step(from(2, {alive(2, 0)}, "other"));
  EXPECT_FALSE(m.find(node_id{2}).has_value());
  EXPECT_EQ(m.stats().envelopes_foreign_cluster, 1u);
  EXPECT_FALSE(m.joined());  // another cluster's answer is not a join
}

TEST(Membership, RestartedNodeWithNewUuidTakesOverDeadEntry) {
  auto m = make(1);
  m.step(from(2, {alive(2, 4)}));
  m.step(from(3, {dead_msg{node_id{2}, incarnation{4}, node_id{3}}}));
  ASSERT_EQ(m.find(node_id{2})->state, member_state::dead);
  m.step(from(2, {alive(2, 4, "new-uuid")}));
  EXPECT_EQ(m.find(node_id{2})->state, member_state::alive);
  EXPECT_EQ(m.find(node_id{2})->uuid, "new-uuid");
  // The old identity at the same incarnation cannot come back.
  m.step(from(3, {alive(2, 4)}));
  EXPECT_EQ(m.find(node_id{2})->uuid, "new-uuid");
}

TEST(Membership, JoinRetriesSeedsWithBackoffUntilAnswered) {
  auto m = make(1, {"10.0.0.2:7946", "10.0.0.1:7946"});  // own address is dropped from the seeds
  std::vector<tick_count> sends;
  for (int t = 0; t < 300; ++t) {
    m.tick();
    for (const auto& p : m.ready().packets)
      if (p.via == transport::stream) {
        EXPECT_EQ(p.to_addr, "10.0.0.2:7946");
        sends.push_back(m.now());
      }
    m.advance();
  }
  ASSERT_GE(sends.size(), 3u);
  EXPECT_LT(sends[1] - sends[0], sends[2] - sends[1]);  // backoff grows
  EXPECT_FALSE(m.joined());
  m.step(from(2, {push_pull_msg{false, true, {{node_id{2}, incarnation{0}, member_state::alive, "uuid-2", "10.0.0.2:7946", ""}}}}));
  EXPECT_TRUE(m.joined());
  EXPECT_EQ(m.alive_count(), 2u);
}

TEST(Membership, DatagramsStayWithinSizeLimit) {
  auto m = make(1);
  for (std::uint32_t id = 2; id < 60; ++id) {
    auto a = alive(id, 0);
    a.meta = std::string(400, 'x');
    m.step(from(id, {a}));
  }
  for (int t = 0; t < 200; ++t) {
    m.tick();
    for (const auto& p : m.ready().packets) {
      if (p.via != transport::datagram) continue;
      std::size_t size = envelope_overhead_bound(p.env);
      for (const auto& msg : p.env.messages) size += encoded_size_bound(msg);
      EXPECT_LE(size, 1400u);
    }
    m.advance();
  }
}

TEST(Membership, LeaveWithOnePeerIsSentBeforeDone) {
  auto m = make(1);
  m.step(from(2, {alive(2, 0)}));
  m.leave();
  EXPECT_FALSE(m.leave_broadcast_done());  // the one peer has not been told yet
}

TEST(Membership, LeaveAloneIsDoneAtOnce) {
  auto m = make(1);
  m.leave();
  EXPECT_TRUE(m.leave_broadcast_done());
}

TEST(Membership, LeaveStopsAfterBroadcast) {
  auto m = make(1);
  m.step(from(2, {alive(2, 0)}));
  m.step(from(3, {alive(3, 0)}));
  m.leave();
  EXPECT_EQ(m.self().state, member_state::left);
  EXPECT_FALSE(m.leave_broadcast_done());
  bool sent_leave = false;
  for (int t = 0; t < 500 && !m.leave_broadcast_done(); ++t) {
    m.tick();
    for (const auto& p : m.ready().packets)
      for (const auto& msg : p.env.messages)
        if (auto* d = std::get_if<dead_msg>(&msg); d && d->node == node_id{1} && d->from == node_id{1}) sent_leave = true;
    m.advance();
  }
  EXPECT_TRUE(sent_leave);
  EXPECT_TRUE(m.leave_broadcast_done());
  // A leaving node does not refute.
  m.step(from(2, {dead_msg{node_id{1}, incarnation{0}, node_id{2}}}));
  EXPECT_EQ(m.self().state, member_state::left);
}


// --- probes that bounce (ICMP port unreachable, see membership::refused) ---------------------------


// Ticks until the core pings someone; returns that ping and leaves the core advanced.
std::optional<ping_msg> tick_until_ping(membership& m) {
  for (int t = 0; t < 1000; ++t) {
    m.tick();
    for (const auto& p : m.ready().packets)
      for (const auto& msg : p.env.messages)
        if (auto* ping = std::get_if<ping_msg>(&msg)) {
          const ping_msg found = *ping;
          m.advance();
          return found;
        }
    m.advance();
  }
  return std::nullopt;
}

// The ping-reqs in the current ready batch: relay address -> the seq they carry.
std::map<std::string, std::uint32_t> indirect_pings(const membership& m) {
  std::map<std::string, std::uint32_t> out;
  for (const auto& p : m.ready().packets)
    for (const auto& msg : p.env.messages)
      if (auto* ip = std::get_if<indirect_ping_msg>(&msg)) out[p.to_addr] = ip->seq;
  return out;
}

membership with_peers(std::uint32_t self, std::vector<std::uint32_t> peers) {
  auto m = make(self);
  for (auto id : peers) m.step(from(id, {alive(id, 0)}));
  m.advance();
  return m;
}

TEST(Membership, BouncedProbeAsksRelaysAtOnceAndFailsWhenAllNack) {
  auto m = with_peers(1, {2, 3, 4});
  auto ping = tick_until_ping(m);
  ASSERT_TRUE(ping);
  EXPECT_EQ(m.stats().probes_started, 1u);  // counted for /metrics (chronik_gossip_probes_total)
  const tick_count started = m.now();
  m.refused(addr_of(9));  // a bounce from elsewhere is not about this probe
  EXPECT_TRUE(indirect_pings(m).empty());
  m.refused(addr_of(ping->target.value()));
  const auto relays = indirect_pings(m);
  ASSERT_EQ(relays.size(), 2u);  // the other two members, without waiting for probe_timeout
  m.advance();
  for (const auto& [relay_addr, seq] : relays) {
    EXPECT_EQ(m.find(ping->target)->state, member_state::alive);  // not while a path may work
    const auto relay = static_cast<std::uint32_t>(relay_addr[7] - '0');
    m.step(from(relay, {nack_msg{seq}}));
  }
  EXPECT_EQ(m.now(), started);  // no tick needed: every path has failed
  EXPECT_EQ(m.find(ping->target)->state, member_state::suspect);
  EXPECT_EQ(m.stats().probes_refused, 1u);
  EXPECT_EQ(m.awareness_score(), 0u);  // both the bounce and the nacks prove our own links work
}

TEST(Membership, BouncedProbeSucceedsThroughARelayThatReachesTheTarget) {
  auto m = with_peers(1, {2, 3, 4});
  auto ping = tick_until_ping(m);
  ASSERT_TRUE(ping);
  m.refused(addr_of(ping->target.value()));  // e.g. a firewall REJECT rule on our link only
  const auto relays = indirect_pings(m);
  ASSERT_FALSE(relays.empty());
  m.advance();
  const auto& [relay_addr, seq] = *relays.begin();
  m.step(from(static_cast<std::uint32_t>(relay_addr[7] - '0'), {ack_msg{seq}}));
  for (int t = 0; t < 300; ++t) {
    m.tick();
    m.advance();
  }
  EXPECT_EQ(m.find(ping->target)->state, member_state::alive);
  EXPECT_EQ(m.stats().probes_refused, 0u);
}

TEST(Membership, RelayWhosePingBouncesNacksAtOnce) {
  auto m = with_peers(1, {2, 3});
  m.step(from(2, {indirect_ping_msg{77, node_id{3}, addr_of(3), true}}));
  m.advance();
  m.refused(addr_of(3));
  bool nacked = false;
  for (const auto& p : m.ready().packets)
    for (const auto& msg : p.env.messages)
      if (auto* n = std::get_if<nack_msg>(&msg); n && n->seq == 77 && p.to_addr == addr_of(2)) nacked = true;
  EXPECT_TRUE(nacked);
  m.advance();
  m.refused(addr_of(3));  // the relay is over: a second bounce sends nothing
  EXPECT_FALSE(m.has_ready());
}

// --- incarnations never wrap (docs/gossip.md "Values that cannot wrap") ---------------------------

constexpr std::uint64_t top = std::numeric_limits<std::uint64_t>::max();

// The reported eviction: a dead claim at 2^64 - 1 about a live member. Before the ceiling the
// member's refutation (2^64 - 1) + 1 wrapped to 0 and was ignored everywhere, for good.
TEST(Membership, ClaimsPastTheCeilingAreDroppedAndCounted) {
  auto m = make(1);
  m.step(from(2, {alive(2, 3)}));
  m.step(from(3, {dead_msg{node_id{2}, incarnation{top}, node_id{3}}}));
  m.step(from(3, {suspect_msg{node_id{2}, incarnation{top}, node_id{3}}}));
  m.step(from(3, {alive(2, max_incarnation + 1, "impostor")}));
  EXPECT_EQ(m.find(node_id{2})->state, member_state::alive);
  EXPECT_EQ(m.find(node_id{2})->inc.value, 3u);
  EXPECT_EQ(m.find(node_id{2})->uuid, "uuid-2");
  EXPECT_EQ(m.stats().declared_dead, 0u);
  EXPECT_EQ(m.stats().incarnations_out_of_range, 3u);

  // In a push-pull only the bad record goes; the rest of the state still merges.
  m.step(from(3, {push_pull_msg{false, true,
                                {{node_id{2}, incarnation{top}, member_state::dead, "", "", ""},
                                 {node_id{4}, incarnation{0}, member_state::alive, "uuid-4", addr_of(4), ""}}}}));
  EXPECT_EQ(m.find(node_id{2})->state, member_state::alive);
  ASSERT_TRUE(m.find(node_id{4}).has_value());
  EXPECT_EQ(m.stats().incarnations_out_of_range, 4u);
}

// The accused side: a claim about ourselves past the ceiling is not refuted (the refutation
// would wrap) but dropped; our incarnation stays where it was.
TEST(Membership, AccusationOfSelfPastTheCeilingIsDropped) {
  auto m = make(1);
  m.step(from(2, {dead_msg{node_id{1}, incarnation{top}, node_id{2}}}));
  m.step(from(2, {push_pull_msg{false, true, {{node_id{1}, incarnation{top}, member_state::suspect, "", "", ""}}}}));
  m.step(from(2, {alive(1, top, "impostor")}));
  EXPECT_EQ(m.self().inc.value, 0u);
  EXPECT_EQ(m.self().state, member_state::alive);
  EXPECT_EQ(m.stats().refutations, 0u);
  EXPECT_EQ(m.stats().incarnations_out_of_range, 3u);
}

// The boundary: an accusation just below the ceiling is refuted at the ceiling, and that alive is
// accepted; an accusation of another member at the ceiling, which it could not refute, is dropped.
// One of ourselves at the ceiling is answered with our alive there, which overrides it.
TEST(Membership, RefutationAtTheCeilingIsAccepted) {
  auto accused = make(1);
  accused.step(from(2, {suspect_msg{node_id{1}, incarnation{max_incarnation - 1}, node_id{2}}}));
  EXPECT_EQ(accused.self().inc.value, max_incarnation);
  EXPECT_EQ(accused.stats().refutations, 1u);
  accused.advance();
  accused.step(from(2, {dead_msg{node_id{1}, incarnation{max_incarnation}, node_id{2}}}));
  EXPECT_EQ(accused.self().inc.value, max_incarnation);
  EXPECT_EQ(accused.stats().refutations, 1u);
  EXPECT_EQ(accused.stats().incarnations_out_of_range, 0u);
  bool answered = false;
  for (const auto& p : accused.ready().packets)
    for (const auto& msg : p.env.messages)
      if (auto* a = std::get_if<alive_msg>(&msg); a && a->node == node_id{1} && p.to_addr == addr_of(2))
        answered = a->inc.value == max_incarnation;
  EXPECT_TRUE(answered);
  // Nothing outbids the ceiling, and nothing tries to: no refutation, no abort.
  accused.step(from(2, {alive(1, max_incarnation, "impostor")}));
  EXPECT_EQ(accused.self().inc.value, max_incarnation);
  accused.set_meta("new");
  EXPECT_EQ(accused.self().inc.value, max_incarnation);

  auto peer = make(2);
  peer.step(from(1, {alive(1, 5)}));
  peer.step(from(3, {suspect_msg{node_id{1}, incarnation{max_incarnation - 1}, node_id{3}}}));
  ASSERT_EQ(peer.find(node_id{1})->state, member_state::suspect);
  peer.step(from(1, {alive(1, max_incarnation)}));
  EXPECT_EQ(peer.find(node_id{1})->state, member_state::alive);
  EXPECT_EQ(peer.find(node_id{1})->inc.value, max_incarnation);
  peer.step(from(3, {suspect_msg{node_id{1}, incarnation{max_incarnation}, node_id{3}}}));
  EXPECT_EQ(peer.find(node_id{1})->state, member_state::alive);
  EXPECT_EQ(peer.stats().incarnations_out_of_range, 1u);
}

// A restart after a peer's own probes declared us dead at the ceiling: the join's push-pull
// carries that dead record about ourselves, which a restart at incarnation 0 must not ignore.
TEST(Membership, RestartLearnsItWasDeadAtTheCeiling) {
  auto back = make(1);
  back.step(from(2, {push_pull_msg{false, true, {{node_id{1}, incarnation{max_incarnation}, member_state::dead, "uuid-1", addr_of(1), ""}}}}));
  EXPECT_EQ(back.self().inc.value, max_incarnation);
  EXPECT_EQ(back.stats().incarnations_out_of_range, 0u);
}

// Restarts: a node comes back at incarnation 0 with the uuid and address it had. Below the
// ceiling it outbids the entry its peers hold; at the ceiling, where a peer's own probes have
// declared it dead, its alive at the same incarnation takes the entry back.
TEST(Membership, RestartedNodeComesBackEvenAtTheCeiling) {
  auto restarted = make(1);
  restarted.step(from(2, {push_pull_msg{false, true, {{node_id{1}, incarnation{7}, member_state::alive, "uuid-1", addr_of(1), ""}}}}));
  EXPECT_EQ(restarted.self().inc.value, 8u);

  auto peer = make(2);
  peer.step(from(1, {alive(1, max_incarnation)}));
  peer.advance();
  // Node 1 is down: it answers no probe, so node 2 suspects it and then declares it dead.
  for (int t = 0; t < 20000 && peer.find(node_id{1})->state != member_state::dead; ++t) {
    peer.tick();
    peer.advance();
  }
  ASSERT_EQ(peer.find(node_id{1})->state, member_state::dead);
  EXPECT_EQ(peer.find(node_id{1})->inc.value, max_incarnation);

  auto back = make(1);
  back.step(from(2, {push_pull_msg{false, true, {{node_id{1}, incarnation{max_incarnation}, member_state::alive, "uuid-1", addr_of(1), ""}}}}));
  EXPECT_EQ(back.self().inc.value, max_incarnation);
  EXPECT_EQ(back.stats().refutations, 0u);
  peer.step(from(1, {alive(1, back.self().inc.value)}));
  EXPECT_EQ(peer.find(node_id{1})->state, member_state::alive);
}


// --- One holder per node id (docs/bootstrap.md property 7) -------------------------------------

constexpr const char* impostor_addr = "10.0.0.9:7946";

membership make_impostor(std::uint32_t id, std::vector<std::string> seeds, bool replace_dead_holder = false) {
  self_identity self{node_id{id}, "impostor", impostor_addr, "", "c", replace_dead_holder};
  return membership(test_config(), self, std::move(seeds), 99);
}

// Delivers every packet `src` has ready for `dst_addr` to `dst`, then clears src's ready.
void deliver(membership& src, membership& dst, const std::string& dst_addr) {
  for (const auto& p : src.ready().packets)
    if (p.to_addr == dst_addr) dst.step(p.env);
  src.advance();
}

// The scenario: a 4th process started with the id of a live member and a fresh data
// directory. The member it joins through keeps the holder, and its answer makes the newcomer
// yield at once, without a single refutation on either side.
TEST(Membership, JoinerClaimingTheIdOfALiveMemberYields) {
  auto holder = make(2);
  auto member1 = make(1);
  member1.step(from(2, {alive(2, 3)}));
  member1.advance();
  auto impostor = make_impostor(2, {addr_of(1)});
  for (int t = 0; t < 10 && impostor.ready().packets.empty(); ++t) impostor.tick();
  deliver(impostor, member1, addr_of(1));  // the join push-pull
  EXPECT_EQ(member1.find(node_id{2})->uuid, "uuid-2");
  EXPECT_EQ(member1.find(node_id{2})->addr, addr_of(2));
  EXPECT_EQ(member1.find(node_id{2})->inc.value, 3u);
  EXPECT_GE(member1.stats().identity_conflicts, 1u);

  deliver(member1, impostor, impostor_addr);  // the answer carries the holder's entry
  ASSERT_TRUE(impostor.conflict().has_value());
  EXPECT_EQ(impostor.conflict()->holder_uuid, "uuid-2");
  EXPECT_EQ(impostor.conflict()->holder_addr, addr_of(2));
  EXPECT_EQ(impostor.conflict()->reported_by, node_id{1});
  EXPECT_EQ(impostor.self().inc.value, 0u);
  EXPECT_EQ(impostor.stats().refutations, 0u);
  EXPECT_FALSE(impostor.has_ready());
  // Silent from then on, and above all no leave, which would speak for the holder's id.
  impostor.leave();
  for (int t = 0; t < 500; ++t) impostor.tick();
  EXPECT_FALSE(impostor.has_ready());
  EXPECT_TRUE(impostor.leave_broadcast_done());
  EXPECT_EQ(holder.self().inc.value, 0u);
}

// The claimant's own word proves nothing: a holder hearing its id claimed by another identity
// at any incarnation neither refutes nor yields, and a member holding it live ignores the claim
// and tells the claimant who holds the id.
TEST(Membership, ClaimsOfALiveIdByAnotherIdentityAreIgnored) {
  const envelope from_impostor{"c", node_id{2}, impostor_addr,
                               {alive_msg{node_id{2}, incarnation{50}, "impostor", impostor_addr, ""},
                                push_pull_msg{false, false, {{node_id{2}, incarnation{50}, member_state::alive, "impostor", impostor_addr, ""}}}}};
  auto holder = make(2);
  holder.step(from_impostor);
  EXPECT_EQ(holder.self().inc.value, 0u);
  EXPECT_EQ(holder.self().uuid, "uuid-2");
  EXPECT_FALSE(holder.conflict().has_value());
  EXPECT_EQ(holder.stats().refutations, 0u);
  EXPECT_EQ(holder.stats().identity_conflicts, 2u);

  auto member1 = make(1);
  member1.step(from(2, {alive(2, 3)}));
  member1.step(from(3, {suspect_msg{node_id{2}, incarnation{3}, node_id{3}}}));
  ASSERT_EQ(member1.find(node_id{2})->state, member_state::suspect);  // suspect is still live
  member1.advance();
  member1.step(from_impostor);
  EXPECT_EQ(member1.find(node_id{2})->uuid, "uuid-2");
  EXPECT_EQ(member1.find(node_id{2})->inc.value, 3u);
  bool told = false;
  for (const auto& p : member1.ready().packets)
    for (const auto& msg : p.env.messages)
      if (auto* a = std::get_if<alive_msg>(&msg); a && p.to_addr == impostor_addr && a->node == node_id{2})
        told = told || a->uuid == "uuid-2";
  EXPECT_TRUE(told);
}

// Taking over a dead holder's id is the operator's act (--replace-node), never a side effect: a
// new identity at another address that was not asked to yields to the dead entry as to a live one.
TEST(Membership, WithoutReplaceNodeANewIdentityYieldsToADeadHolder) {
  auto member1 = make(1);
  member1.step(from(2, {alive(2, 4)}));
  member1.step(from(3, {dead_msg{node_id{2}, incarnation{4}, node_id{3}}}));
  ASSERT_EQ(member1.find(node_id{2})->state, member_state::dead);
  member1.advance();
  auto copied = make_impostor(2, {addr_of(1)});
  for (int t = 0; t < 10 && copied.ready().packets.empty(); ++t) copied.tick();
  deliver(copied, member1, addr_of(1));
  deliver(member1, copied, impostor_addr);
  ASSERT_TRUE(copied.conflict().has_value());
  EXPECT_EQ(copied.conflict()->holder_state, member_state::dead);
  EXPECT_EQ(copied.conflict()->holder_uuid, "uuid-2");
  EXPECT_EQ(copied.self().inc.value, 0u) << "it never outbid the dead entry";
  EXPECT_EQ(member1.find(node_id{2})->state, member_state::dead);
  EXPECT_EQ(member1.find(node_id{2})->uuid, "uuid-2");
}

// A wiped node restarted at another address with --replace-node, after its old holder died: the
// dead entry in the join's answer is outbid (SWIM §4.2), and members accept the new identity. A
// stale alive of the old holder below the new incarnation does not make it yield.
TEST(Membership, NewIdentityTakesOverTheIdOfADeadHolder) {
  auto member1 = make(1);
  member1.step(from(2, {alive(2, 4)}));
  member1.step(from(3, {dead_msg{node_id{2}, incarnation{4}, node_id{3}}}));
  ASSERT_EQ(member1.find(node_id{2})->state, member_state::dead);
  member1.advance();
  auto wiped = make_impostor(2, {addr_of(1)}, true);
  for (int t = 0; t < 10 && wiped.ready().packets.empty(); ++t) wiped.tick();
  deliver(wiped, member1, addr_of(1));
  EXPECT_EQ(member1.find(node_id{2})->state, member_state::dead);  // incarnation 0 < 4
  deliver(member1, wiped, impostor_addr);
  EXPECT_FALSE(wiped.conflict().has_value());
  EXPECT_EQ(wiped.self().inc.value, 5u);
  deliver(wiped, member1, addr_of(1));
  EXPECT_EQ(member1.find(node_id{2})->state, member_state::alive);
  EXPECT_EQ(member1.find(node_id{2})->uuid, "impostor");

  wiped.step(from(3, {alive(2, 4)}));
  EXPECT_FALSE(wiped.conflict().has_value());
  // The old holder alive again at a newer incarnation (it was only paused) holds the id in
  // node 3's view: the newcomer yields rather than outbid it.
  wiped.step(from(3, {push_pull_msg{false, true, {{node_id{2}, incarnation{6}, member_state::alive, "uuid-2", addr_of(2), ""}}}}));
  EXPECT_TRUE(wiped.conflict().has_value());
}

// The ticks at which m starts a full sync of its own (a push-pull that is not a reply).
std::vector<tick_count> own_syncs(membership& m, int ticks) {
  std::vector<tick_count> at;
  for (int t = 0; t <= ticks; ++t) {
    if (t > 0) m.tick();
    for (const auto& p : m.ready().packets) {
      for (const auto& msg : p.env.messages) {
        const auto* pp = std::get_if<push_pull_msg>(&msg);
        if (p.via == transport::stream && pp != nullptr && !pp->reply) at.push_back(m.now());
      }
    }
    m.advance();
  }
  return at;
}

// Regression (found by bench/gossip): the full sync that passes on what a push-pull taught us
// used to move the periodic schedule to it. The join cascade teaches every node of a cluster
// started together, so all of them ended up on one phase and pushed and pulled within the same
// second, once per period. A passed-on sync must leave the periodic phase drawn at start alone.
TEST(Membership, PassedOnSyncLeavesThePeriodicPushPullPhase) {
  config cfg = test_config();
  cfg.probe_interval_ms = 600000;  // no probes: nobody turns suspect or dead, so no other syncs
  const tick_count pass_on = cfg.ticks(cfg.gossip_interval_ms);
  const tick_count period = cfg.ticks(cfg.push_pull_interval_ms);
  for (std::uint32_t id = 1; id <= 8; ++id) {
    SCOPED_TRACE("node " + std::to_string(id));
    auto node = [&] {
      self_identity self{node_id{id}, "uuid-" + std::to_string(id), addr_of(id), "", "c"};
      return membership(cfg, self, {}, id);
    };
    // The same node, with the same seed, learns the same two members by gossip (nothing to pass
    // on) or from a push-pull (passed on one gossip interval later).
    auto quiet = node();
    quiet.step(from(20, {alive(21, 0), alive(22, 0)}));
    auto taught = node();
    taught.step(from(20, {push_pull_msg{false, false,
                                        {{node_id{21}, incarnation{0}, member_state::alive, "uuid-21", addr_of(21), ""},
                                         {node_id{22}, incarnation{0}, member_state::alive, "uuid-22", addr_of(22), ""}}}}));
    const auto q = own_syncs(quiet, static_cast<int>(3 * period));
    const auto t = own_syncs(taught, static_cast<int>(3 * period));
    ASSERT_TRUE(std::find(t.begin(), t.end(), pass_on) != t.end()) << "the news was not passed on";
    // After the passed-on sync both keep the phase drawn at start: the same periodic syncs, at
    // the same ticks (before the fix the taught node's came one period after the passed-on one).
    std::vector<tick_count> q_later, t_later;
    std::copy_if(q.begin(), q.end(), std::back_inserter(q_later), [&](tick_count x) { return x > pass_on; });
    std::copy_if(t.begin(), t.end(), std::back_inserter(t_later), [&](tick_count x) { return x > pass_on; });
    EXPECT_GE(q_later.size(), 2u);
    EXPECT_EQ(t_later, q_later);
  }
}

// Regression (gossip_sim AnyStartOrderConverges, seed 64000020, n = 64): a late joiner's alive
// reached 62 of 63 members by gossip and passed-on syncs, but none of its 533 gossiped copies went
// to the last one, which learned of the joiner only at its periodic sync, past the convergence
// bound. Each member gossips our alive retransmit_limit times, to random members, so no member is
// sure to get it; once our own copies are used up, we send it once to every member we hold.
TEST(Membership, JoinerIntroducesItselfToEveryMemberOnceItsOwnGossipIsDone) {
  config cfg = test_config();
  cfg.probe_interval_ms = 600000;  // no probes: the members below never answer
  self_identity self{node_id{1}, "uuid-1", addr_of(1), "", "c"};
  membership joiner(cfg, self, {addr_of(2)}, 1);
  joiner.tick();  // the join request
  joiner.advance();
  push_pull_msg reply{false, true, {}, {}, true, {}};
  std::set<std::string> members;
  for (std::uint32_t id = 2; id <= 21; ++id) {
    reply.members.push_back({node_id{id}, incarnation{0}, member_state::alive, "uuid-" + std::to_string(id), addr_of(id), ""});
    members.insert(addr_of(id));
  }
  joiner.step(from(2, {reply}));
  // The datagrams that carry our alive, per tick.
  std::map<tick_count, std::vector<std::string>> sent;
  for (int t = 0; t < 300; ++t) {
    for (const auto& p : joiner.ready().packets)
      for (const auto& msg : p.env.messages)
        if (const auto* a = std::get_if<alive_msg>(&msg); a && a->node == node_id{1} && p.via == transport::datagram)
          sent[joiner.now()].push_back(p.to_addr);
    joiner.advance();
    joiner.tick();
  }
  ASSERT_FALSE(sent.empty());
  // Gossip: retransmit_limit = 4 * ceil(log10(21 + 1)) = 8 copies in all, so at most 8 of the 20
  // members. Then, once our view has gone four gossip intervals without a new member, the
  // introduction: one datagram to each member, all in one tick, and nothing follows it.
  std::size_t copies = 0;
  for (const auto& [tick, to] : sent) copies += to.size();
  EXPECT_EQ(copies, 8u + members.size());
  const auto intro = std::prev(sent.end());
  EXPECT_EQ(intro->second.size(), members.size());
  EXPECT_EQ(std::set<std::string>(intro->second.begin(), intro->second.end()), members);
  EXPECT_GE(intro->first, 1 + 4 * cfg.ticks(cfg.gossip_interval_ms));  // the reply taught us at tick 1
}

}  // namespace
}  // namespace chronik::gossip
