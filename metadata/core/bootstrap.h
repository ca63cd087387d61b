// The bootstrap coordinator: a pure state machine that decides, from the gossip view, when this
// node founds the `__meta` cluster, promises to a founder, becomes a member, or joins an existing
// cluster (docs/design.md "Formation"; the protocol and its safety argument are in
// docs/bootstrap.md).
//
// It communicates only through gossip metadata: what a node announces (fresh, promised to L for
// cluster C with voters S, member of C) is how it proposes, promises and commits.
//
// Shell contract: call observe() whenever the gossip view changes and tick() every tick; drain
// ready() and, in this order: persist `persist` durably (fsync), then publish `announce` in gossip
// metadata, then act on `start_group` / `join`; then call advance().
#pragma once

#include <compare>
#include <functional>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/node_id.h"

namespace chronik::metadata {

// A node as formation knows it: its id (the cluster's one node id type, base/node_id.h) and the
// uuid of its data directory.
struct node_ref {
  chronik::node_id id;
  std::string uuid;
  auto operator<=>(const node_ref&) const = default;
};

// What a node is and announces. Persisted for `promised` and `member`.
struct formation {
  enum class kind : std::uint8_t { fresh, promised, member };
  kind state = kind::fresh;
  node_ref founder;             // promised: to whom (a founder is promised to itself)
  std::string cluster_id;       // promised and member
  std::vector<node_ref> voters; // promised and member: the initial voter set S, sorted by id
  std::uint64_t round = 0;      // promised: the founder's attempt number, so a retry is a new proposal
  bool operator==(const formation&) const = default;
};

// One other node as gossip shows it.
struct peer_view {
  node_ref node;
  bool alive = false;  // alive or suspect in SWIM
  bool dead = false;   // confirmed dead or left: only this releases a promise to it
  std::uint32_t bootstrap_expect = 0;
  formation state;
};

struct bootstrap_config {
  std::uint32_t bootstrap_expect = 3;
  // The fresh set must stay the same this long before the lowest node proposes, so that nodes
  // still joining are not left out. Default 30 ticks.
  std::uint64_t stable_ticks = 30;
  // A founder that has not collected every promise by then withdraws and may retry. Default 200.
  std::uint64_t promise_timeout_ticks = 200;
};

struct bootstrap_ready {
  std::optional<formation> persist;      // durable first
  std::optional<formation> announce;     // then gossip it
  bool start_group = false;              // then start `__meta` with state().voters as initial config
  bool abandon_group = false;            // or delete a `__meta` group that can never have a quorum
  std::optional<std::string> join;       // or ask this cluster's controller to add us
  bool empty() const { return !persist && !announce && !start_group && !abandon_group && !join; }
};

class bootstrap {
 public:
  // `restored` is the persisted state (fresh when nothing was persisted); `random_cluster_id`
  // supplies new cluster ids (the shell passes real randomness; the simulation a seeded one).
  bootstrap(bootstrap_config cfg, node_ref self, formation restored, std::function<std::string()> random_cluster_id);

  void tick();
  void observe(std::vector<peer_view> view);
  // A joining node's `__meta` group now lists it (the controller added it): it is a member.
  void joined(std::string cluster_id, std::vector<node_ref> voters);

  const bootstrap_ready& ready() const { return ready_; }
  bool has_ready() const { return !ready_.empty(); }
  void advance() { ready_ = {}; }

  const formation& state() const { return state_; }

 private:
  void evaluate();
  bool try_adopt();
  void try_found();
  void try_promise();
  void try_commit();
  void try_release();
  void try_abandon();
  void set_state(formation f, bool persist);
  const peer_view* find(chronik::node_id id) const;
  bool in_voters(const std::vector<node_ref>& voters) const;
  std::vector<node_ref> fresh_set() const;

  bootstrap_config cfg_;
  node_ref self_;
  formation state_;
  std::function<std::string()> random_cluster_id_;
  std::vector<peer_view> view_;
  std::uint64_t now_ = 0;
  std::vector<node_ref> last_fresh_;
  std::uint64_t fresh_since_ = 0;
  std::uint64_t proposed_at_ = 0;
  std::uint64_t round_ = 0;
  std::string join_requested_;
  bootstrap_ready ready_;
};

}  // namespace chronik::metadata
