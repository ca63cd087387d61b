// The node's Raft plumbing (docs/architecture.md "The node"): the Raft transport (its KJ thread
// carries the Cap'n Proto RPC, docs/transport.md) and the multi-Raft host (the WAL under
// <data_dir>/raft and its disk thread, docs/raft_host.md), which runs `__meta` and every partition
// group. The node owns it and lends it by reference to the `__meta` and Kafka services.
//
// The host is replaced in one place, reopen(): when the node discards its Raft state to found or
// join another cluster (daemon/raft_state_dir.h), and when a WAL that failed takes writes again
// (docs/storage.md "Disk faults"). The node calls it after the users of the old host let go.
//
// Threading: every member runs on the io thread; the transport posts inbound batches there.
#pragma once

#include <expected>
#include <memory>
#include <string>

#include <asio/io_context.hpp>
#include <spdlog/logger.h>

#include "consensus/groups/raft_host.h"
#include "consensus/transport/raft_transport.h"
#include "daemon/config.h"
#include "daemon/node_identity.h"

namespace chronik::daemon {

class node_raft {
 public:
  node_raft(asio::io_context& io, const node_config& cfg, const node_uuid& uuid, std::shared_ptr<spdlog::logger> log);
  ~node_raft();  // stop()s
  node_raft(const node_raft&) = delete;
  node_raft& operator=(const node_raft&) = delete;

  // Binds the RPC listener, removes Raft state a crash left half discarded, and opens the host
  // (recovering every group's WAL). The error is one log-ready line.
  std::expected<void, std::string> start();
  // The host first (it joins its disk thread), then the transport (its KJ thread stops last).
  // Idempotent.
  void stop();

  // Replaces the host: closes it (joining its disk thread, which releases the WAL's lock), with
  // `discard_state` removes the Raft state on disk, and opens a fresh host from what is durable.
  // After an error there is no host until a later reopen() succeeds.
  std::expected<void, std::string> reopen(bool discard_state);

  // Null before start(), after stop(), and after a failed reopen().
  consensus::raft_host* host() { return host_.get(); }
  const consensus::raft_host* host() const { return host_.get(); }
  consensus::raft_transport& transport() { return *transport_; }
  const consensus::raft_transport& transport() const { return *transport_; }

 private:
  std::expected<void, std::string> open_host();

  asio::io_context& io_;
  const node_config& cfg_;
  node_uuid uuid_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // posted inbound batches check it
  std::unique_ptr<consensus::raft_transport> transport_;
  std::unique_ptr<consensus::raft_host> host_;
};

}  // namespace chronik::daemon
