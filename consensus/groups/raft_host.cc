// The multi-Raft host: groups and commands. Readies, the disk thread and sending are in
// raft_host_flush.cc.
#include "consensus/groups/raft_host.h"

#include <algorithm>
#include <asio/post.hpp>
#include <spdlog/spdlog.h>

#include "consensus/groups/raft_host_group.h"

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

host_error refused(raft_errc e) {
  return {host_errc::raft, e, std::string(to_string(e))};
}

// Mirrors the core's membership.cc so the host knows the configuration at any applied index.
void apply_change(conf_state& c, const conf_change& cc) {
  const auto has = [](const std::vector<node_id>& v, node_id id) { return std::ranges::find(v, id) != v.end(); };
  switch (cc.op) {
    case conf_change::kind::add_voter:
      std::erase(c.learners, cc.node);
      if (!has(c.voters, cc.node)) c.voters.push_back(cc.node);
      break;
    case conf_change::kind::add_learner:
      if (!has(c.voters, cc.node) && !has(c.learners, cc.node)) c.learners.push_back(cc.node);
      break;
    case conf_change::kind::remove:
      std::erase(c.voters, cc.node);
      std::erase(c.learners, cc.node);
      break;
  }
  std::ranges::sort(c.voters);
  std::ranges::sort(c.learners);
}

}  // namespace

std::string_view to_string(host_errc e) {
  switch (e) {
    case host_errc::unknown_group: return "unknown_group";
    case host_errc::group_exists: return "group_exists";
    case host_errc::group_removed: return "group_removed";
    case host_errc::not_ready: return "not_ready";
    case host_errc::invalid_argument: return "invalid_argument";
    case host_errc::storage_failed: return "storage_failed";
    case host_errc::raft: return "raft";
  }
  return "unknown";
}

raft_host::raft_host(asio::io_context& io, host_config cfg, outbox_fn outbox,
                     std::shared_ptr<spdlog::logger> log)
    : io_(io), cfg_(std::move(cfg)), outbox_(std::move(outbox)), log_(std::move(log)) {}

std::expected<std::unique_ptr<raft_host>, host_error> raft_host::open(
    asio::io_context& io, host_config cfg, outbox_fn outbox, std::shared_ptr<spdlog::logger> log) {
  if (auto v = cfg.validate(); !v) return std::unexpected(error(host_errc::invalid_argument, v.error()));
  if (!log) log = spdlog::default_logger();
  if (!cfg.wal.sink) {
    cfg.wal.sink = [log, self = cfg.self.value](log_level l, std::string_view text) {
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
  h->removed_ = h->removed_durable_->ids();
  for (group_id g : h->wal_->groups())
    if (!h->removed_.contains(g.value)) h->recovered_.push_back(g);

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
  h->log_->info("[{}] raft host open: {} groups recovered, {} removed", h->cfg_.self.value,
                h->recovered_.size(), h->removed_.size());
  return h;
}

raft_host::~raft_host() {
  alive_.reset();
  disk_.reset();    // finishes the submitted batches and joins
  groups_.clear();  // cores and readers go before the WAL they read
}

hosted_group* raft_host::find(group_id group) const {
  auto it = groups_.find(group.value);
  return it == groups_.end() ? nullptr : it->second.get();
}

std::expected<hosted_group*, host_error> raft_host::running(group_id group) const {
  if (failed_) return std::unexpected(error(host_errc::storage_failed, "the WAL failed"));
  hosted_group* g = find(group);
  if (g == nullptr) return std::unexpected(error(host_errc::unknown_group, "group " + std::to_string(group.value)));
  if (!g->core) return std::unexpected(error(host_errc::not_ready, "group " + std::to_string(group.value) + " is bootstrapping"));
  return g;
}

log_sink raft_host::core_sink(group_id group) const {
  return [log = log_, group](log_level l, std::string_view text) {
    log->log(to_spdlog(l), "[g{}] {}", group.value, text);
  };
}

void raft_host::start_core(hosted_group& g) {
  // Replicas of a group, and groups of a node, get different election timeouts (§5.2).
  const std::uint64_t seed = cfg_.rng_seed ^ (g.id.value * 0x9e3779b97f4a7c15ULL) ^ (cfg_.self.value << 32);
  g.core = std::make_unique<raft>(g.cfg, cfg_.self, *g.reader, seed, core_sink(g.id));
  mark_dirty(g);
}

std::expected<void, host_error> raft_host::create_group(group_id group, conf_state initial,
                                                        raft_config cfg, apply_fn on_apply, group_start start) {
  if (failed_) return std::unexpected(error(host_errc::storage_failed, "the WAL failed"));
  if (auto v = cfg.validate(); !v) return std::unexpected(error(host_errc::invalid_argument, v.error()));
  if (find(group)) return std::unexpected(error(host_errc::group_exists, "group " + std::to_string(group.value)));
  if (removed_.contains(group.value)) {
    return std::unexpected(error(host_errc::group_removed, "group " + std::to_string(group.value)));
  }
  auto owned = std::make_unique<hosted_group>();
  hosted_group& g = *owned;
  g.id = group;
  g.cfg = cfg;
  g.on_apply = std::make_shared<const apply_fn>(std::move(on_apply));
  g.reader = wal_->reader(group);
  g.last_state = g.reader->initial_hard_state();
  const bool durable = std::ranges::binary_search(recovered_, group) || g.reader->last_index().value > 0 ||
                       g.last_state != hard_state{};
  groups_.emplace(group.value, std::move(owned));

  if (durable) {
    snapshot snap = g.reader->latest_snapshot();
    start_core(g);
    log_->info("[{}] group {} reopened: last index {}, commit {}", cfg_.self.value, group.value,
               g.reader->last_index().value, g.last_state.commit.value);
    if (!snap.empty()) {
      apply_batch b{group, std::move(snap), {}, {}};
      track_applied(g, b);
      const auto cb = g.on_apply;
      (*cb)(std::move(b));
    }
    return {};
  }
  const bool rejoin = start == group_start::rejoin;
  if (initial.voters.empty() && initial.learners.empty() && !rejoin) {
    start_core(g);  // a joining replica: the leader fills its log (or sends a snapshot)
    return {};
  }
  // Bootstrap (docs/raft.md "Design points", Bootstrap): identical to memory_storage, durable before the core
  // starts, so a restart right after finds the same configuration.
  group_write w{group, std::nullopt, {}, std::nullopt};
  const auto add = [&](node_id id, conf_change::kind op) {
    const log_index index{w.entries.size() + 1};
    w.entries.push_back(entry{term_id{1}, index, entry_type::conf_change, conf_change{op, id}.encode()});
  };
  for (node_id id : initial.voters) add(id, conf_change::kind::add_voter);
  for (node_id id : initial.learners) add(id, conf_change::kind::add_learner);
  w.state = hard_state{term_id{w.entries.empty() ? 0u : 1u}, node_id{}, log_index{w.entries.size()}, rejoin};
  if (rejoin) {
    log_->warn("[{}] group {} starts rejoining: its log here is gone, so it votes only once caught up",
               cfg_.self.value, group.value);
  }
  g.last_state = *w.state;
  g.in_flight = true;
  pending_writes_.push_back(std::move(w));
  schedule_flush();
  return {};
}

std::expected<void, host_error> raft_host::remove_group(group_id group) {
  if (failed_) return std::unexpected(error(host_errc::storage_failed, "the WAL failed"));
  if (!find(group)) return std::unexpected(error(host_errc::unknown_group, "group " + std::to_string(group.value)));
  // A write of this group still on the disk thread completes harmlessly: its completion finds
  // no group and sends nothing.
  groups_.erase(group.value);
  deferred_.erase(group.value);
  std::erase_if(pending_writes_, [&](const group_write& w) { return w.group == group; });
  removed_.insert(group.value);
  pending_ops_.push_back(disk_op{disk_op::kind::remove, group, {}});
  schedule_flush();
  log_->info("[{}] group {} removed", cfg_.self.value, group.value);
  return {};
}

std::expected<log_index, host_error> raft_host::propose(group_id group, std::string data) {
  auto g = running(group);
  if (!g) return std::unexpected(g.error());
  auto r = (*g)->core->propose(std::move(data));
  if (!r) return std::unexpected(refused(r.error()));
  mark_dirty(**g);
  return *r;
}

std::expected<void, host_error> raft_host::propose_anywhere(group_id group, std::string data) {
  auto g = running(group);
  if (!g) return std::unexpected(g.error());
  auto r = (*g)->core->propose_anywhere(std::move(data));
  if (!r) return std::unexpected(refused(r.error()));
  mark_dirty(**g);
  return {};
}

std::expected<log_index, host_error> raft_host::propose_conf_change(group_id group, const conf_change& cc) {
  auto g = running(group);
  if (!g) return std::unexpected(g.error());
  auto r = (*g)->core->propose_conf_change(cc);
  if (!r) return std::unexpected(refused(r.error()));
  mark_dirty(**g);
  return *r;
}

std::expected<void, host_error> raft_host::transfer_leadership(group_id group, node_id to) {
  auto g = running(group);
  if (!g) return std::unexpected(g.error());
  if (auto r = (*g)->core->transfer_leadership(to); !r) return std::unexpected(refused(r.error()));
  mark_dirty(**g);
  return {};
}

std::expected<void, host_error> raft_host::read_index(group_id group, std::string context) {
  auto g = running(group);
  if (!g) return std::unexpected(g.error());
  (*g)->core->read_index(std::move(context));
  mark_dirty(**g);
  return {};
}

std::expected<void, host_error> raft_host::campaign(group_id group) {
  auto g = running(group);
  if (!g) return std::unexpected(g.error());
  (*g)->core->campaign();
  mark_dirty(**g);
  return {};
}

std::expected<void, host_error> raft_host::compact(group_id group, log_index index, std::string data) {
  auto r = running(group);
  if (!r) return std::unexpected(r.error());
  hosted_group& g = **r;
  if (index > g.applied) {
    return std::unexpected(error(host_errc::invalid_argument, "compaction at " + std::to_string(index.value) +
                                                                  " beyond applied " + std::to_string(g.applied.value)));
  }
  if (index <= g.base_index) return {};  // already covered by a snapshot
  const auto term = g.core->log().term(index);
  if (!term) return std::unexpected(error(host_errc::invalid_argument, "no term for index " + std::to_string(index.value)));
  snapshot snap{snapshot_meta{index, *term, conf_at(g, index)}, std::move(data)};
  // The host's view moves now: later snapshots must be newer, and the history before is unused.
  g.base_conf = snap.meta.conf;
  g.base_index = index;
  g.conf_history.erase(g.conf_history.begin(), g.conf_history.upper_bound(index));
  pending_ops_.push_back(disk_op{disk_op::kind::snapshot_and_compact, group, std::move(snap)});
  schedule_flush();
  return {};
}

void raft_host::track_applied(hosted_group& g, const apply_batch& b) {
  if (b.snap) {
    g.base_index = b.snap->meta.index;
    g.base_conf = b.snap->meta.conf;
    g.conf_history.clear();
    g.applied = std::max(g.applied, b.snap->meta.index);
  }
  for (const entry& e : b.committed) {
    if (e.index <= g.applied) continue;  // replayed below a snapshot
    g.applied = e.index;
    if (e.type != entry_type::conf_change) continue;
    auto cc = conf_change::decode(e.data);
    if (!cc) continue;
    conf_state c = conf_at(g, e.index);
    apply_change(c, *cc);
    g.conf_history[e.index] = std::move(c);
  }
}

conf_state raft_host::conf_at(const hosted_group& g, log_index index) const {
  auto it = g.conf_history.upper_bound(index);
  if (it == g.conf_history.begin()) return g.base_conf;
  return std::prev(it)->second;
}

std::expected<raft_status, host_error> raft_host::status(group_id group) const {
  // A fenced host's cores are frozen where the failure found them: one that was leading would
  // still say so, although it can no longer persist, replicate or answer anything.
  if (failed_) return std::unexpected(error(host_errc::storage_failed, "the WAL failed: " + failure_));
  const hosted_group* g = find(group);
  if (g == nullptr) return std::unexpected(error(host_errc::unknown_group, "group " + std::to_string(group.value)));
  if (!g->core) {
    raft_status s;
    s.id = cfg_.self;
    return s;
  }
  return g->core->status();
}

std::expected<std::vector<entry>, host_error> raft_host::read_entries(group_id group, log_index lo, log_index hi,
                                                                      std::uint64_t max_bytes) const {
  auto g = running(group);
  if (!g) return std::unexpected(g.error());
  if (lo >= hi) return std::vector<entry>{};
  auto r = (*g)->reader->entries(lo, hi, max_bytes);
  if (!r) {
    const char* why = r.error() == log_errc::compacted ? "compacted" : r.error() == log_errc::unavailable ? "unavailable" : "io error";
    return std::unexpected(error(host_errc::invalid_argument, "entries from " + std::to_string(lo.value) + ": " + why));
  }
  return std::move(*r);
}

std::expected<void, host_error> raft_host::set_persisted_callback(group_id group, persisted_fn fn) {
  hosted_group* g = find(group);
  if (g == nullptr) return std::unexpected(error(host_errc::unknown_group, "group " + std::to_string(group.value)));
  g->on_persisted = fn ? std::make_shared<const persisted_fn>(std::move(fn)) : nullptr;
  return {};
}

std::vector<group_id> raft_host::groups() const {
  std::vector<group_id> out;
  out.reserve(groups_.size());
  for (const auto& [id, g] : groups_) out.push_back(group_id{id});
  std::ranges::sort(out);
  return out;
}

void raft_host::tick() {
  if (failed_) return;
  // Only awake groups: 1000 quiesced groups cost nothing here. A group that quiesced in its
  // last tick (or in a step) simply is not put back.
  ticking_.clear();
  ticking_.swap(awake_);
  for (group_id id : ticking_) {
    hosted_group* g = find(id);
    if (g == nullptr || !g->core) continue;  // removed since
    g->awake = false;
    if (g->core->quiesced()) continue;  // quiesced in a step since the last tick
    g->core->tick();
    if (g->core->has_ready()) mark_dirty(*g);
    track_awake(*g);
  }
}

void raft_host::set_node_liveness(node_id node, node_liveness state) {
  if (state == node_liveness::alive) {
    dead_nodes_.erase(node.value);
    return;
  }
  if (node == cfg_.self || !dead_nodes_.insert(node.value).second) return;
  // A rare event (SWIM confirmed a death), so one pass over the groups is fine. Without this, a
  // quiesced follower never ticks and never notices that its leader is gone.
  for (auto& [id, g] : groups_)
    if (g->core && g->core->quiesced() && g->core->leader() == node) track_awake(*g);
}

void raft_host::step(node_id from, std::vector<group_message> messages) {
  if (failed_) return;
  for (auto& gm : messages) {
    hosted_group* g = find(gm.group);
    if (g == nullptr || !g->core || gm.msg.to != cfg_.self || gm.msg.from != from) {
      ++stats_.messages_dropped;
      continue;
    }
    g->core->step(gm.msg);
    mark_dirty(*g);
  }
}

host_stats raft_host::stats() const {
  host_stats s = stats_;
  s.groups = groups_.size();
  // awake_ may still list a group that quiesced in a step since the last tick; count the cores.
  for (group_id id : awake_)
    if (const hosted_group* g = find(id); g != nullptr && g->core && !g->core->quiesced()) ++s.awake_groups;
  if (disk_) {  // gone after discard_unsynced
    const disk_stats d = disk_->stats();
    s.append_batches = d.append_batches;
    s.group_writes = d.group_writes;
    s.max_groups_per_append = d.max_groups_per_append;
  }
  return s;
}

std::expected<void, host_error> raft_host::discard_unsynced() {
  if (!failed_) return std::unexpected(error(host_errc::invalid_argument, "the WAL has not failed"));
  disk_.reset();  // joined: from here on this thread is the WAL's only writer (wal.h contract)
  if (auto r = wal_->discard_unsynced(); !r) return std::unexpected(error(host_errc::storage_failed, r.error().text));
  return {};
}

wal_stats raft_host::storage_stats() const { return wal_->stats(); }

}  // namespace chronik::consensus
