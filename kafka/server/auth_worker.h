// The thread that runs the slow part of client logins: a SASL/PLAIN token's PBKDF2, 3 ms at 4096
// iterations and 13 ms at 16384 (docs/security.md "What a login costs"). On the Kafka io thread,
// which also ticks Raft and gossip, a storm of PLAIN logins delayed ticks enough to cost Raft
// elections. Here the work runs at a lower CPU priority (nice +10), so on a busy machine the
// io thread comes first, and logins wait rather than the cluster.
//
// One thread and a bounded queue: a login storm costs at most one core's share the scheduler
// leaves it, and a queue that is full refuses more work (the connection closes; the client
// retries) instead of growing without bound.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace chronik::kafka {

class auth_worker {
 public:
  // Kafka io threads serve a few thousand connections; more logins than this waiting at once
  // means a storm, and the queue's tail would wait seconds anyway.
  static constexpr std::size_t default_max_queued = 256;

  explicit auth_worker(std::size_t max_queued = default_max_queued);
  // Stops the thread after the job it runs; jobs still queued are destroyed without running.
  ~auth_worker();
  auth_worker(const auth_worker&) = delete;
  auth_worker& operator=(const auth_worker&) = delete;

  // Queues `job` to run on the worker thread. False (and `job` untouched) when the queue is full.
  // The job must hand its results back to its owner's thread itself (asio::post).
  bool submit(std::function<void()>& job);

  struct counters {
    std::uint64_t ran = 0;
    std::uint64_t refused = 0;  // queue full
  };
  counters stats() const;

 private:
  void run();

  const std::size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  counters counters_;
  bool stopping_ = false;
  std::thread thread_;  // last: started after the members it reads
};

}  // namespace chronik::kafka
