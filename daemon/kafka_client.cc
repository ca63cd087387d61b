#include "daemon/kafka_client.h"

#include <array>
#include <charconv>
#include <thread>
#include <utility>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/api_versions.h"
#include "kafka/protocol/messages/find_coordinator.h"

namespace chronik::daemon {

namespace {

// The request header's version-dependent parts are the codec's (api.h); only the frame's size
// prefix is ours.
std::string frame(const kafka::request_header& header, const std::function<void(kafka::writer&)>& body) {
  kafka::writer w;
  w.write_int32(0);  // the size, patched below
  kafka::encode_request_header(header, w);
  body(w);
  w.patch_int32(0, static_cast<std::int32_t>(w.size() - 4));
  return w.take();
}

}  // namespace

std::expected<kafka_address, std::string> parse_kafka_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::unexpected("expected HOST:PORT");
  const auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return std::unexpected("port must be 1..65535");
  }
  return kafka_address{std::string(text.substr(0, colon)), static_cast<std::uint16_t>(port)};
}

bool is_coordinator_retriable(kafka::error_code code) {
  return code == kafka::error_code::not_coordinator || code == kafka::error_code::coordinator_load_in_progress ||
         code == kafka::error_code::coordinator_not_available;
}

std::string describe_decode_failure(const kafka_address& at, kafka::api_key key, const kafka::codec_error& e) {
  return "broker " + at.text() + " sent a " + std::string(kafka::to_string(key)) +
         " response that does not decode: " + kafka::describe(e);
}

struct kafka_client::io {
  asio::io_context context;
};

struct kafka_client::connection {
  explicit connection(asio::io_context& io) : socket(io) {}
  asio::ip::tcp::socket socket;
};

namespace {

// Runs one asynchronous operation on `io` to completion or until `timeout`; on timeout the socket
// is closed (which aborts the operation) and timed_out returned. Asio's blocking calls have no
// deadline, hence the asynchronous form run for a bounded time. interrupt() stops `io` after
// setting `interrupted`; the flag is read after restart(), so a stop that restart() cleared is
// never missed: the operation is aborted and operation_aborted returned.
template <class Start>
asio::error_code run_bounded(asio::io_context& io, asio::ip::tcp::socket& socket, std::chrono::milliseconds timeout,
                             const std::atomic<bool>& interrupted, Start&& start) {
  std::optional<asio::error_code> result;
  start([&result](asio::error_code ec, auto&&...) { result = ec; });
  io.restart();
  if (!interrupted.load()) io.run_for(timeout);
  if (result && !interrupted.load()) return *result;
  asio::error_code ignored;
  socket.close(ignored);
  io.restart();
  io.run();  // the aborted handler runs now, while `result` still exists
  return interrupted.load() ? asio::error::operation_aborted : asio::error::timed_out;
}

}  // namespace

kafka_client::kafka_client(kafka_address bootstrap, kafka_client_options options)
    : bootstrap_(std::move(bootstrap)), options_(options), io_(std::make_unique<io>()) {}

kafka_client::~kafka_client() = default;

void kafka_client::drop(const kafka_address& at) { connections_.erase(at); }

void kafka_client::interrupt() {
  interrupted_.store(true);
  io_->context.stop();
}

void kafka_client::backoff() const { std::this_thread::sleep_for(options_.retry_backoff); }

std::expected<kafka_client::connection*, std::string> kafka_client::connect(const kafka_address& at) {
  if (auto it = connections_.find(at); it != connections_.end()) return it->second.get();
  asio::error_code ec;
  asio::ip::tcp::resolver resolver(io_->context);
  const auto endpoints = resolver.resolve(at.host, std::to_string(at.port), ec);
  if (ec) return std::unexpected("cannot resolve " + at.text() + ": " + ec.message());
  auto conn = std::make_unique<connection>(io_->context);
  ec = run_bounded(io_->context, conn->socket, options_.connect_timeout, interrupted_, [&](auto handler) {
    asio::async_connect(conn->socket, endpoints, handler);
  });
  if (ec) {
    return std::unexpected("cannot reach broker " + at.text() + ": " + ec.message() +
                           " (is a node running there, is --bootstrap right?)");
  }
  conn->socket.set_option(asio::ip::tcp::no_delay(true), ec);
  return connections_.emplace(at, std::move(conn)).first->second.get();
}

std::expected<std::string, std::string> kafka_client::exchange(const kafka_address& at, kafka::api_key key,
                                                               std::int16_t version,
                                                               const std::function<void(kafka::writer&)>& body) {
  auto conn = connect(at);
  if (!conn) return std::unexpected(conn.error());
  auto& socket = (*conn)->socket;
  const std::int32_t correlation_id = next_correlation_id_++;
  const std::string request = frame({key, version, correlation_id, options_.client_id}, body);
  const std::string what = std::string(kafka::to_string(key)) + " to broker " + at.text();

  auto ec = run_bounded(io_->context, socket, options_.request_timeout, interrupted_,
                        [&](auto handler) { asio::async_write(socket, asio::buffer(request), handler); });
  std::array<unsigned char, 4> size_bytes{};
  if (!ec) {
    ec = run_bounded(io_->context, socket, options_.request_timeout, interrupted_,
                     [&](auto handler) { asio::async_read(socket, asio::buffer(size_bytes), handler); });
  }
  if (ec) {
    drop(at);
    return std::unexpected(what + " failed: " + ec.message());
  }
  const std::uint32_t size = (std::uint32_t{size_bytes[0]} << 24U) | (std::uint32_t{size_bytes[1]} << 16U) |
                             (std::uint32_t{size_bytes[2]} << 8U) | std::uint32_t{size_bytes[3]};
  if (size > options_.max_response_bytes) {
    drop(at);
    return std::unexpected(what + ": response of " + std::to_string(size) + " bytes is over the limit");
  }
  std::string response(size, '\0');
  ec = run_bounded(io_->context, socket, options_.request_timeout, interrupted_,
                   [&](auto handler) { asio::async_read(socket, asio::buffer(response), handler); });
  if (ec) {
    drop(at);
    return std::unexpected(what + " failed: " + ec.message());
  }
  kafka::reader r(std::string_view{response});
  const auto corr = kafka::decode_response_header(r, key, version);
  if (!corr || *corr != correlation_id) {
    drop(at);
    return std::unexpected(what + ": the response does not answer the request (correlation id)");
  }
  return response.substr(r.offset());
}

std::expected<kafka::version_range, std::string> kafka_client::broker_versions(const kafka_address& at,
                                                                               kafka::api_key key) {
  if (!versions_.contains(at)) {
    // v3 is what current clients send; a broker that does not know it answers
    // UNSUPPORTED_VERSION in a v0 body, which the v3 decoder reads (ApiVersions' header is v0).
    constexpr std::int16_t version = 3;
    auto body = exchange(at, kafka::api_key::api_versions, version, [this](kafka::writer& w) {
      kafka::encode_api_versions_request({options_.client_id, "1"}, version, w);
    });
    if (!body) return std::unexpected(body.error());
    kafka::reader r(std::string_view{*body});
    auto answer = kafka::decode_api_versions_response(r, version);
    if (!answer) return std::unexpected(describe_decode_failure(at, kafka::api_key::api_versions, answer.error()));
    if (answer->error != kafka::error_code::none) {
      return std::unexpected("broker " + at.text() + " refused ApiVersions: " +
                             std::string(kafka::to_string(answer->error)));
    }
    auto& known = versions_[at];
    for (const auto& entry : answer->api_keys) {
      known[static_cast<std::int16_t>(entry.key)] = {entry.min_version, entry.max_version};
    }
  }
  const auto& known = versions_[at];
  const auto it = known.find(static_cast<std::int16_t>(key));
  if (it == known.end()) {
    return std::unexpected("broker " + at.text() + " does not support " + std::string(kafka::to_string(key)) +
                           " (key " + std::to_string(static_cast<int>(key)) + ")");
  }
  return it->second;
}

std::expected<std::int16_t, std::string> kafka_client::pick_version(const kafka_address& at, kafka::api_key key,
                                                                    kafka::version_range ours) {
  const auto theirs = broker_versions(at, key);
  if (!theirs) return std::unexpected(theirs.error());
  const std::int16_t version = std::min(ours.max, theirs->max);
  if (version < ours.min || version < theirs->min) {
    return std::unexpected("broker " + at.text() + " and this CLI share no version of " +
                           std::string(kafka::to_string(key)));
  }
  return version;
}

std::expected<kafka::metadata_response, std::string> kafka_client::metadata(
    const std::optional<std::vector<std::string>>& topics) {
  return call<kafka::metadata_response>(
      bootstrap_, kafka::api_key::metadata, {1, kafka::metadata_versions.max},
      [&](kafka::writer& w, std::int16_t v) {
        kafka::metadata_request req;
        req.allow_auto_topic_creation = false;
        if (topics) {
          req.topics.emplace();
          for (const auto& t : *topics) req.topics->push_back({{}, t});
        }
        kafka::encode_metadata_request(req, v, w);
      },
      kafka::decode_metadata_response);
}

std::expected<std::expected<kafka_address, kafka::error_code>, std::string> kafka_client::lookup_coordinator(
    const std::string& group) {
  auto answer = call<kafka::find_coordinator_response>(
      bootstrap_, kafka::api_key::find_coordinator, kafka::find_coordinator_versions,
      [&](kafka::writer& w, std::int16_t v) {
        kafka::find_coordinator_request req;
        if (v >= 4) {
          req.coordinator_keys = {group};
        } else {
          req.key = group;
        }
        kafka::encode_find_coordinator_request(req, v, w);
      },
      kafka::decode_find_coordinator_response);
  if (!answer) return std::unexpected(answer.error());
  // v4+ answers per key (KIP-699); earlier versions at the top level.
  kafka::coordinator_entry e{group, answer->node_id, answer->host, answer->port, answer->error, answer->error_message};
  if (!answer->coordinators.empty()) e = answer->coordinators.front();
  using lookup = std::expected<kafka_address, kafka::error_code>;
  if (e.error != kafka::error_code::none) return lookup(std::unexpect, e.error);
  if (e.port <= 0 || e.port > 65535) return std::unexpected("FindCoordinator answered port " + std::to_string(e.port));
  return lookup(kafka_address{e.host, static_cast<std::uint16_t>(e.port)});
}

std::expected<kafka_address, std::string> kafka_client::find_coordinator(const std::string& group) {
  std::string last_error;
  for (int attempt = 0; attempt < options_.coordinator_attempts; ++attempt) {
    if (attempt > 0) backoff();
    const auto found = lookup_coordinator(group);
    if (!found) return std::unexpected(found.error());
    if (*found) return **found;
    last_error = std::string(kafka::to_string(found->error()));
    if (!is_coordinator_retriable(found->error())) break;
  }
  return std::unexpected("no coordinator for group \"" + group + "\": " + last_error);
}

std::expected<void, std::string> kafka_client::at_coordinator(const std::string& group,
                                                              const coordinator_attempt& attempt) {
  // One loop bounds both the lookups and the attempts: a coordinator that is not elected yet and
  // one that moves under the request are retried alike.
  std::string last_error;
  for (int n = 0; n < options_.coordinator_attempts; ++n) {
    if (n > 0) backoff();
    const auto found = lookup_coordinator(group);
    if (!found) return std::unexpected(found.error());
    if (!*found) {
      last_error = std::string(kafka::to_string(found->error()));
      if (!is_coordinator_retriable(found->error())) {
        return std::unexpected("no coordinator for group \"" + group + "\": " + last_error);
      }
      continue;
    }
    const kafka_address& coordinator = **found;
    const auto outcome = attempt(coordinator);
    if (!outcome) {
      // A coordinator that cannot be reached or dropped the connection (exchange() forgets a
      // connection on any I/O failure) may be a node that just stopped while FindCoordinator
      // still names it: look again, as Kafka's clients do after a disconnect. A broker that
      // answered something unusable keeps its connection and ends the command.
      if (connections_.contains(coordinator)) return std::unexpected(outcome.error());
      last_error = outcome.error();
      continue;
    }
    if (*outcome == kafka::error_code::none) return {};
    last_error = std::string(kafka::to_string(*outcome));
    if (!is_coordinator_retriable(*outcome)) {
      return std::unexpected("coordinator " + coordinator.text() + " answered " + last_error + " for group \"" +
                             group + "\"");
    }
  }
  return std::unexpected("group \"" + group + "\": still failing after " +
                         std::to_string(options_.coordinator_attempts) + " attempts: " + last_error);
}

}  // namespace chronik::daemon
