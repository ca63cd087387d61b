#include "kafka/server/auth_worker.h"

#include <cassert>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace chronik::kafka {

auth_worker::auth_worker(std::size_t max_queued) : max_queued_(max_queued), thread_([this] { run(); }) {
  assert(max_queued_ > 0);
}

auth_worker::~auth_worker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

bool auth_worker::submit(std::function<void()>& job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= max_queued_) {
      ++counters_.refused;
      return false;
    }
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

auth_worker::counters auth_worker::stats() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void auth_worker::run() {
  // Linux applies a nice value per thread (setpriority on the thread id, see setpriority(2)
  // BUGS): only this thread yields to the io thread. Failure (a container forbidding it) only
  // costs the priority, never the logins.
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    auto job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // whatever the job captured goes before the lock is taken again
    lock.lock();
    ++counters_.ran;
  }
}

}  // namespace chronik::kafka
