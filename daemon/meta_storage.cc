// meta_service: disk faults (docs/storage.md "Disk faults", docs/operations.md "Full disk").
//
// A failed WAL write or fsync fences the Raft host (raft_host::failed): it persists, sends,
// applies and steps nothing more, so every group it led elects a new leader elsewhere and it
// votes nowhere. This file is the node's side: it tells the owner (which announces the fence in
// gossip), probes the data directory every few seconds, and once the directory takes writes
// again reopens the WAL from disk and restarts `__meta` and the partition groups from it, the
// same path a restart takes. If that reopen fails, the owner exits so a supervisor restarts it.
#include <chrono>

#include "base/assert.h"
#include "daemon/meta_service.h"
#include "daemon/storage_probe.h"

namespace chronik::daemon {
namespace {

// How often a fenced node looks at its data directory again. Each look costs a statvfs, and a
// 1 MiB write and fdatasync once 16 MiB are free (storage_probe.h).
constexpr auto storage_probe_interval = std::chrono::seconds(2);

}  // namespace

std::set<std::uint64_t> meta_service::storage_failed_nodes() const {
  std::set<std::uint64_t> out = fenced_peers_;
  if (const auto* host = raft_.host(); host != nullptr && host->failed()) out.insert(cfg_.node_id.value());
  return out;
}

void meta_service::watch_storage(std::chrono::steady_clock::time_point now) {
  if (!fenced_) {
    fenced_ = true;
    next_storage_probe_ = now + storage_probe_interval;
    log_->critical("storage: this node is fenced (its WAL failed: {}); it serves nothing until {} has "
                   "room again, checked every {} s", raft_.host()->failure(), cfg_.data_dir.string(),
                   std::chrono::duration_cast<std::chrono::seconds>(storage_probe_interval).count());
    if (storage_) storage_(true);
    return;
  }
  if (now < next_storage_probe_) return;
  next_storage_probe_ = now + storage_probe_interval;
  if (auto p = probe_storage(cfg_.data_dir); !p) {
    log_->warn("storage: still fenced: {}", p.error());
    return;
  }
  reopen_storage();
}

// Everything that ran on the failed host goes, and comes back from what is durable: `__meta`
// replays its snapshot and log into a fresh state machine, and the partition replicas are
// created again from it (the node drops kafka_service's replicas before it replaces the host,
// node::replace_host). Nothing acknowledged is lost:
// an acknowledged write was fdatasynced before its answer (docs/storage.md), and discard_unsynced
// cuts only what no fdatasync confirmed.
void meta_service::reopen_storage() {
  if (auto r = raft_.host()->discard_unsynced(); !r) {
    log_->warn("storage: still fenced: cannot cut the WAL back to its synced size: {}", r.error().text);
    return;  // the next probe tries again; the host is still the failed one
  }
  log_->warn("storage: {} takes writes again: reopening the WAL", cfg_.data_dir.string());
  CHRONIK_ASSERT(replace_host_ != nullptr, "the node sets on_replace_host before the first tick");
  auto replaced = replace_host_(false);
  liveness_.clear();
  core_.reset();  // a fresh state machine; pending reads fail
  carry_out();
  if (!replaced) {
    log_->critical("storage: {}; exiting so that the node is restarted", replaced.error());
    if (storage_lost_) storage_lost_(replaced.error());
    return;
  }
  fenced_ = false;
  const bool was_running = core_.running();
  const std::string cluster_id = core_.cluster_id();
  core_.close_group();
  if (was_running) open_group(cluster_id, consensus::conf_state{}, false);
  log_->warn("storage: WAL reopened, {} groups recovered; this node serves again",
             raft_.host()->recovered_groups().size());
  if (storage_) storage_(false);
}

}  // namespace chronik::daemon
