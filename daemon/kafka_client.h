// A small blocking Kafka client for the `chronik-server group ...` commands. Group state is only
// reachable through the Kafka protocol, at the group's coordinator (the leader of its
// `__consumer_offsets` partition, docs/kafka.md "Consumer groups"), which may be any node: the CLI
// therefore speaks Kafka, with chronik's own generated codecs, not the admin HTTP endpoint.
//
// One request at a time on one connection per broker; every connect, write and read has a
// deadline, so the CLI never hangs on a stuck broker. Versions are negotiated per broker with
// ApiVersions (the highest version both sides implement). Failures are one line of text meant for
// an operator, naming the broker and what went wrong.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/protocol/api.h"
#include "kafka/protocol/error_code.h"
#include "kafka/protocol/messages/metadata.h"
#include "kafka/protocol/wire.h"

namespace chronik::daemon {

struct kafka_address {
  std::string host;
  std::uint16_t port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
  auto operator<=>(const kafka_address&) const = default;
};

// "HOST:PORT" (HOST an IPv4 address or a name); the port 1..65535.
std::expected<kafka_address, std::string> parse_kafka_address(std::string_view text);

struct kafka_client_options {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{10000};
  // Coordinator errors (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
  // COORDINATOR_NOT_AVAILABLE) are retried this many times, this far apart: a coordinator that
  // moves or loads its partition answers again within a few election timeouts.
  int coordinator_attempts = 20;
  std::chrono::milliseconds retry_backoff{500};
  // A response larger than this is refused rather than allocated.
  std::uint32_t max_response_bytes = 64U << 20U;
  // The request header's client id (and ApiVersions' software name): the CLI's by default, a
  // node's own requests to other brokers use kafka::inter_broker_client_id.
  std::string client_id = "chronik-cli";
};

// True for the errors that mean "ask FindCoordinator again and retry" (Kafka's
// GroupCoordinator: the group moved, or its partition is still loading).
bool is_coordinator_retriable(kafka::error_code code);

class kafka_client {
 public:
  explicit kafka_client(kafka_address bootstrap, kafka_client_options options = {});
  ~kafka_client();
  kafka_client(const kafka_client&) = delete;
  kafka_client& operator=(const kafka_client&) = delete;

  const kafka_address& bootstrap() const { return bootstrap_; }
  const kafka_client_options& options() const { return options_; }
  // Waits options().retry_backoff before a retry.
  void backoff() const;

  // Sends one request (encode writes its body) to `at` and decodes the answer with `decode`, at
  // the highest version of `key` that both `ours` and the broker cover.
  template <class Response>
  std::expected<Response, std::string> call(
      const kafka_address& at, kafka::api_key key, kafka::version_range ours,
      const std::function<void(kafka::writer&, std::int16_t)>& encode,
      const std::function<std::expected<Response, kafka::codec_error>(kafka::reader&, std::int16_t)>& decode);

  // Metadata for `topics` (nullopt: every topic), asked of the bootstrap broker; never creates
  // topics.
  std::expected<kafka::metadata_response, std::string> metadata(
      const std::optional<std::vector<std::string>>& topics);

  // The coordinator of `group`, asked of the bootstrap broker; coordinator errors are retried.
  std::expected<kafka_address, std::string> find_coordinator(const std::string& group);

  // Runs `attempt` at the coordinator of `group`. When it reports a coordinator error (see
  // is_coordinator_retriable) the coordinator is looked up again and the attempt repeated; a lookup
  // answering such an error counts as a turn too, and there are options.coordinator_attempts turns
  // in all. A coordinator that cannot be reached, or drops the connection, is looked up again
  // too (it may have just stopped). Any other error code ends it with a line naming the code.
  using coordinator_attempt = std::function<std::expected<kafka::error_code, std::string>(const kafka_address&)>;
  std::expected<void, std::string> at_coordinator(const std::string& group, const coordinator_attempt& attempt);

  // From any thread: the exchange in progress on the client's thread ends at once, and so does
  // every later one, failing as aborted (an owner stopping the thread that uses the client,
  // daemon/txn_marker_client.h). Not undone.
  void interrupt();

  // The broker's version range for `key`, from ApiVersions (asked once per broker).
  std::expected<kafka::version_range, std::string> broker_versions(const kafka_address& at, kafka::api_key key);

 private:
  struct connection;
  // The response body (after the response header) of one request of `key` at `version`.
  std::expected<std::string, std::string> exchange(const kafka_address& at, kafka::api_key key,
                                                   std::int16_t version,
                                                   const std::function<void(kafka::writer&)>& body);
  std::expected<connection*, std::string> connect(const kafka_address& at);
  // One FindCoordinator: the coordinator's address, or the error code the broker answered.
  std::expected<std::expected<kafka_address, kafka::error_code>, std::string> lookup_coordinator(
      const std::string& group);
  std::expected<std::int16_t, std::string> pick_version(const kafka_address& at, kafka::api_key key,
                                                        kafka::version_range ours);
  void drop(const kafka_address& at);

  kafka_address bootstrap_;
  kafka_client_options options_;
  struct io;
  std::unique_ptr<io> io_;
  std::map<kafka_address, std::unique_ptr<connection>> connections_;
  std::map<kafka_address, std::map<std::int16_t, kafka::version_range>> versions_;
  std::int32_t next_correlation_id_ = 1;
  std::atomic<bool> interrupted_{false};
};

// "what failed: <codec description>" for a response that did not decode.
std::string describe_decode_failure(const kafka_address& at, kafka::api_key key, const kafka::codec_error& e);

template <class Response>
std::expected<Response, std::string> kafka_client::call(
    const kafka_address& at, kafka::api_key key, kafka::version_range ours,
    const std::function<void(kafka::writer&, std::int16_t)>& encode,
    const std::function<std::expected<Response, kafka::codec_error>(kafka::reader&, std::int16_t)>& decode) {
  const auto version = pick_version(at, key, ours);
  if (!version) return std::unexpected(version.error());
  auto body = exchange(at, key, *version, [&](kafka::writer& w) { encode(w, *version); });
  if (!body) return std::unexpected(body.error());
  kafka::reader r(std::string_view{*body});
  auto decoded = decode(r, *version);
  if (!decoded) return std::unexpected(describe_decode_failure(at, key, decoded.error()));
  return std::move(*decoded);
}

}  // namespace chronik::daemon
