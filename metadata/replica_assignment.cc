#include "metadata/replica_assignment.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "base/assert.h"

namespace chronik::metadata {
namespace {

// Racks sorted by name and brokers within a rack by id, then dealt out one rack at a time: the
// first broker of every rack, then the second of every rack, ... Consecutive positions are then on
// different racks, so plain round-robin over this list already spreads racks (Kafka's
// getRackAlternatedBrokerList). Without racks it is simply the brokers sorted by id.
std::vector<assignment_broker> rack_alternated(std::vector<assignment_broker> brokers) {
  std::map<std::string, std::vector<assignment_broker>> by_rack;
  const std::size_t n = brokers.size();
  for (auto& b : brokers) by_rack[b.rack].push_back(std::move(b));
  for (auto& [rack, list] : by_rack) {
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  }
  std::vector<assignment_broker> out;
  out.reserve(n);
  for (std::size_t round = 0; out.size() < n; ++round) {
    CHRONIK_ASSERT(round < n, "every round places at least one broker");
    for (const auto& [rack, list] : by_rack) {
      if (round < list.size()) out.push_back(list[round]);
    }
  }
  return out;
}

// The j-th follower candidate of a partition whose first replica sits at `first` (Kafka's
// replicaIndex). The offsets 1 + (shift + j) % (n - 1) for j = 0 .. n-2 are n-1 distinct values in
// 1 .. n-1, so one sweep visits every other broker exactly once and never the first replica.
std::size_t follower_index(std::size_t first, std::size_t shift, std::size_t j, std::size_t n) {
  const std::size_t offset = 1 + (shift + j) % (n - 1);
  return (first + offset) % n;
}

std::vector<consensus::node_id> assign_one(const std::vector<assignment_broker>& arranged,
                                           std::size_t rack_count, std::size_t first, std::size_t shift,
                                           std::size_t rf) {
  const std::size_t n = arranged.size();
  std::vector<consensus::node_id> replicas{arranged[first].id};
  std::vector<bool> chosen(n, false);
  chosen[first] = true;
  std::set<std::string> racks_used{arranged[first].rack};
  // While some rack holds no replica of this partition, a candidate on an already used rack is
  // skipped. Each sweep of n-1 candidates reaches every unchosen broker, and an unused rack always
  // has an unchosen broker, so every sweep adds at least one replica: rf sweeps are enough.
  const std::size_t bound = rf * n;
  for (std::size_t j = 0; replicas.size() < rf; ++j) {
    CHRONIK_ASSERT(j < bound, "replica assignment terminates within rf sweeps");
    const std::size_t idx = follower_index(first, shift, j, n);
    if (chosen[idx]) continue;
    const std::string& rack = arranged[idx].rack;
    if (racks_used.size() < rack_count && racks_used.contains(rack)) continue;
    chosen[idx] = true;
    racks_used.insert(rack);
    replicas.push_back(arranged[idx].id);
  }
  return replicas;
}

}  // namespace

std::expected<replica_assignment, assignment_errc> assign_replicas(std::vector<assignment_broker> brokers,
                                                                   const assignment_request& request) {
  if (request.partitions < 1) return std::unexpected(assignment_errc::invalid_partitions);
  if (request.replication_factor < 1 || static_cast<std::size_t>(request.replication_factor) > brokers.size()) {
    return std::unexpected(assignment_errc::invalid_replication_factor);
  }
  std::set<std::string> racks;
  std::set<consensus::node_id> ids;
  for (const auto& b : brokers) {
    racks.insert(b.rack);
    ids.insert(b.id);
  }
  CHRONIK_ASSERT(ids.size() == brokers.size(), "assignment brokers are distinct");

  const std::vector<assignment_broker> arranged = rack_alternated(std::move(brokers));
  const std::size_t n = arranged.size();
  const auto rf = static_cast<std::size_t>(request.replication_factor);
  const std::size_t start = request.start_seed % n;
  std::size_t shift = n > 1 ? (request.start_seed / n) % (n - 1) : 0;

  replica_assignment out;
  out.reserve(static_cast<std::size_t>(request.partitions));
  for (std::size_t p = 0; p < static_cast<std::size_t>(request.partitions); ++p) {
    // After each full round of first replicas the follower shift moves on, so that broker b's
    // partitions in the next round are followed by different brokers than in this one.
    if (p > 0 && p % n == 0) ++shift;
    out.push_back(assign_one(arranged, racks.size(), (start + p) % n, shift, rf));
  }
  return out;
}

}  // namespace chronik::metadata
