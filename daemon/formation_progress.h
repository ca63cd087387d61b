// What a node that is not yet a member of a cluster waits for, in one line for an operator
// (`cluster status`, the "waiting" field of /v1/cluster): how many of the `bootstrap_expect` fresh
// nodes it sees, which of its seeds gossip has not reached, a peer that expects a different
// cluster size, a founder it promised to, or the cluster it asked to join. The bootstrap
// coordinator (metadata/core/bootstrap.h, docs/bootstrap.md) decides; this only explains its
// conditions from the same inputs. Pure: plain copies in, text out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "metadata/core/bootstrap.h"

namespace chronik::daemon {

// Another node as gossip shows it.
struct formation_peer {
  std::uint64_t node_id = 0;
  std::string address;     // its gossip address IP:PORT
  bool alive = false;      // alive or suspect in SWIM
  bool announced = false;  // it gossips chronik node metadata (false while it starts)
  std::uint32_t bootstrap_expect = 0;
  metadata::formation::kind formation = metadata::formation::kind::fresh;
  std::string cluster_id;  // member or promised: its cluster
};

struct formation_progress_input {
  std::uint64_t self_id = 0;
  metadata::formation self;        // this node's formation state
  std::string joining;             // the cluster this node asked to join, or empty
  std::uint32_t bootstrap_expect = 0;
  std::vector<std::string> seeds;  // this node's configured seeds, IP:PORT
  std::vector<formation_peer> peers;  // every member gossip shows but this node
};

// Empty for a member; otherwise one line saying what formation waits for, e.g.
// "sees 1 of 3 expected nodes: seeds 127.0.0.2:7946 and 127.0.0.3:7946 not reached yet".
std::string formation_waiting(const formation_progress_input& in);

// "a", "a and b", "a, b and c".
std::string join_with_and(const std::vector<std::string>& items);

}  // namespace chronik::daemon
