// What a listener does when accept() fails (docs/kafka.md "Server"): at the descriptor limit
// (EMFILE, ENFILE) or out of kernel buffers, accept fails again at once for as long as the
// condition lasts, so retrying at once spins the io thread and floods the log. The listener
// waits instead, 10 ms after the first failure, doubling up to 1 s, and logs at most one line
// per interval with a count of the lines it held back. Pure: the caller passes the time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

namespace chronik::kafka {

class accept_backoff {
 public:
  static constexpr std::chrono::milliseconds first_delay{10};
  static constexpr std::chrono::milliseconds max_delay{1000};

  // An accept failed: how long to wait before the next one.
  std::chrono::milliseconds failed() {
    next_ = next_.count() == 0 ? first_delay : std::min(next_ * 2, max_delay);
    return next_;
  }
  // An accept succeeded: the next failure starts from first_delay again.
  void succeeded() { next_ = std::chrono::milliseconds{0}; }

 private:
  std::chrono::milliseconds next_{0};
};

class log_rate_limit {
 public:
  explicit log_rate_limit(std::chrono::milliseconds interval = std::chrono::seconds(1)) : interval_(interval) {}
  // A line may be logged at `now`: returns how many were held back since the last one logged;
  // nullopt when this one must be held back too.
  std::optional<std::uint64_t> allow(std::chrono::steady_clock::time_point now) {
    if (logged_once_ && now < last_ + interval_) {
      ++held_back_;
      return std::nullopt;
    }
    logged_once_ = true;
    last_ = now;
    return std::exchange(held_back_, 0);
  }

 private:
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point last_{};
  bool logged_once_ = false;
  std::uint64_t held_back_ = 0;
};

}  // namespace chronik::kafka
