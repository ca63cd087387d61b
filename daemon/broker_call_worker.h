// Kafka requests this node sends to other brokers over their Kafka port: a transaction
// coordinator's markers (daemon/txn_marker_client.h) and a follower's DescribeQuorum to the
// `__meta` leader (daemon/kafka_quorum.cc). chronik has no broker-to-broker Kafka connection on
// the io thread, and daemon::kafka_client is blocking, so one worker thread owns one client (a
// connection per broker, bounded connect and request timeouts) and runs the calls in the order
// they were queued; what each call hands back runs on the io thread.
//
// The queue is bounded: a call beyond the bound is refused at once, so a broker that stops
// answering cannot make the node grow memory without limit. Destruction interrupts the request in
// flight (kafka_client::interrupt), joins the worker and drops what the calls handed back that has
// not run yet, so nothing runs on the io thread after the owner is gone.
//
// Threading: submit(), post() and the destructor on the io thread; a call's body on the worker,
// what it hands back on the io thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <asio/io_context.hpp>

#include "daemon/kafka_client.h"

namespace chronik::daemon {

struct broker_call_worker_options {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{10000};
  // Calls queued and not yet finished (the one in flight included).
  std::size_t max_queued = 1024;
};

class broker_call_worker {
 public:
  // Runs on the worker thread with its client; returns what then runs on the io thread.
  using call = std::function<std::function<void()>(kafka_client&)>;

  broker_call_worker(asio::io_context& io, broker_call_worker_options options);
  ~broker_call_worker();  // interrupts, joins; nothing it posted runs after this
  broker_call_worker(const broker_call_worker&) = delete;
  broker_call_worker& operator=(const broker_call_worker&) = delete;

  // Queues `c`. False when max_queued calls are queued or in flight: `c` never runs then.
  bool submit(call c);
  // Runs `f` on the io thread, never inline, unless this worker is destroyed first.
  void post(std::function<void()> f);
  const broker_call_worker_options& options() const { return options_; }

 private:
  // Shared with what is posted to the io_context: read and written on the io thread only (post,
  // the destructor and the posted functions all run there), so a posted function that finds
  // `alive` false after the destructor ran drops itself.
  struct shared {
    bool alive = true;
  };

  void run();

  asio::io_context& io_;
  broker_call_worker_options options_;
  std::shared_ptr<shared> shared_;
  std::mutex mu_;
  kafka_client* client_ = nullptr;  // the worker's, while it runs; guarded by mu_ (to interrupt it)
  std::condition_variable wake_;
  std::deque<call> queue_;     // guarded by mu_
  std::size_t in_flight_ = 0;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  std::thread worker_;         // last: starts after everything above is initialised
};

}  // namespace chronik::daemon
