// Tells systemd how the node's life goes when it runs as a `Type=notify` unit (sd_notify(3), the
// packaged unit packaging/chronik.service): READY=1 once the node serves, RELOADING=1 then READY=1
// around a SIGHUP reload, STOPPING=1 when it starts to shut down, and a STATUS= line saying why it
// is not ready yet. A thin shell over libsystemd's sd_notify: without NOTIFY_SOCKET in the
// environment (not started by systemd) every call does nothing.
//
// "Serves" reuses what the node already knows: its listeners are up (node::start() returned, so the
// Kafka acceptor accepts) and `__meta` reports it healthy, the same predicate as /health answering
// 200: it is a registered broker of a formed cluster whose `__meta` group has a known leader
// (docs/operations.md "Installing the package"). A fresh node that waits for `bootstrap_expect`
// peers is therefore not ready until the cluster forms.
#pragma once

#include <string>
#include <string_view>

namespace chronik::daemon {

class systemd_notifier {
 public:
  // The node's listeners are up (end of node::start()).
  void listeners_up();
  // `__meta`'s health changed (meta_service::on_health): READY=1 the first time the node serves,
  // STATUS= with the reason while it does not.
  void on_health(bool ready, std::string_view reason);
  // Around a SIGHUP reload: RELOADING=1 (with MONOTONIC_USEC, as systemd >= 253 asks) before,
  // READY=1 after. Nothing when the node never became ready: READY=1 would claim it serves.
  void reloading();
  void reloaded();
  // The node starts to shut down (a signal's leave, or any other end); sent once.
  void stopping();

 private:
  void send(const std::string& message);
  void maybe_ready();

  bool listeners_up_ = false;
  bool healthy_ = false;
  bool ready_sent_ = false;
  bool stopping_sent_ = false;
};

}  // namespace chronik::daemon
