// The admin HTTP endpoint (cpp-httplib) on admin_bind:admin_port:
//   GET /health      -> 200 {"status":"ready","node_id":N} once this node is a registered broker
//                       of a cluster with a known `__meta` leader; otherwise 503 with "reason".
//                       Open to anyone, so it says nothing more (no uuid, no cluster name or id).
//   GET /ready       -> 200 {"status":"ready","node_id":N} while the node serves: /health's
//                       conditions, its WAL is not fenced, and its `__meta` copy has caught up
//                       with the leader's commit index (a ReadIndex round, the ready source, asked
//                       on the io thread within io_timeout); otherwise
//                       503 with "reason". Open like /health, and says no more than it does.
//   Everything else needs `Authorization: Bearer <admin token>` (daemon/admin_auth.h): without
//   it, or with another token, 401 (counted, unauthorized_count()) before any routing.
//   GET /v1/members  -> 200 [ {node_id, address, state, incarnation, last_change, uuid,
//                              kafka_addr, rpc_addr, admin_addr, cluster_name, formation}, ... ]
//   GET /v1/cluster  -> 200 {cluster_id, meta_leader, term, commit, voters, brokers, formation, ...}
//                       (503 when no cluster source is set or the io thread does not answer)
//   GET /metrics     -> 200 Prometheus text format 0.0.4 from the metrics source, rendered on the
//                       io thread (docs/operations.md "Metrics and readiness"); 503 as /v1/cluster
//   routes added with add_route (the keyring endpoints, daemon/keyring_admin.h)
//   pages added with add_open_page (GET /ui, the status page, daemon/status_service.h): open like
//   /health, since a page holds no data; what it shows it fetches from the routes above, with
//   the token
//   anything else    -> 404
//
// Threading (docs/design.md "Threads"): httplib serves requests on its own threads, which must
// never touch gossip objects. /v1/members posts a task to the io_context that copies the member
// list there, and waits for it at most io_timeout; a busy or stopped io thread gives 503, not a
// hang. /v1/cluster does the same with the cluster source, whose answer may come later on the io
// thread (a linearizable read, docs/metadata.md), within the same io_timeout. /health reads the
// readiness last reported through set_health (under a mutex), so it never waits for the io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>  // admin_server::answer holds a json by value
#include <spdlog/logger.h>

#include "base/node_id.h"
#include "gossip/net/gossip_node.h"

namespace chronik::daemon {

struct admin_options {
  std::string bind_ip = "127.0.0.1";
  std::uint16_t port = 9644;
  // Reported by /health.
  std::uint32_t node_id = 0;
  std::string node_uuid_hex;
  std::string cluster_name;
  // The bearer token every request but GET /health must present; never empty.
  std::string token;
  // Longest wait for the io thread to answer a /v1/members request. Default 2000 ms.
  std::chrono::milliseconds io_timeout{2000};
};

class admin_server {
 public:
  // Called on the io thread; returns a copy so nothing shared crosses to the HTTP threads.
  using members_source = std::function<std::vector<gossip::member_snapshot>()>;
  // Called on the io thread; answers the /v1/cluster body through `reply`, on the io thread,
  // now or later (after a ReadIndex round), at most once.
  using cluster_reply = std::function<void(nlohmann::json)>;
  using cluster_source = std::function<void(cluster_reply reply)>;
  // Called on the io thread: the /metrics body.
  using metrics_source = std::function<std::string()>;
  // Called on the io thread once /health is ready: answers through `reply`, on the io thread, now
  // or after a ReadIndex round, with "" when the node serves and otherwise why not.
  using ready_reply = std::function<void(std::string reason)>;
  using ready_source = std::function<void(ready_reply reply)>;

  // An extra route: its handler runs on an HTTP thread after the token check and may block for a
  // bounded time (call_on_io, requests to other nodes).
  struct request {
    std::string body;
    std::string match;  // the path's first regex group, e.g. "install"
    std::string scope;  // the query parameter `scope`, empty if absent
  };
  struct answer {
    int status = 200;
    nlohmann::json body;
  };
  // The error answer every route gives: {"error": why}.
  static answer refusal(int status, std::string why) { return {status, nlohmann::json{{"error", std::move(why)}}}; }
  // A route's answer built on the io thread as one document with its HTTP status in "status".
  static answer with_status(nlohmann::json doc) {
    const int status = doc["status"].get<int>();
    doc.erase("status");
    return {status, std::move(doc)};
  }
  // The node id a route's match holds ("2" of /v1/nodes/([0-9]+)/drain), or none.
  static std::optional<chronik::node_id> node_in_match(const std::string& match);
  using route_handler = std::function<answer(const request&)>;
  enum class method : std::uint8_t { get, post };

  admin_server(asio::io_context& io, admin_options opts, members_source source,
               std::shared_ptr<spdlog::logger> log);
  ~admin_server();  // calls stop()
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;

  // Binds bind_ip:port (so "address in use" is reported here, not later) and starts serving on
  // a thread of its own.
  std::expected<void, std::string> start();
  // Set before start().
  void set_cluster_source(cluster_source source);
  // Set before start().
  void set_metrics_source(metrics_source source);
  void set_ready_source(ready_source source);
  // Set before start(). `path_regex` is matched whole (httplib), e.g. "/v1/keyring/(install|use)".
  void add_route(method m, std::string path_regex, route_handler handler);
  // Set before start(). A fixed HTML page at exactly `path`, served without a token with
  // `headers` (its Content-Security-Policy among them).
  using header_list = std::vector<std::pair<std::string, std::string>>;
  void add_open_page(std::string path, std::string html, header_list headers);
  // From an HTTP thread: runs fn on the io thread and waits at most io_timeout for it.
  std::expected<nlohmann::json, std::string> call_on_io(std::function<nlohmann::json()> fn);
  // Requests refused with 401 since start; any thread.
  std::uint64_t unauthorized_count() const;
  // Thread-safe. Until the first call /health answers 503 with reason "starting".
  void set_health(bool ready, std::string reason);
  // Stops accepting, finishes in-flight requests and joins the threads; idempotent. After it
  // returns, no posted task calls the members source any more, so the source's objects may go.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// "2024-05-01T12:34:56.789Z".
std::string format_rfc3339_utc(std::chrono::system_clock::time_point tp);

// One /v1/members entry; NodeMeta fields are null when the member's meta does not decode.
nlohmann::json member_to_json(const gossip::member_snapshot& snap);

// Every member's formation state as gossip shows it, for /v1/cluster's "nodes":
// [{node_id, state, formation, cluster_id}].
nlohmann::json formation_of_members(const std::vector<gossip::member_snapshot>& members);

}  // namespace chronik::daemon
