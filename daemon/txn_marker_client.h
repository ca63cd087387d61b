// Sends transaction markers to other brokers (docs/transactions.md "Markers between brokers").
//
// A transaction coordinator must write a COMMIT or ABORT control batch into every partition the
// transaction touched (KIP-98 "WriteTxnMarkers"); the partitions this node does not lead are
// written by their leaders, asked with Kafka's own WriteTxnMarkers request over the Kafka port,
// exactly as a Kafka coordinator asks its peers. The requests go through a broker_call_worker
// (daemon/broker_call_worker.h): one worker thread, one blocking connection per broker, bounded
// connect and request timeouts, in the order they were queued; each outcome is posted back to the
// io_context.
//
// The queue is bounded: a send beyond the bound fails at once (posted, never inline), so a broker
// that stops answering cannot make the coordinator grow memory without limit. Destruction
// interrupts the worker, joins it and drops the callbacks of sends not yet answered, so nothing
// runs on the io thread after the owner is gone.
//
// Threading: send() and the destructor on the io thread; the callbacks run on the io thread.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <spdlog/logger.h>

#include "daemon/broker_call_worker.h"
#include "daemon/kafka_client.h"
#include "kafka/protocol/error_code.h"
#include "kafka/txn/txn_coordinator.h"

namespace chronik::daemon {

struct remote_marker {  // one marker of a WriteTxnMarkers request
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  bool commit = false;
  std::int32_t coordinator_epoch = 0;
  std::vector<kafka::txn_partition> partitions;  // kafka/txn/txn_coordinator.h
};

// Per marker (request order), per partition (request order): Kafka's error code.
using remote_marker_results = std::vector<std::vector<kafka::error_code>>;
using remote_marker_done = std::function<void(std::expected<remote_marker_results, std::string>)>;

// Bounds of the worker; the defaults suit a coordinator, tests shorten them.
using txn_marker_client_options = broker_call_worker_options;

class txn_marker_client {
 public:
  txn_marker_client(asio::io_context& io, std::shared_ptr<spdlog::logger> log);
  txn_marker_client(asio::io_context& io, std::shared_ptr<spdlog::logger> log, txn_marker_client_options options);
  ~txn_marker_client();  // stops and joins its worker; pending callbacks are dropped
  txn_marker_client(const txn_marker_client&) = delete;
  txn_marker_client& operator=(const txn_marker_client&) = delete;

  // Sends one WriteTxnMarkers (v1, or what the broker supports) to `broker`. `done` runs on the
  // io thread exactly once (unless destroyed first): the per-partition codes, or one line saying
  // why the request failed as a whole (connect, timeout, decode). Never blocks the io thread.
  void send(kafka_address broker, std::vector<remote_marker> markers, remote_marker_done done);

 private:
  std::shared_ptr<spdlog::logger> log_;
  broker_call_worker worker_;
};

}  // namespace chronik::daemon
