// `chronik-server cluster health [--admin IP:PORT] [--json]`: one verdict on the whole cluster from
// one node's /v1/cluster (a linearizable read of `__meta` plus that node's gossip view,
// docs/operations.md "Cluster health"). Unhealthy when any of these holds:
//
// - the node asked is not a member of a formed cluster (and what formation waits for), or it reads
//   `__meta` only locally (no reachable `__meta` leader);
// - `__meta` has no leader, or fewer than a majority of its voters are alive (quorum lost);
// - a node is suspect or dead in gossip, a registered broker is dead in `__meta`, a live node is
//   not a member yet, or a node's WAL failed (fenced);
// - a live node answers its `GET /ready` with 503 (asked at the admin address it gossips; a node
//   whose endpoint cannot be reached from here, e.g. bound to its host's loopback, is a note);
// - a partition has no live leader, or fewer in-sync replicas than replicas.
//
// A broker that left gracefully or is draining is a note, not a problem: both are operator acts.
// The assessment is pure (JSON in, report out) so a unit test covers every rule.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "daemon/admin_client.h"

namespace chronik::daemon {

struct health_report {
  bool healthy = false;
  std::vector<std::string> problems;  // each one line, naming the node, voter or partitions
  std::vector<std::string> notes;     // worth knowing, not unhealthy
  std::string summary;                // one line: the verdict and the main figures
};

// One node's `GET /ready` as the CLI got it (docs/operations.md "Metrics and readiness").
struct node_readiness {
  std::uint64_t node_id = 0;
  enum class answer : unsigned char { ready, not_ready, unknown } state = answer::unknown;
  std::string detail;  // not_ready: the node's reason; unknown: why it could not be asked
};

// Fails when `cluster` is not a /v1/cluster object. `readiness` holds the live nodes' /ready
// answers: a node that is not ready is a problem, one that could not be asked a note.
std::expected<health_report, std::string> assess_cluster_health(const nlohmann::json& cluster,
                                                                const std::vector<node_readiness>& readiness = {});

std::string format_health_report(const health_report& r);
nlohmann::json health_report_json(const health_report& r);

struct health_command_options {
  std::string admin = "127.0.0.1:9644";
  admin_credentials creds;
  bool json = false;
};

// 0 healthy, 1 unhealthy or the node could not be asked (one line on stderr), 2 bad --admin.
int run_health_command(const health_command_options& opts);

}  // namespace chronik::daemon
