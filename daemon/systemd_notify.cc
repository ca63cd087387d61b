#include "daemon/systemd_notify.h"

#include <time.h>

#include <cstdint>

#include <systemd/sd-daemon.h>

namespace chronik::daemon {

void systemd_notifier::send(const std::string& message) {
  // 0: keep NOTIFY_SOCKET, later messages (reload, stop) need it too. A failed send (the socket
  // gone, systemd busy) is not the node's problem: systemd's start timeout reports it.
  (void)sd_notify(0, message.c_str());
}

void systemd_notifier::listeners_up() {
  listeners_up_ = true;
  if (!healthy_) send("STATUS=listeners up, waiting for the cluster");
  maybe_ready();
}

void systemd_notifier::on_health(bool ready, std::string_view reason) {
  healthy_ = ready;
  if (ready) {
    maybe_ready();
    if (ready_sent_) send("STATUS=serving");
    return;
  }
  send("STATUS=not ready: " + std::string(reason));
}

void systemd_notifier::maybe_ready() {
  if (ready_sent_ || stopping_sent_ || !listeners_up_ || !healthy_) return;
  ready_sent_ = true;
  send("READY=1\nSTATUS=serving");
}

void systemd_notifier::reloading() {
  if (!ready_sent_ || stopping_sent_) return;
  // systemd 253's Type=notify-reload matches RELOADING=1 to the reload by this timestamp
  // (sd_notify(3) "MONOTONIC_USEC="); older versions ignore it.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000U + static_cast<std::uint64_t>(ts.tv_nsec) / 1000U;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void systemd_notifier::reloaded() {
  if (!ready_sent_ || stopping_sent_) return;
  send("READY=1");
}

void systemd_notifier::stopping() {
  if (stopping_sent_) return;
  stopping_sent_ = true;
  send("STOPPING=1\nSTATUS=stopping");
}

}  // namespace chronik::daemon
