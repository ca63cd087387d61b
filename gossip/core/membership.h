// The SWIM + Lifeguard membership core: a single-threaded value with no I/O (docs/design.md "Cores
// and shells").
//
// Shell contract:
//  - Call tick() every config::tick_ms of real time, step() for every decoded envelope,
//    refused() for every datagram the network bounced (ICMP port unreachable), and the commands
//    (join_seeds, set_meta, leave) from the same thread.
//  - After any of those, drain ready() and then call advance(). Gossip persists nothing, so the
//    shell simply sends every outbound packet (datagram over UDP, stream over TCP) and delivers
//    the member events; advance() drops them from the core.
//  - The core never blocks and never reads a clock; all randomness comes from the seed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "gossip/core/awareness.h"
#include "gossip/core/broadcast_queue.h"
#include "gossip/core/config.h"
#include "gossip/core/messages.h"
#include "gossip/core/suspicion.h"
#include "base/rng.h"
#include "gossip/core/types.h"

namespace chronik::gossip {

enum class transport : std::uint8_t { datagram, stream };

struct outbound_packet {
  std::string to_addr;
  transport via = transport::datagram;
  envelope env;
};

// A member's entry as the local node sees it.
struct member {
  node_id id;
  std::string uuid;
  std::string addr;
  std::string meta;
  incarnation inc;
  member_state state = member_state::alive;
  tick_count state_changed_at = 0;
};

enum class member_event_kind : std::uint8_t { joined, updated, state_changed, reaped };

struct member_event {
  member_event_kind kind = member_event_kind::joined;
  member who;
};

struct ready_batch {
  std::vector<outbound_packet> packets;
  std::vector<member_event> events;
  bool empty() const { return packets.empty() && events.empty(); }
};

// Counters for /v1/members and the benchmark; they never decide anything.
struct membership_stats {
  std::uint64_t envelopes_foreign_cluster = 0;
  std::uint64_t probes_started = 0;  // direct probes sent (SWIM §3.1), one per probe period
  std::uint64_t probes_failed = 0;
  std::uint64_t probes_refused = 0;  // failed probes that ended early on a port unreachable
  std::uint64_t refutations = 0;
  std::uint64_t suspicions_started = 0;
  std::uint64_t declared_dead = 0;
  // Alive claims past max_incarnation and suspect or dead claims at or past it, dropped unread
  // (one per message or push-pull record; docs/gossip.md "Values that cannot wrap").
  std::uint64_t incarnations_out_of_range = 0;
  // Claims of a live member's node id by another identity (another uuid at another address),
  // ignored: the live holder keeps its id (docs/bootstrap.md property 7).
  std::uint64_t identity_conflicts = 0;
};

// Why this node refused to run: its node id is held by a live member with another identity
// (docs/bootstrap.md property 7). Once set, the core is silent and the shell must exit.
struct id_conflict {
  node_id id;
  std::string holder_uuid;
  std::string holder_addr;
  incarnation holder_inc;
  member_state holder_state = member_state::alive;
  node_id reported_by;  // the member whose view showed the holder
};

struct self_identity {
  node_id id;
  std::string uuid;
  std::string addr;  // "ip:port" gossip address, bound and advertised
  std::string meta;
  std::string cluster;
  // The operator asked this node to take over the id of a dead or departed holder at another
  // address (chronik-server start --replace-node). Without it such a node yields like one that
  // met a live holder: taking an id over is an explicit act (docs/bootstrap.md property 7).
  bool replace_dead_holder = false;
};

class membership {
 public:
  membership(config cfg, self_identity self, std::vector<std::string> seed_addrs,
             std::uint64_t rng_seed, log_sink log = {});

  // --- inputs ---------------------------------------------------------------------------------
  void tick();
  void step(const envelope& env);
  // The network reported that nothing listens at addr: a datagram we sent there came back as an
  // ICMP port unreachable, which the target's own host sends when the process is gone. A probe
  // whose every path has then failed for certain ends at once instead of at its deadline
  // (probe.cc explains why that keeps SWIM's indirect-probe protection).
  void refused(const std::string& addr);

  // --- commands -------------------------------------------------------------------------------
  // Replaces the opaque metadata and announces it with a new incarnation.
  void set_meta(std::string meta);
  // Announces a graceful leave; see leave_broadcast_done().
  void leave();
  // True once the leave message has been sent to gossip_nodes members (or there is nobody left to
  // tell), so the shell may stop.
  bool leave_broadcast_done() const;

  // --- outputs --------------------------------------------------------------------------------
  const ready_batch& ready() const { return ready_; }
  bool has_ready() const { return !ready_.empty(); }
  void advance() { ready_ = {}; }

  // --- queries --------------------------------------------------------------------------------
  std::vector<member> members() const;  // sorted by node id, self included
  std::optional<member> find(node_id id) const;
  std::size_t alive_count() const;  // alive + suspect, self included
  tick_count now() const { return now_; }
  const member& self() const { return members_.at(self_.id); }
  std::uint32_t awareness_score() const { return awareness_.score(); }
  const membership_stats& stats() const { return stats_; }
  bool joined() const { return joined_; }
  // Set when another identity holds our node id and is live in a member's view; then tick, step
  // and leave do nothing, and the shell stops the node without a leave (a leave would speak for
  // the holder's id). Never cleared.
  const std::optional<id_conflict>& conflict() const { return conflict_; }

 private:
  struct probe_state {
    std::uint32_t seq = 0;
    node_id target;
    tick_count started_at = 0;
    tick_count indirect_at = 0;
    tick_count deadline = 0;
    bool indirect_sent = false;
    bool refused = false;  // the direct ping bounced: nobody listens at the target's address
    std::uint32_t expected_nacks = 0;
    std::uint32_t nacks = 0;
  };
  // An indirect probe we run for another member (SWIM §3.1 ping-req relay).
  struct relay_state {
    std::string requester_addr;
    std::string target_addr;
    std::uint32_t requester_seq = 0;
    bool want_nack = false;
    tick_count deadline = 0;
  };

  static bool is_probe(const message& msg);
  // False, counted and logged, for a claim whose incarnation is out of range (see max_incarnation).
  bool incarnation_in_range(node_id about, incarnation inc, member_state claim);
  void dispatch(const envelope& env, const message& msg);

  // members.cc: the state rules (SWIM §4.2 with memberlist's merge semantics). `via` is the
  // envelope the claim came in, when there is one.
  void on_alive(const alive_msg& m, const envelope* via = nullptr);
  // Our own alive claim, as `me` (our entry) stands.
  alive_msg own_alive(const member& me) const {
    return alive_msg{me.id, me.inc, me.uuid, me.addr, me.meta, self_.replace_dead_holder};
  }
  // reply_to: where the claim came from, so an accusation of ourselves is answered directly.
  void on_suspect(const suspect_msg& m, const std::string& reply_to = {});
  void on_dead(const dead_msg& m, const std::string& reply_to = {});
  void merge_remote(const push_pull_msg& m, const envelope& env);  // its full records
  void merge_record(const member_record& r, const envelope& env);
  void refute(incarnation accused);
  void announce_at_ceiling();
  void accused(incarnation inc, const std::string& reply_to);
  void set_state(member& mem, member_state state);
  void check_suspicions();
  void reap();
  void emit(member_event_kind kind, const member& mem);
  void broadcast(message msg, node_id about);

  // identity.cc: one holder per node id (docs/bootstrap.md property 7)
  static bool other_holder(const member& held, const std::string& uuid, const std::string& addr);
  // A claim of our own node id by another identity; decides whether we take the id over, ignore
  // the claim, or yield.
  void claim_of_own_id(const member_record& claim, const envelope& via);
  // A claim of another member's id by another identity while that member is live here: ignored.
  void ignore_claim_of_live_id(const member& holder, const alive_msg& claim, const envelope* via);
  void yield_id(const member_record& holder, node_id reported_by);

  // probe.cc: failure detection (SWIM §3.1, Lifeguard §4)
  void probe_tick();
  void start_probe();
  void send_indirect_probes();
  void finish_probe();
  void on_ping(const envelope& env, const ping_msg& m);
  void on_indirect_ping(const envelope& env, const indirect_ping_msg& m);
  void on_ack(const ack_msg& m);
  void on_nack(const nack_msg& m);
  void relay_tick();
  std::optional<node_id> next_probe_target();

  // push_pull.cc: the state exchange, compact where both sides read it. A request lists full
  // records (with metadata) where the peer is likely to lack some, digests otherwise.
  enum class sync_kind : std::uint8_t { periodic, news, join };
  void send_push_pull(const std::string& addr, sync_kind kind);
  void on_push_pull(const envelope& env, const push_pull_msg& m);
  // Merges what digests can say without their full records; returns the ids whose records we need.
  std::vector<node_id> merge_digests(const push_pull_msg& m, const envelope& env);
  push_pull_msg reply_to(const push_pull_msg& request, std::vector<node_id> want) const;
  push_pull_msg wanted_records(const std::vector<node_id>& want) const;

  // dissemination.cc: piggyback gossip, push-pull, join, a joiner's introduction and reconnect
  void gossip_tick();
  void introduce_tick();
  void push_pull_tick();
  void join_tick();
  void reconnect_tick();
  void sync_with_stranger(const envelope& env);
  void send(const std::string& to, std::vector<message> msgs, transport via = transport::datagram);
  std::vector<message> fill_with_broadcasts(std::vector<message> msgs, std::size_t budget, transmission mode);
  std::vector<node_id> random_members(std::size_t k, node_id exclude, bool include_recent_dead);
  std::uint32_t next_seq() { return ++seq_; }
  std::uint32_t retransmit_limit() const;
  transmission transmission_to(const std::string& addr) const;
  void log(log_level level, const std::string& text) const;

  config cfg_;
  self_identity self_;
  std::vector<std::string> seeds_;
  rng rng_;
  log_sink log_;

  tick_count now_ = 0;
  std::map<node_id, member> members_;
  std::unordered_map<node_id, suspicion> suspicions_;
  broadcast_queue broadcasts_;
  awareness awareness_;
  ready_batch ready_;
  membership_stats stats_;

  std::vector<node_id> probe_order_;
  std::size_t probe_index_ = 0;
  std::optional<probe_state> probe_;
  tick_count next_probe_at_ = 0;
  std::unordered_map<std::uint32_t, relay_state> relays_;
  std::uint32_t seq_ = 0;

  tick_count next_gossip_at_ = 0;
  tick_count next_push_pull_at_ = 0;  // the periodic full sync, at a random phase per node
  // A full sync that passes on what another one taught us (membership::step). It is kept apart
  // from the periodic schedule: moving that schedule to it put every node of a cluster started
  // together on the same phase, all pushing and pulling within a few seconds of each other.
  std::optional<tick_count> pass_on_push_pull_at_;
  tick_count next_reconnect_at_ = 0;
  bool joined_ = false;
  // Set when the join is done, cleared once we have sent our alive to every member we hold
  // (introduce_tick): piggyback gossip reaches each member only with high probability.
  bool introduce_pending_ = false;
  tick_count member_added_at_ = 0;  // when we last learned of a member we did not hold
  // Seeds that have not answered yet. Each is retried until it does (or is a live member), not
  // just until the first one answers: with partial seed lists the only link between two groups can
  // be a seed that started late.
  std::vector<std::string> pending_seeds_;
  std::uint64_t events_emitted_ = 0;
  // Addresses we recently asked for a full sync because they talked to us while unknown or dead.
  std::map<std::string, tick_count> syncs_requested_;  // changes of the local view, to spot news in a push-pull
  // Addresses whose last push-pull had no `compact`: peers of an older version, which read only
  // full records, so we send them full requests (push_pull.cc).
  std::set<std::string> full_sync_peers_;
  tick_count next_join_at_ = 0;
  std::uint64_t join_backoff_ticks_ = 0;

  bool leaving_ = false;
  std::uint32_t leave_sends_ = 0;
  std::optional<id_conflict> conflict_;
};

}  // namespace chronik::gossip
