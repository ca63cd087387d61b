// The multi-Raft host's shell: opening the WAL and forwarding the owner's commands to the core
// (host_core.h). Posting flushes, disk completions and carrying out the core's output are in
// raft_host_flush.cc.
#include "consensus/groups/raft_host.h"

#include <algorithm>
#include <asio/post.hpp>
#include <spdlog/spdlog.h>

namespace chronik::consensus {
namespace {

spdlog::level::level_enum to_spdlog(log_level l) {
  switch (l) {
    case log_level::debug: return spdlog::level::debug;
    case log_level::info: return spdlog::level::info;
    case log_level::warn: return spdlog::level::warn;
    case log_level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

host_error error(host_errc code, std::string text) { return {code, raft_errc::not_leader, std::move(text)}; }

}  // namespace

raft_host::raft_host(asio::io_context& io, host_config cfg, outbox_fn outbox,
                     std::shared_ptr<spdlog::logger> log)
    : io_(io), cfg_(std::move(cfg)), outbox_(std::move(outbox)), log_(std::move(log)), metrics_(cfg_.self) {}

std::expected<std::unique_ptr<raft_host>, host_error> raft_host::open(
    asio::io_context& io, host_config cfg, outbox_fn outbox, std::shared_ptr<spdlog::logger> log) {
  if (auto v = cfg.validate(); !v) return std::unexpected(error(host_errc::invalid_argument, v.error()));
  if (!log) log = spdlog::default_logger();
  if (!cfg.wal.sink) {
    cfg.wal.sink = [log, self = cfg.self.value()](log_level l, std::string_view text) {
      log->log(to_spdlog(l), "[{}] {}", self, text);
    };
  }
  std::unique_ptr<raft_host> h(new raft_host(io, std::move(cfg), std::move(outbox), std::move(log)));
  auto w = wal::open(h->cfg_.data_dir, h->cfg_.wal);
  if (!w) return std::unexpected(error(host_errc::storage_failed, w.error().text));
  h->wal_ = std::move(*w);
  auto removed = removed_groups::open(h->cfg_.data_dir);
  if (!removed) return std::unexpected(error(host_errc::storage_failed, removed.error().text));
  h->removed_durable_ = std::make_unique<removed_groups>(std::move(*removed));
  std::set<std::uint64_t> removed_ids = h->removed_durable_->ids();
  const std::size_t removed_count = removed_ids.size();  // the disk thread owns the list from here
  std::vector<group_id> recovered;
  for (group_id g : h->wal_->groups())
    if (!removed_ids.contains(g.value)) recovered.push_back(g);
  const host_core_config core_cfg{h->cfg_.self, h->cfg_.rng_seed, h->cfg_.max_disk_batches_in_flight,
                                  h->cfg_.max_batch_bytes};
  const auto sink = [log = h->log_](group_id group) -> log_sink {
    return [log, group](log_level l, std::string_view text) { log->log(to_spdlog(l), "[g{}] {}", group.value, text); };
  };
  h->core_ = std::make_unique<host_core>(core_cfg, sink, std::move(recovered), std::move(removed_ids));

  // The completion crosses back to the Asio thread as a plain struct (docs/design.md "Threads");
  // the weak token makes a completion that outlives the host a no-op.
  raft_host* self = h.get();
  std::weak_ptr<bool> alive = h->alive_;
  asio::io_context* ioc = &io;
  h->disk_ = std::make_unique<disk_thread>(
      *h->wal_, *h->removed_durable_, h->cfg_.max_batch_bytes, [self, alive, ioc](disk_result r) {
        asio::post(*ioc, [self, alive, r = std::move(r)]() mutable {
          if (!alive.expired()) self->on_disk_done(std::move(r));
        });
      });
  h->log_->info("[{}] raft host open: {} groups recovered, {} removed", h->cfg_.self.value(),
                h->core_->recovered().size(), removed_count);
  return h;
}

raft_host::~raft_host() {
  alive_.reset();
  disk_.reset();  // finishes the submitted batches and joins
  core_.reset();  // cores and readers go before the WAL they read
}

std::expected<void, host_error> raft_host::create_group(group_id group, conf_state initial,
                                                        raft_config cfg, apply_fn on_apply, group_start start) {
  if (core_->failed()) return std::unexpected(error(host_errc::storage_failed, "the WAL failed"));
  auto r = core_->create_group(group, std::move(initial), cfg, start, wal_->reader(group));
  if (!r) return std::unexpected(r.error());
  auto& cb = callbacks_[group.value];
  cb.on_apply = std::make_shared<const apply_fn>(std::move(on_apply));
  cb.on_persisted.reset();
  if (r->reopened) {
    const auto st = core_->status(group);
    log_->info("[{}] group {} reopened: last index {}, commit {}", cfg_.self.value(), group.value,
               st ? st->last_index.value : 0, st ? st->commit.value : 0);
  } else if (r->bootstrap && start == group_start::rejoin) {
    log_->warn("[{}] group {} starts rejoining: its log here is gone, so it votes only once caught up",
               cfg_.self.value(), group.value);
  }
  if (r->stored_snapshot) {
    const auto fn = cb.on_apply;
    (*fn)(std::move(*r->stored_snapshot));
  }
  kick();
  return {};
}

std::expected<void, host_error> raft_host::remove_group(group_id group) {
  auto r = core_->remove_group(group);
  if (!r) return r;
  callbacks_.erase(group.value);
  metrics_.forget(group);
  kick();
  log_->info("[{}] group {} removed", cfg_.self.value(), group.value);
  return {};
}

std::expected<void, host_error> raft_host::revive_group(group_id group) {
  auto r = core_->revive_group(group);
  if (!r) return r;
  kick();
  log_->info("[{}] group {} revived: it will start rejoining", cfg_.self.value(), group.value);
  return {};
}

std::expected<log_index, host_error> raft_host::propose(group_id group, std::string data) {
  auto r = core_->propose(group, std::move(data));
  if (r) metrics_.proposed(group, *r, std::chrono::steady_clock::now());
  kick();
  return r;
}

std::expected<void, host_error> raft_host::propose_anywhere(group_id group, std::string data) {
  auto r = core_->propose_anywhere(group, std::move(data));
  kick();
  return r;
}

std::expected<log_index, host_error> raft_host::propose_conf_change(group_id group, const conf_change& cc) {
  auto r = core_->propose_conf_change(group, cc);
  kick();
  return r;
}

std::expected<void, host_error> raft_host::transfer_leadership(group_id group, node_id to) {
  auto r = core_->transfer_leadership(group, to);
  kick();
  return r;
}

std::expected<void, host_error> raft_host::read_index(group_id group, std::string context) {
  auto r = core_->read_index(group, std::move(context));
  kick();
  return r;
}

std::expected<void, host_error> raft_host::campaign(group_id group) {
  auto r = core_->campaign(group);
  kick();
  return r;
}

std::expected<void, host_error> raft_host::compact(group_id group, log_index index, std::string data) {
  auto r = core_->compact(group, index, std::move(data));
  kick();
  return r;
}

std::expected<raft_status, host_error> raft_host::status(group_id group) const { return core_->status(group); }
std::expected<raft_brief, host_error> raft_host::brief(group_id group) const { return core_->brief(group); }

std::expected<std::vector<entry>, host_error> raft_host::read_entries(group_id group, log_index lo, log_index hi,
                                                                      std::uint64_t max_bytes) const {
  return core_->read_entries(group, lo, hi, max_bytes);
}

std::expected<void, host_error> raft_host::set_persisted_callback(group_id group, persisted_fn fn) {
  auto it = callbacks_.find(group.value);
  if (it == callbacks_.end() || !core_->hosts(group)) {
    return std::unexpected(error(host_errc::unknown_group, "group " + std::to_string(group.value)));
  }
  it->second.on_persisted = fn ? std::make_shared<const persisted_fn>(std::move(fn)) : nullptr;
  return {};
}

std::vector<group_id> raft_host::groups() const { return core_->groups(); }

void raft_host::tick() {
  core_->tick();
  kick();
}

void raft_host::set_node_liveness(node_id node, node_liveness state) {
  core_->set_node_liveness(node, state);
  kick();
}

void raft_host::set_campaign_mode(campaign_mode mode) { core_->set_campaign_mode(mode); }

void raft_host::step(node_id from, std::vector<group_message> messages) {
  core_->step(from, std::move(messages));
  kick();
}

host_stats raft_host::stats() const {
  host_stats s = core_->stats();
  s.outbox_calls = outbox_calls_;
  s.messages_sent = messages_sent_;
  if (disk_) {  // gone after discard_unsynced
    const disk_stats d = disk_->stats();
    s.append_batches = d.append_batches;
    s.group_writes = d.group_writes;
    s.max_groups_per_append = d.max_groups_per_append;
  }
  s.commit_latency = metrics_.commit_latency();
  s.elections_started = metrics_.elections_started();
  s.term_changes = metrics_.term_changes();
  return s;
}

std::expected<void, host_error> raft_host::discard_unsynced() {
  if (!core_->failed()) return std::unexpected(error(host_errc::invalid_argument, "the WAL has not failed"));
  disk_.reset();  // joined: from here on this thread is the WAL's only writer (wal.h contract)
  if (auto r = wal_->discard_unsynced(); !r) return std::unexpected(error(host_errc::storage_failed, r.error().text));
  return {};
}

wal_stats raft_host::storage_stats() const { return wal_->stats(); }

}  // namespace chronik::consensus
