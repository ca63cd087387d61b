// The Kafka listener (DESIGN.md §5; docs/kafka.md "Server"): accepts client connections on
// bind_ip:port and runs one kafka::connection per client on the node's io thread. What a request
// means is the request handler's business (kafka/handlers); this layer only frames, bounds and
// orders.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <string>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <spdlog/logger.h>

#include "kafka/server/connection.h"
#include "kafka/server/request_handler.h"
#include "kafka/server/server_config.h"

namespace chronik::kafka {

struct server_stats {
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;  // over max_connections
  std::uint64_t open = 0;
  std::uint64_t read_paused = 0;  // open connections at their in-flight bound
};

class kafka_server {
 public:
  kafka_server(asio::io_context& io, server_config cfg, request_handler& handler, std::shared_ptr<spdlog::logger> log);
  ~kafka_server();  // stop()s
  kafka_server(const kafka_server&) = delete;
  kafka_server& operator=(const kafka_server&) = delete;

  // Binds and starts accepting; the error is one log-ready line.
  std::expected<void, std::string> start();
  // Stops accepting and closes every connection. Idempotent; io thread only.
  void stop();
  std::uint16_t port() const { return port_; }
  server_stats stats() const;

 private:
  void accept();

  asio::io_context& io_;
  server_config cfg_;
  request_handler& handler_;
  std::shared_ptr<spdlog::logger> log_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
  std::uint64_t next_id_ = 0;
  // Owned here: a connection at its in-flight bound has no asynchronous operation keeping it
  // alive. A connection removes itself through its closed callback.
  std::map<std::uint64_t, std::shared_ptr<connection>> connections_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  server_stats stats_;
};

}  // namespace chronik::kafka
