// The Kafka listeners (docs/design.md "Kafka data path"; docs/kafka.md "Server" and "Listeners"):
// one acceptor per configured listener (Kafka's `listeners`), each running one kafka::connection
// per client on the node's io thread, plain or TLS as its protocol says. The bounds (connections,
// connections per IP, the request budget, the idle sweep) are the node's, shared by every
// listener. What a request means is the request handler's business (kafka/handlers); this layer
// only frames, bounds and orders.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>
#include <spdlog/logger.h>

#include "kafka/server/accept_backoff.h"
#include "kafka/server/connection.h"
#include "kafka/server/request_budget.h"
#include "kafka/server/request_handler.h"
#include "kafka/server/server_config.h"

namespace chronik::kafka {

struct server_stats {
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;         // over max_connections
  std::uint64_t refused_per_ip = 0;  // over max_connections_per_ip
  std::uint64_t idle_closed = 0;     // closed after connections_max_idle_ms
  std::uint64_t accept_errors = 0;   // failed accepts (EMFILE, ...), each followed by a backoff
  std::uint64_t open = 0;
  std::uint64_t read_paused = 0;     // open connections at their in-flight bound
  std::uint64_t budget_paused = 0;   // open connections waiting for the node-wide request budget
  std::uint64_t queued_request_bytes = 0;  // what the request budget counts now
  std::uint64_t buffered_bytes = 0;        // capacity of the frame buffers being filled
};

class kafka_server {
 public:
  kafka_server(asio::io_context& io, server_config cfg, request_handler& handler, std::shared_ptr<spdlog::logger> log);
  ~kafka_server();  // stop()s
  kafka_server(const kafka_server&) = delete;
  kafka_server& operator=(const kafka_server&) = delete;

  // Loads the TLS context (if a listener needs it), binds every listener and starts accepting;
  // the error is one log-ready line.
  std::expected<void, std::string> start();
  // Stops accepting and closes every connection. Idempotent; io thread only.
  void stop();
  // The bound port of the first listener, or of the listener named `name` (0: no such listener).
  std::uint16_t port() const { return acceptors_.empty() ? 0 : acceptors_.front()->port; }
  std::uint16_t port(std::string_view name) const;
  server_stats stats() const;

 private:
  struct acceptor {
    listener_spec spec;
    asio::ip::tcp::acceptor socket;
    asio::steady_timer retry;  // the wait after a failed accept
    accept_backoff backoff;
    std::uint16_t port = 0;
  };
  std::expected<void, std::string> listen(acceptor& a);
  void accept(acceptor& a);
  void on_accept_error(acceptor& a, const asio::error_code& ec);
  void admit(acceptor& a, asio::ip::tcp::socket socket);
  void on_closed(std::uint64_t id);
  void arm_idle_sweep();
  void sweep_idle();

  asio::io_context& io_;
  server_config cfg_;
  request_handler& handler_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<std::unique_ptr<acceptor>> acceptors_;  // one per listener, in configuration order
  std::unique_ptr<asio::ssl::context> tls_;            // when some listener uses_tls
  log_rate_limit tls_failure_log_;
  bool stopped_ = false;
  std::uint64_t next_id_ = 0;
  // Owned here: a connection at its in-flight bound has no asynchronous operation keeping it
  // alive. A connection removes itself through its closed callback.
  struct open_connection {
    std::shared_ptr<connection> conn;
    std::string ip;  // the client's address, for max_connections_per_ip
  };
  std::map<std::uint64_t, open_connection> connections_;
  std::map<std::string, std::size_t> per_ip_;  // open connections by client IP; no zero entries
  request_budget budget_;
  asio::steady_timer idle_timer_;
  log_rate_limit accept_log_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  server_stats stats_;
  // SASL/PLAIN's PBKDF2, off this thread (auth_worker.h). Declared after what connections use and
  // destroyed before it: its queued jobs hold connections.
  auth_worker slow_auth_;
};

}  // namespace chronik::kafka
