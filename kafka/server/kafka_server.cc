#include "kafka/server/kafka_server.h"

#include <asio/ip/address.hpp>

namespace chronik::kafka {

std::expected<void, std::string> server_config::validate() const {
  if (max_request_bytes < 64) return std::unexpected("max_request_bytes must be at least 64");
  if (max_request_bytes > (1u << 30)) return std::unexpected("max_request_bytes must be at most 1 GiB");
  if (max_in_flight == 0) return std::unexpected("max_in_flight must be at least 1");
  if (max_connections == 0) return std::unexpected("max_connections must be at least 1");
  return {};
}

kafka_server::kafka_server(asio::io_context& io, server_config cfg, request_handler& handler,
                           std::shared_ptr<spdlog::logger> log)
    : io_(io), cfg_(std::move(cfg)), handler_(handler), log_(std::move(log)), acceptor_(io) {}

kafka_server::~kafka_server() { stop(); }

std::expected<void, std::string> kafka_server::start() {
  if (auto v = cfg_.validate(); !v) return std::unexpected("kafka listener: " + v.error());
  asio::error_code ec;
  const auto address = asio::ip::make_address(cfg_.bind_ip, ec);
  if (ec) return std::unexpected("kafka listener: bad address " + cfg_.bind_ip);
  const asio::ip::tcp::endpoint ep(address, cfg_.port);
  const std::string where = cfg_.bind_ip + ":" + std::to_string(cfg_.port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return std::unexpected("kafka listener: cannot listen on " + where + ": " + ec.message());
  port_ = acceptor_.local_endpoint().port();
  accept();
  return {};
}

void kafka_server::stop() {
  if (stopped_) return;
  stopped_ = true;
  *alive_ = false;
  asio::error_code ec;
  acceptor_.close(ec);
  auto open = std::move(connections_);
  connections_.clear();
  for (auto& [id, c] : open) c->close();
}

server_stats kafka_server::stats() const {
  server_stats s = stats_;
  s.open = connections_.size();
  for (const auto& [id, c] : connections_)
    if (c->read_paused()) ++s.read_paused;
  return s;
}

void kafka_server::accept() {
  acceptor_.async_accept([this, alive = alive_](asio::error_code ec, asio::ip::tcp::socket socket) {
    if (!*alive || stopped_) return;
    if (ec) {
      if (ec != asio::error::operation_aborted) log_->warn("kafka: accept failed: {}", ec.message());
      // Running out of descriptors is transient; keep accepting rather than going deaf.
      if (ec != asio::error::operation_aborted) accept();
      return;
    }
    if (connections_.size() >= cfg_.max_connections) {
      ++stats_.refused;
      asio::error_code ignored;
      socket.close(ignored);
    } else {
      ++stats_.accepted;
      const std::uint64_t id = ++next_id_;
      auto c = std::make_shared<connection>(std::move(socket), id, cfg_, handler_, log_,
                                            [this, alive](std::uint64_t gone) {
                                              if (*alive) connections_.erase(gone);
                                            });
      connections_.emplace(id, c);
      c->start();
    }
    accept();
  });
}

}  // namespace chronik::kafka
