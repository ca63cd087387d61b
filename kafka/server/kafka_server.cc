#include "kafka/server/kafka_server.h"

#include <algorithm>
#include <vector>

#include <asio/ip/address.hpp>

#include "kafka/server/tls_context.h"

namespace chronik::kafka {

std::expected<void, std::string> server_config::validate() const {
  if (listeners.empty()) return std::unexpected("at least one listener is needed");
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (listeners[i].name == listeners[j].name) return std::unexpected("listener " + listeners[i].name + " is named twice");
      if (listeners[i].port != 0 && listeners[i].port == listeners[j].port) {
        return std::unexpected("listeners " + listeners[j].name + " and " + listeners[i].name + " share port " +
                               std::to_string(listeners[i].port));
      }
    }
  }
  const bool any_tls = std::ranges::any_of(listeners, [](const listener_spec& l) { return uses_tls(l.protocol); });
  if (any_tls && (tls.cert_file.empty() || tls.key_file.empty())) {
    return std::unexpected("a TLS listener needs a certificate and a key file");
  }
  if (any_tls && tls.client_auth != tls_client_auth::none && tls.ca_file.empty()) {
    return std::unexpected("TLS client authentication needs a CA file");
  }
  if (any_tls && tls.handshake_timeout_ms == 0) return std::unexpected("the TLS handshake timeout must be at least 1 ms");
  if (max_request_bytes < 64) return std::unexpected("max_request_bytes must be at least 64");
  if (max_request_bytes > (1u << 30)) return std::unexpected("max_request_bytes must be at most 1 GiB");
  if (max_queued_request_bytes < max_request_bytes)
    return std::unexpected("max_queued_request_bytes must be at least max_request_bytes");
  if (max_in_flight == 0) return std::unexpected("max_in_flight must be at least 1");
  if (max_connections == 0) return std::unexpected("max_connections must be at least 1");
  if (max_connections_per_ip == 0) return std::unexpected("max_connections_per_ip must be at least 1");
  if (connections_max_idle_ms < 10) return std::unexpected("connections_max_idle_ms must be at least 10");
  return {};
}

std::uint32_t server_config::idle_sweep_ms() const {
  // A tenth of the timeout: closes come at most 10% late, and a 10-minute timeout costs one
  // sweep a minute. Never busier than every 5 ms.
  return std::max<std::uint32_t>(5, connections_max_idle_ms / 10);
}

kafka_server::kafka_server(asio::io_context& io, server_config cfg, request_handler& handler,
                           std::shared_ptr<spdlog::logger> log)
    : io_(io),
      cfg_(std::move(cfg)),
      handler_(handler),
      log_(std::move(log)),
      budget_(cfg_.max_queued_request_bytes),
      idle_timer_(io) {
  budget_.set_resume([this](std::uint64_t id) {
    if (auto it = connections_.find(id); it != connections_.end()) it->second.conn->resume();
  });
}

kafka_server::~kafka_server() { stop(); }

std::expected<void, std::string> kafka_server::start() {
  if (auto v = cfg_.validate(); !v) return std::unexpected("kafka listener: " + v.error());
  if (std::ranges::any_of(cfg_.listeners, [](const listener_spec& l) { return uses_tls(l.protocol); })) {
    auto ctx = make_tls_context(cfg_.tls);
    if (!ctx) return std::unexpected("kafka listener: " + ctx.error());
    tls_ = std::move(*ctx);
  }
  for (const auto& spec : cfg_.listeners) {
    acceptors_.push_back(std::make_unique<acceptor>(acceptor{spec, asio::ip::tcp::acceptor(io_), asio::steady_timer(io_), {}, 0}));
    if (auto r = listen(*acceptors_.back()); !r) return r;
  }
  for (auto& a : acceptors_) accept(*a);
  arm_idle_sweep();
  return {};
}

std::expected<void, std::string> kafka_server::listen(acceptor& a) {
  asio::error_code ec;
  const auto address = asio::ip::make_address(a.spec.bind_ip, ec);
  if (ec) return std::unexpected("kafka listener " + a.spec.name + ": bad address " + a.spec.bind_ip);
  const asio::ip::tcp::endpoint ep(address, a.spec.port);
  const std::string where = a.spec.bind_ip + ":" + std::to_string(a.spec.port);
  a.socket.open(ep.protocol(), ec);
  if (!ec) a.socket.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.socket.bind(ep, ec);
  if (!ec) a.socket.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return std::unexpected("kafka listener " + a.spec.name + ": cannot listen on " + where + ": " + ec.message());
  a.port = a.socket.local_endpoint().port();
  return {};
}

std::uint16_t kafka_server::port(std::string_view name) const {
  for (const auto& a : acceptors_) {
    if (a->spec.name == name) return a->port;
  }
  return 0;
}

void kafka_server::stop() {
  if (stopped_) return;
  stopped_ = true;
  *alive_ = false;
  asio::error_code ec;
  for (auto& a : acceptors_) {
    a->socket.close(ec);
    a->retry.cancel();
  }
  idle_timer_.cancel();
  auto open = std::move(connections_);
  connections_.clear();
  per_ip_.clear();
  for (auto& [id, c] : open) c.conn->close();
}

server_stats kafka_server::stats() const {
  server_stats s = stats_;
  s.open = connections_.size();
  for (const auto& [id, c] : connections_) {
    if (c.conn->read_paused()) ++s.read_paused;
    if (c.conn->budget_paused()) ++s.budget_paused;
    s.buffered_bytes += c.conn->buffered_bytes();
  }
  s.queued_request_bytes = budget_.queued_bytes();
  return s;
}

void kafka_server::accept(acceptor& a) {
  a.socket.async_accept([this, &a, alive = alive_](asio::error_code ec, asio::ip::tcp::socket socket) {
    if (!*alive || stopped_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      on_accept_error(a, ec);
      return;
    }
    a.backoff.succeeded();
    admit(a, std::move(socket));
    accept(a);
  });
}

void kafka_server::on_accept_error(acceptor& a, const asio::error_code& ec) {
  // At the descriptor limit accept fails again at once for as long as it lasts: retrying at
  // once spun the io thread (and so gossip and Raft) and logged 461,000 lines in 4 s. Wait
  // instead, and log at most one line a second (accept_backoff.h).
  ++stats_.accept_errors;
  const auto delay = a.backoff.failed();
  if (auto held = accept_log_.allow(std::chrono::steady_clock::now())) {
    log_->warn("kafka: accept on listener {} failed: {}; retrying in {} ms ({} similar lines suppressed)", a.spec.name,
               ec.message(), delay.count(), *held);
  }
  a.retry.expires_after(delay);
  a.retry.async_wait([this, &a, alive = alive_](asio::error_code wait_ec) {
    if (!*alive || stopped_ || wait_ec) return;
    accept(a);
  });
}

void kafka_server::admit(acceptor& a, asio::ip::tcp::socket socket) {
  asio::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  const std::string ip = ec ? std::string("unknown") : peer.address().to_string();
  const auto ip_it = per_ip_.find(ip);
  const std::size_t from_ip = ip_it == per_ip_.end() ? 0 : ip_it->second;
  if (connections_.size() >= cfg_.max_connections || from_ip >= cfg_.max_connections_per_ip) {
    ++(connections_.size() >= cfg_.max_connections ? stats_.refused : stats_.refused_per_ip);
    socket.close(ec);
    return;
  }
  ++stats_.accepted;
  const std::uint64_t id = ++next_id_;
  asio::ssl::context* tls = uses_tls(a.spec.protocol) ? tls_.get() : nullptr;
  auto c = std::make_shared<connection>(std::move(socket), id, a.spec, tls,
                                        connection::shared{cfg_, handler_, budget_, log_, tls_failure_log_, slow_auth_},
                                        [this, alive = alive_](std::uint64_t gone) {
                                          if (*alive) on_closed(gone);
                                        });
  connections_.emplace(id, open_connection{c, ip});
  ++per_ip_[ip];
  c->start();
}

void kafka_server::on_closed(std::uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  if (auto ip = per_ip_.find(it->second.ip); ip != per_ip_.end() && --ip->second == 0) per_ip_.erase(ip);
  connections_.erase(it);
}

void kafka_server::arm_idle_sweep() {
  idle_timer_.expires_after(std::chrono::milliseconds(cfg_.idle_sweep_ms()));
  idle_timer_.async_wait([this, alive = alive_](asio::error_code ec) {
    if (!*alive || stopped_ || ec) return;
    sweep_idle();
    arm_idle_sweep();
  });
}

void kafka_server::sweep_idle() {
  // One timer for every connection: a pass over the open connections (at most max_connections)
  // every idle_sweep_ms. Closing erases from connections_, so collect first.
  const auto cutoff = connection::clock::now() - std::chrono::milliseconds(cfg_.connections_max_idle_ms);
  std::vector<std::shared_ptr<connection>> idle;
  for (const auto& [id, c] : connections_) {
    if (c.conn->idle_since(cutoff)) idle.push_back(c.conn);
  }
  for (const auto& c : idle) {
    ++stats_.idle_closed;
    log_->debug("kafka: closing connection {}: idle for {} ms", c->id(), cfg_.connections_max_idle_ms);
    c->close();
  }
}

}  // namespace chronik::kafka
