#include "daemon/formation_progress.h"

#include <algorithm>
#include <set>

namespace chronik::daemon {

namespace {

using kind = metadata::formation::kind;

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string node_list(const std::vector<std::uint64_t>& ids) {
  std::vector<std::string> names;
  for (auto id : ids) names.push_back(std::to_string(id));
  return (ids.size() == 1 ? "node " : "nodes ") + join_with_and(names);
}

// Seeds no live peer answers from. A seed naming this node's own address is never "unreached".
std::vector<std::string> unreached_seeds(const formation_progress_input& in) {
  std::vector<std::string> out;
  for (const auto& seed : in.seeds) {
    const bool reached = std::ranges::any_of(in.peers, [&seed](const formation_peer& p) {
      return p.alive && p.address == seed;
    });
    if (!reached && std::ranges::find(out, seed) == out.end()) out.push_back(seed);
  }
  return out;
}

// A fresh node counts the fresh live nodes with its own bootstrap_expect, itself included, as the
// coordinator does (bootstrap::fresh_set); the rest explains why that count is not enough yet.
std::string fresh_waiting(const formation_progress_input& in) {
  std::vector<std::uint64_t> fresh_ids;
  std::vector<std::string> notes;
  for (const auto& p : in.peers) {
    if (!p.alive || !p.announced) continue;
    if (p.formation == kind::member) {
      notes.push_back("node " + std::to_string(p.node_id) + " is a member of cluster " + p.cluster_id +
                      ": this node asks to join it next");
    } else if (p.formation == kind::promised) {
      notes.push_back("node " + std::to_string(p.node_id) + " is promised to a cluster being founded (" +
                      p.cluster_id + "): waiting for that to finish or fail");
    } else if (p.bootstrap_expect != in.bootstrap_expect) {
      notes.push_back("node " + std::to_string(p.node_id) + " expects " + std::to_string(p.bootstrap_expect) +
                      " nodes, this node " + std::to_string(in.bootstrap_expect) +
                      ": not counted (set the same bootstrap_expect everywhere)");
    } else {
      fresh_ids.push_back(p.node_id);
    }
  }
  const std::size_t seen = fresh_ids.size() + 1;
  std::string out = "sees " + std::to_string(seen) + " of " + std::to_string(in.bootstrap_expect) + " expected nodes";
  const auto unreached = unreached_seeds(in);
  if (!unreached.empty()) {
    out += std::string(": ") + (unreached.size() == 1 ? "seed " : "seeds ") + join_with_and(unreached) +
           " not reached yet";
  } else if (seen < in.bootstrap_expect) {
    out += ": every seed reached, waiting for " + plural(in.bootstrap_expect - seen, "more fresh node", "more fresh nodes") +
           " to start";
  } else {
    out += ": enough, waiting for the set to stay stable before the lowest node proposes the cluster";
  }
  for (const auto& n : notes) out += "; " + n;
  return out;
}

// A promised node waits for the founder to collect a promise from every initial voter.
std::string promised_waiting(const formation_progress_input& in) {
  const auto& f = in.self;
  std::vector<std::uint64_t> missing;
  for (const auto& v : f.voters) {
    if (v.id == f.founder.id && v.uuid == f.founder.uuid) continue;
    const auto it = std::ranges::find_if(in.peers, [&v](const formation_peer& p) { return p.node_id == v.id.value(); });
    const bool promised = it != in.peers.end() && it->alive && it->cluster_id == f.cluster_id &&
                          (it->formation == kind::promised || it->formation == kind::member);
    if (!promised) missing.push_back(v.id.value());
  }
  std::string out = "promised to node " + std::to_string(f.founder.id.value()) + " for cluster " + f.cluster_id;
  const bool self_founds = f.founder.id.value() == in.self_id;
  if (!missing.empty()) {
    out += ": waiting for the promises of " + node_list(missing);
  } else {
    out += self_founds ? ": every voter promised, starting the cluster"
                       : ": waiting for the founder to start the cluster";
  }
  return out;
}

}  // namespace

std::string join_with_and(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

std::string formation_waiting(const formation_progress_input& in) {
  if (in.self.state == kind::member) return {};
  if (!in.joining.empty()) return "joining cluster " + in.joining + ": waiting for its controller to add this node";
  if (in.self.state == kind::promised) return promised_waiting(in);
  return fresh_waiting(in);
}

}  // namespace chronik::daemon
