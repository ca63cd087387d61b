// The bytes under one Kafka connection: a plain TCP socket, or an asio::ssl::stream over one (a
// listener whose protocol uses_tls, security_protocol.h). The connection (connection.cc) reads and
// writes through this without caring which; only the handshake and the peer's certificate are
// TLS-only.
//
// A std::variant rather than a virtual interface: each operation is one visit, and Asio's composed
// operations (async_read, async_write) keep their handler types and so their small-buffer
// allocation.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>

namespace chronik::kafka {

class client_stream {
 public:
  using tls_stream = asio::ssl::stream<asio::ip::tcp::socket>;

  explicit client_stream(asio::ip::tcp::socket socket)
      : stream_(std::in_place_type<asio::ip::tcp::socket>, std::move(socket)) {}
  client_stream(asio::ip::tcp::socket socket, asio::ssl::context& tls)
      : stream_(std::in_place_type<tls_stream>, std::move(socket), tls) {}

  bool tls() const { return std::holds_alternative<tls_stream>(stream_); }
  asio::ip::tcp::socket& socket() {
    if (auto* s = std::get_if<tls_stream>(&stream_)) return s->next_layer();
    return std::get<asio::ip::tcp::socket>(stream_);
  }
  const asio::ip::tcp::socket& socket() const {
    if (const auto* s = std::get_if<tls_stream>(&stream_)) return s->next_layer();
    return std::get<asio::ip::tcp::socket>(stream_);
  }

  // TLS only: the server side of the handshake.
  template <typename Handler>
  void async_handshake(Handler&& handler) {
    std::get<tls_stream>(stream_).async_handshake(asio::ssl::stream_base::server, std::forward<Handler>(handler));
  }
  // Fills `buffers` completely (or fails).
  template <typename Buffers, typename Handler>
  void async_read_exact(const Buffers& buffers, Handler&& handler) {
    std::visit([&](auto& s) { asio::async_read(s, buffers, std::forward<Handler>(handler)); }, stream_);
  }
  template <typename Buffers, typename Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    std::visit([&](auto& s) { s.async_read_some(buffers, std::forward<Handler>(handler)); }, stream_);
  }
  // Writes all of `buffers` (or fails).
  template <typename Buffers, typename Handler>
  void async_write_all(const Buffers& buffers, Handler&& handler) {
    std::visit([&](auto& s) { asio::async_write(s, buffers, std::forward<Handler>(handler)); }, stream_);
  }

  // TLS only, after the handshake: the common name of the client certificate's subject, when the
  // client sent one (it verified against the CA, or the handshake would have failed).
  std::optional<std::string> peer_common_name();

  // Closes the socket without a TLS close_notify: nothing more is owed to a client being dropped,
  // and waiting for its answer would hold the connection open on its behalf.
  void close() {
    asio::error_code ec;
    socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket().close(ec);
  }

 private:
  std::variant<asio::ip::tcp::socket, tls_stream> stream_;
};

}  // namespace chronik::kafka
