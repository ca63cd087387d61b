#include "daemon/broker_call_worker.h"

#include <utility>

#include <asio/post.hpp>

#include "kafka/handlers/broker_context.h"

namespace chronik::daemon {

broker_call_worker::broker_call_worker(asio::io_context& io, broker_call_worker_options options)
    : io_(io), options_(options), shared_(std::make_shared<shared>()) {
  worker_ = std::thread([this] { run(); });
}

broker_call_worker::~broker_call_worker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    // A request in progress would hold the join for up to request_timeout.
    if (client_ != nullptr) client_->interrupt();
  }
  wake_.notify_all();
  worker_.join();
  shared_->alive = false;
}

bool broker_call_worker::submit(call c) {
  std::lock_guard lock(mu_);
  if (queue_.size() + in_flight_ >= options_.max_queued) return false;
  queue_.push_back(std::move(c));
  wake_.notify_one();
  return true;
}

void broker_call_worker::post(std::function<void()> f) {
  asio::post(io_, [sh = shared_, f = std::move(f)] {
    if (sh->alive) f();
  });
}

void broker_call_worker::run() {
  kafka_client_options copts;
  copts.connect_timeout = options_.connect_timeout;
  copts.request_timeout = options_.request_timeout;
  copts.client_id = std::string(kafka::inter_broker_client_id);
  kafka_client client(kafka_address{}, copts);  // no bootstrap: every call names its broker
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    client_ = &client;
  }
  for (;;) {
    call c;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      c = std::move(queue_.front());
      queue_.pop_front();
      in_flight_ = 1;
    }
    auto then = c(client);
    {
      std::lock_guard lock(mu_);
      in_flight_ = 0;
      if (stopping_) break;
    }
    if (then) post(std::move(then));
  }
  std::lock_guard lock(mu_);
  client_ = nullptr;
}

}  // namespace chronik::daemon
