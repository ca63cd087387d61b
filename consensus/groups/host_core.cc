// The host core: groups and commands. Readies, disk batches and completions are in
// host_core_flush.cc. Pure: no I/O, threads, clocks or logging (docs/raft_host.md).
#include "consensus/groups/host_core.h"

#include <algorithm>

#include "base/assert.h"
#include "consensus/groups/host_group.h"

namespace chronik::consensus {
namespace {

host_error error(host_errc code, std::string text) { return {code, raft_errc::not_leader, std::move(text)}; }

host_error refused(raft_errc e) { return {host_errc::raft, e, std::string(to_string(e))}; }

std::string name(group_id g) { return "group " + std::to_string(g.value); }

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

host_core::host_core(host_core_config cfg, std::function<log_sink(group_id)> sink, std::vector<group_id> recovered,
                     std::set<std::uint64_t> removed)
    : cfg_(cfg), sink_(std::move(sink)), recovered_(std::move(recovered)), removed_(std::move(removed)) {
  std::ranges::sort(recovered_);
  in_flight_.reserve(cfg_.max_disk_batches_in_flight);
}

host_core::~host_core() = default;

hosted_group* host_core::find(group_id group) const {
  auto it = groups_.find(group.value);
  return it == groups_.end() ? nullptr : it->second.get();
}

bool host_core::hosts(group_id group) const { return find(group) != nullptr; }

std::expected<hosted_group*, host_error> host_core::running(group_id group) const {
  if (failed_) return std::unexpected(error(host_errc::storage_failed, "the WAL failed"));
  hosted_group* g = find(group);
  if (g == nullptr) return std::unexpected(error(host_errc::unknown_group, name(group)));
  if (!g->core) return std::unexpected(error(host_errc::not_ready, name(group) + " is bootstrapping"));
  return g;
}

void host_core::start_core(hosted_group& g) {
  // Replicas of a group, and groups of a node, get different election timeouts (Raft paper §5.2).
  const std::uint64_t seed = cfg_.rng_seed ^ (g.id.value * 0x9e3779b97f4a7c15ULL) ^ (std::uint64_t{cfg_.self.value()} << 32);
  g.core = std::make_unique<raft>(g.cfg, cfg_.self, *g.reader, seed, sink_ ? sink_(g.id) : log_sink{});
  g.core->set_campaign_mode(campaign_mode_);
  // Vote requests that arrived before the core ran (held_votes.h): a candidate's round completes
  // now instead of after its next election timeout.
  for (message& m : held_.take(g.id)) g.core->step(m);
  mark_dirty(g);
}

std::expected<group_created, host_error> host_core::create_group(group_id group, conf_state initial, raft_config cfg,
                                                                 group_start start,
                                                                 std::unique_ptr<log_reader> reader) {
  if (failed_) return std::unexpected(error(host_errc::storage_failed, "the WAL failed"));
  if (auto v = cfg.validate(); !v) return std::unexpected(error(host_errc::invalid_argument, v.error()));
  if (find(group)) return std::unexpected(error(host_errc::group_exists, name(group)));
  if (removed_.contains(group.value)) return std::unexpected(error(host_errc::group_removed, name(group)));
  CHRONIK_ASSERT(reader != nullptr, "a group needs its storage's reader");
  auto owned = std::make_unique<hosted_group>();
  hosted_group& g = *owned;
  g.id = group;
  g.life = ++lives_;
  g.cfg = cfg;
  g.reader = std::move(reader);
  g.last_state = g.reader->initial_hard_state();
  g.durable_last = g.reader->last_index();
  const bool durable = std::ranges::binary_search(recovered_, group) || g.reader->last_index().value > 0 ||
                       g.last_state != hard_state{};
  groups_.emplace(group.value, std::move(owned));

  group_created out;
  if (revived_.erase(group.value)) return recreate(g);
  if (durable) {
    out.reopened = true;
    snapshot snap = g.reader->latest_snapshot();
    start_core(g);
    if (!snap.empty()) {
      apply_batch b{group, std::move(snap), {}, {}};
      track_applied(g, b);
      out.stored_snapshot = std::move(b);
    }
    return out;
  }
  const bool rejoin = start == group_start::rejoin;
  if (initial.voters.empty() && initial.learners.empty() && !rejoin) {
    start_core(g);  // a joining replica: the leader fills its log (or sends a snapshot)
    return out;
  }
  // Bootstrap (docs/raft.md "Design points", Bootstrap): identical to memory_storage, durable
  // before the core starts, so a restart right after finds the same configuration.
  group_write w{group, std::nullopt, {}, std::nullopt};
  const auto add = [&](node_id id, conf_change::kind op) {
    const log_index index{w.entries.size() + 1};
    w.entries.push_back(entry{term_id{1}, index, entry_type::conf_change, conf_change{op, id}.encode()});
  };
  for (node_id id : initial.voters) add(id, conf_change::kind::add_voter);
  for (node_id id : initial.learners) add(id, conf_change::kind::add_learner);
  w.state = hard_state{term_id{w.entries.empty() ? 0u : 1u}, node_id{}, log_index{w.entries.size()}, rejoin};
  g.last_state = *w.state;
  g.in_flight = unbatched;  // nothing else of this group goes to disk before it
  pending_writes_.push_back(std::move(w));
  schedule_flush();
  out.bootstrap = true;
  return out;
}

// A group this node removed and hosts again (revive_group; docs/raft.md "Reviving a removed
// group"). Its entries go with the removal, but the WAL may still hold its hard state and a
// snapshot. The term and vote stay (they never go back), the commit index drops to the snapshot
// (all the removal leaves), and the replica is marked rejoining: it acknowledged entries it no
// longer has, so it must not vote before it has caught up again (Raft paper §5.4.1 assumes voters
// keep them). That hard state is durable before the core starts, like a bootstrap. revive_group let
// it come back only once its removal was durable, so the storage shows what the removal left: the
// snapshot, whose index bounds the commit index.
group_created host_core::recreate(hosted_group& g) {
  group_created out;
  hard_state hs = g.reader->initial_hard_state();
  const log_index kept = g.reader->first_index().prev();
  hs.commit = std::min(hs.commit, kept);
  hs.rejoining = true;
  g.durable_last = kept;
  g.last_state = hs;
  g.in_flight = unbatched;  // nothing else of this group goes to disk before it
  pending_writes_.push_back(group_write{g.id, hs, {}, std::nullopt});
  schedule_flush();
  out.bootstrap = true;
  snapshot snap = g.reader->latest_snapshot();
  if (!snap.empty()) {
    apply_batch b{g.id, std::move(snap), {}, {}};
    track_applied(g, b);
    out.stored_snapshot = std::move(b);
  }
  return out;
}

std::expected<void, host_error> host_core::revive_group(group_id group) {
  if (failed_) return std::unexpected(error(host_errc::storage_failed, "the WAL failed"));
  if (find(group)) return std::unexpected(error(host_errc::group_exists, name(group)));
  if (!removed_.contains(group.value)) return std::unexpected(error(host_errc::unknown_group, name(group) + " was not removed"));
  // The removal first reaches the disk: a group revived over a removal still on its way would start
  // from storage about to change under it (the host simulation's moves found liveness faults so).
  if (removing_.contains(group.value)) {
    return std::unexpected(error(host_errc::not_ready, name(group) + " is still being removed"));
  }
  removed_.erase(group.value);
  revived_.insert(group.value);
  pending_ops_.push_back(disk_op{disk_op::kind::revive, group, {}});
  schedule_flush();
  return {};
}

std::expected<void, host_error> host_core::remove_group(group_id group) {
  if (failed_) return std::unexpected(error(host_errc::storage_failed, "the WAL failed"));
  if (!find(group)) return std::unexpected(error(host_errc::unknown_group, name(group)));
  // A write of this group still on the disk completes harmlessly: its completion finds no group
  // and releases nothing.
  groups_.erase(group.value);
  deferred_.erase(group.value);
  std::erase_if(pending_writes_, [&](const group_write& w) { return w.group == group; });
  removed_.insert(group.value);
  removing_.insert(group.value);
  pending_ops_.push_back(disk_op{disk_op::kind::remove, group, {}});
  schedule_flush();
  return {};
}

std::expected<log_index, host_error> host_core::propose(group_id group, std::string data) {
  auto g = running(group);
  if (!g) return std::unexpected(g.error());
  auto r = (*g)->core->propose(std::move(data));
  if (!r) return std::unexpected(refused(r.error()));
  mark_dirty(**g);
  return *r;
}

std::expected<void, host_error> host_core::propose_anywhere(group_id group, std::string data) {
  auto g = running(group);
  if (!g) return std::unexpected(g.error());
  auto r = (*g)->core->propose_anywhere(std::move(data));
  if (!r) return std::unexpected(refused(r.error()));
  mark_dirty(**g);
  return {};
}

std::expected<log_index, host_error> host_core::propose_conf_change(group_id group, const conf_change& cc) {
  auto g = running(group);
  if (!g) return std::unexpected(g.error());
  auto r = (*g)->core->propose_conf_change(cc);
  if (!r) return std::unexpected(refused(r.error()));
  mark_dirty(**g);
  return *r;
}

std::expected<void, host_error> host_core::transfer_leadership(group_id group, node_id to) {
  auto g = running(group);
  if (!g) return std::unexpected(g.error());
  if (auto r = (*g)->core->transfer_leadership(to); !r) return std::unexpected(refused(r.error()));
  mark_dirty(**g);
  return {};
}

std::expected<void, host_error> host_core::read_index(group_id group, std::string context) {
  auto g = running(group);
  if (!g) return std::unexpected(g.error());
  (*g)->core->read_index(std::move(context));
  mark_dirty(**g);
  return {};
}

std::expected<void, host_error> host_core::campaign(group_id group) {
  auto g = running(group);
  if (!g) return std::unexpected(g.error());
  (*g)->core->campaign();
  mark_dirty(**g);
  return {};
}

std::expected<void, host_error> host_core::compact(group_id group, log_index index, std::string data) {
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

void host_core::track_applied(hosted_group& g, const apply_batch& b) {
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

conf_state host_core::conf_at(const hosted_group& g, log_index index) const {
  auto it = g.conf_history.upper_bound(index);
  if (it == g.conf_history.begin()) return g.base_conf;
  return std::prev(it)->second;
}

std::expected<raft_status, host_error> host_core::status(group_id group) const {
  // A fenced host's cores are frozen where the failure found them: one that was leading would
  // still say so, although it can no longer persist, replicate or answer anything.
  if (failed_) return std::unexpected(error(host_errc::storage_failed, "the WAL failed: " + failure_));
  const hosted_group* g = find(group);
  if (g == nullptr) return std::unexpected(error(host_errc::unknown_group, name(group)));
  if (!g->core) {
    raft_status s;
    s.id = cfg_.self;
    return s;
  }
  return g->core->status();
}

const conf_state* host_core::conf(group_id group) const {
  if (failed_) return nullptr;
  const hosted_group* g = find(group);
  return g == nullptr || !g->core ? nullptr : &g->core->conf();
}

std::expected<raft_brief, host_error> host_core::brief(group_id group) const {
  // The same answers as status(), field for field.
  if (failed_) return std::unexpected(error(host_errc::storage_failed, "the WAL failed: " + failure_));
  const hosted_group* g = find(group);
  if (g == nullptr) return std::unexpected(error(host_errc::unknown_group, name(group)));
  if (!g->core) {
    raft_brief b;
    b.id = cfg_.self;
    return b;
  }
  return g->core->brief();
}

std::expected<std::vector<entry>, host_error> host_core::read_entries(group_id group, log_index lo, log_index hi,
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

std::vector<group_id> host_core::groups() const {
  std::vector<group_id> out;
  out.reserve(groups_.size());
  for (const auto& [id, g] : groups_) out.push_back(group_id{id});
  std::ranges::sort(out);
  return out;
}

void host_core::tick() {
  if (failed_) return;
  held_.expire(++ticks_);
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

void host_core::set_node_liveness(node_id node, node_liveness state) {
  if (state == node_liveness::alive) {
    dead_nodes_.erase(node.value());
    return;
  }
  if (node == cfg_.self || !dead_nodes_.insert(node.value()).second) return;
  // A rare event (SWIM confirmed a death), so one pass over the groups is fine. Without this, a
  // quiesced follower never ticks and never notices that its leader is gone.
  for (auto& [id, g] : groups_)
    if (g->core && g->core->quiesced() && g->core->leader() == node) track_awake(*g);
}

void host_core::set_campaign_mode(campaign_mode mode) {
  if (campaign_mode_ == mode) return;
  campaign_mode_ = mode;
  for (auto& [id, g] : groups_)
    if (g->core) g->core->set_campaign_mode(mode);
}

void host_core::step(node_id from, std::vector<group_message> messages) {
  if (failed_) return;
  for (auto& gm : messages) {
    hosted_group* g = find(gm.group);
    if (gm.msg.to != cfg_.self || gm.msg.from != from) {
      ++stats_.messages_dropped;
      continue;
    }
    if (g == nullptr || !g->core) {
      // Not running here yet (unknown, or its bootstrap on the disk): a vote request waits for the
      // core (held_votes.h), anything else is dropped and resent by its sender. A removed group
      // never runs again under this id, so nothing is held for it.
      if (held_votes::holds(gm.msg.type) && !removed_.contains(gm.group.value) &&
          held_.hold(gm.group, std::move(gm.msg), ticks_)) {
        ++stats_.votes_held;
      } else {
        ++stats_.messages_dropped;
      }
      continue;
    }
    g->core->step(gm.msg);
    mark_dirty(*g);
  }
}

host_stats host_core::stats() const {
  host_stats s = stats_;
  s.groups = groups_.size();
  // awake_ may still list a group that quiesced in a step since the last tick; count the cores.
  for (group_id id : awake_)
    if (const hosted_group* g = find(id); g != nullptr && g->core && !g->core->quiesced()) ++s.awake_groups;
  return s;
}

}  // namespace chronik::consensus
