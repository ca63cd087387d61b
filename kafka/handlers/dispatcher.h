// The Kafka request handler of the server (kafka/server/request_handler.h): decodes each frame's
// request header, finds the API's handler and checks the version, then lets the handler answer.
//
// Unsupported versions: ApiVersions answers a v0 body with UNSUPPORTED_VERSION and the supported
// ranges (librdkafka then retries with v0, docs/design.md "Client quirks"); any other API answers
// by closing the connection, as Kafka brokers do, with one log line. So does an unknown API key
// or a malformed header.
#pragma once

#include <memory>

#include <spdlog/logger.h>

#include "kafka/handlers/broker_context.h"
#include "kafka/handlers/request_metrics.h"
#include "kafka/server/request_handler.h"

namespace chronik::kafka {

class dispatcher : public request_handler {
 public:
  dispatcher(broker_context& ctx, std::shared_ptr<spdlog::logger> log) : ctx_(ctx), log_(std::move(log)) {}
  void handle(const client_info& client, std::string frame, reply_fn reply) override;
  // A sasl_gate (sasl_gate.h) over this broker's mechanisms and SCRAM credentials.
  std::unique_ptr<authenticator> new_authenticator(const client_info& client) override;
  // Requests answered since start, per API (io thread; request_metrics.h).
  const request_metrics& metrics() const { return *metrics_; }

 private:
  broker_context& ctx_;
  std::shared_ptr<spdlog::logger> log_;
  // Shared with every responder in flight (handler.h), which may outlive the dispatcher.
  std::shared_ptr<request_metrics> metrics_ = std::make_shared<request_metrics>();
};

}  // namespace chronik::kafka
