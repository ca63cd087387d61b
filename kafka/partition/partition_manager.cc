#include "kafka/partition/partition_manager.h"

#include <algorithm>
#include <set>
#include <utility>

#include <spdlog/spdlog.h>

#include "kafka/partition/move_planner.h"

namespace chronik::kafka {

std::expected<void, std::string> partition_manager_config::validate() const {
  if (auto r = raft.validate(); !r) return std::unexpected("raft: " + r.error());
  if (retention_check_interval_ms <= 0) return std::unexpected("retention_check_interval_ms must be positive");
  if (replica_lag_time_max_ms <= 0) return std::unexpected("replica_lag_time_max_ms must be positive");
  if (isr_check_interval_ms <= 0) return std::unexpected("isr_check_interval_ms must be positive");
  if (max_fetch_waiters == 0) return std::unexpected("max_fetch_waiters must be positive");
  if (defaults.max_in_flight == 0) return std::unexpected("defaults.max_in_flight must be positive");
  if (defaults.max_message_bytes == 0) return std::unexpected("defaults.max_message_bytes must be positive");
  if (!steady_now || !wall_now_ms) return std::unexpected("clocks must be set");
  return {};
}

partition_manager::partition_manager(consensus::raft_host& host, consensus::node_id self, partition_manager_config cfg,
                                     std::shared_ptr<spdlog::logger> log)
    : host_(host),
      self_(self),
      cfg_(std::move(cfg)),
      log_(log ? std::move(log) : spdlog::default_logger()),
      cache_(cfg_.entry_cache_bytes) {
  next_retention_ = now() + std::chrono::milliseconds(cfg_.retention_check_interval_ms);
}

partition_manager::~partition_manager() {
  // The host keeps the groups; their callbacks hold weak references and become no-ops.
  auto replicas = std::move(by_group_);
  by_group_.clear();
  led_dirty_ = true;
  by_name_.clear();
  for (auto& [id, r] : replicas) r->fail_all();
  // Waiting fetches are dropped, not woken: a woken handler would look its partitions up again
  // through a broker context whose manager is this object, half destroyed (found by the fuzz
  // smoke run in kafka_data_handlers_test). Their connections go with the node.
  waiters_.clear();
}

namespace {

// A move (docs/kafka.md "Moving replicas") is the one way besides its topic's deletion that a
// partition's group leaves a node; `moved` stays set from the first move on.
bool ever_moved(const metadata::topic_record& topic, const metadata::partition_ref& ref) {
  const auto& ps = topic.partitions;
  if (ref.partition < 0 || static_cast<std::size_t>(ref.partition) >= ps.size()) return true;  // unknown: as before
  return ps[static_cast<std::size_t>(ref.partition)].moved;
}

}  // namespace

partition_config partition_manager::config_of(const metadata::topic_record& topic) const {
  return partition_config::from_topic(cfg_.topic_configs ? cfg_.topic_configs(topic) : topic.configs, cfg_.defaults);
}

consensus::group_start partition_manager::start_for(const metadata::meta_state& state,
                                                    const metadata::partition_ref& ref) const {
  if (cfg_.self_uuid.empty()) return consensus::group_start::fresh;
  return state.replica_rejoins(self_, cfg_.self_uuid, ref) ? consensus::group_start::rejoin
                                                           : consensus::group_start::fresh;
}

std::expected<void, consensus::host_error> partition_manager::ensure(const metadata::partition_ref& ref,
                                                                     const metadata::topic_record& topic,
                                                                     consensus::group_start start) {
  if (std::ranges::find(ref.replicas, self_) == ref.replicas.end()) return {};
  const partition_config pc = config_of(topic);
  if (!ref.target.empty()) moving_.insert(ref.group.value);
  if (auto it = by_group_.find(ref.group.value); it != by_group_.end()) {
    it->second->set_config(pc);
    it->second->set_ref(ref);  // a move may have begun or changed its target
    return {};
  }
  replica_hooks hooks;
  hooks.on_data = [this](consensus::group_id g) { on_data(g); };
  hooks.on_leadership = [this](const metadata::partition_ref& r, consensus::node_id leader, consensus::term_id term) {
    if (leader == self_) {
      leading_.insert(r.group.value);
    } else {
      leading_.erase(r.group.value);
    }
    led_dirty_ = true;
    if (on_leadership_) on_leadership_(r, leader, term);
  };
  hooks.on_deadline = [this](consensus::group_id g) { expiring_.insert(g.value); };
  auto replica = std::make_shared<partition_replica>(host_, ref, topic.name, pc, std::move(hooks), log_, &cache_,
                                                     cfg_.wall_now_ms);
  replica->set_replica_lag_max_ms(cfg_.replica_lag_time_max_ms);
  // Listed first: create_group hands a reopened group's snapshot to apply before it returns.
  by_group_[ref.group.value] = replica;
  led_dirty_ = true;
  by_name_[{topic.name, ref.partition}] = ref.group;

  std::weak_ptr<partition_replica> weak = replica;
  // Every replica derives the same voters, in the same order, from the same `__meta` record
  // (docs/design.md "Partition groups"), so the bootstrap entries are identical everywhere. A group
  // that has moved bootstraps nothing: this replica joins empty and its leader sends it the log
  // (docs/kafka.md "Moving replicas"). A reopened group ignores both.
  consensus::conf_state initial{ref.bootstrap, {}};
  const auto apply = [weak](consensus::apply_batch&& b) {
    if (auto p = weak.lock()) p->apply(std::move(b));
  };
  auto r = host_.create_group(ref.group, initial, cfg_.raft, apply, start);
  if (!r && r.error().code == consensus::host_errc::group_removed && !ever_moved(topic, ref)) {
    // Removed here and never moved: only a deletion of its topic removes such a group, and group
    // ids are never reused, so it is gone for good. `__meta` is replaying, after a restart, a
    // state older than that deletion (the topic's creation record, or a snapshot taken before it).
    // Reviving it would write it back to disk only for the deletion to remove it again, once per
    // partition on every restart.
    by_group_.erase(ref.group.value);
    led_dirty_ = true;
    by_name_.erase({topic.name, ref.partition});
    log_->debug("[{}] partition {}-{} (group {}) was deleted here: not started", self_.value(), topic.name,
                ref.partition, ref.group.value);
    return {};
  }
  if (!r && r.error().code == consensus::host_errc::group_removed) {
    // A move brought the partition back to this node, which deleted its copy when an earlier move
    // took it away (docs/kafka.md "Moving replicas"): `__meta` lists it again only once the group
    // counts it no more, so it comes back rejoining, as a new replica the leader catches up.
    auto v = host_.revive_group(ref.group);
    if (v) r = host_.create_group(ref.group, initial, cfg_.raft, apply, start);
    if (!v && v.error().code == consensus::host_errc::not_ready) {
      // Its removal is still on its way to disk (a move back right after one away): tick() tries
      // again once it is durable, a few milliseconds later.
      by_group_.erase(ref.group.value);
      led_dirty_ = true;
      by_name_.erase({topic.name, ref.partition});
      retry_starts_[ref.group.value] = retry_start{ref, topic, start};
      return {};
    }
  }
  if (!r) {
    by_group_.erase(ref.group.value);
    led_dirty_ = true;
    by_name_.erase({topic.name, ref.partition});
    log_->error("[{}] partition {}-{} (group {}) not started: {}", self_.value(), topic.name, ref.partition,
                ref.group.value, r.error().text);
    return std::unexpected(r.error());
  }
  static_cast<void>(host_.set_persisted_callback(ref.group, [weak](consensus::log_index last, consensus::term_id term) {
    if (auto p = weak.lock()) p->persisted(last, term);
  }));
  log_->info("[{}] partition {}-{} (group {}) started", self_.value(), topic.name, ref.partition, ref.group.value);
  return {};
}

bool partition_manager::reconfigure(const metadata::partition_ref& ref, const metadata::topic_record& topic,
                                    bool log_it) {
  auto it = by_group_.find(ref.group.value);
  if (it == by_group_.end()) return false;
  it->second->set_config(config_of(topic));
  if (log_it) {
    log_->info("[{}] partition {}-{} (group {}) takes the topic's new configs", self_.value(), topic.name, ref.partition,
               ref.group.value);
  }
  return true;
}

void partition_manager::remove(const metadata::partition_ref& ref) {
  retry_starts_.erase(ref.group.value);
  auto it = by_group_.find(ref.group.value);
  if (it == by_group_.end()) return;
  auto replica = it->second;  // alive until the end of this call, even if removed from inside its apply
  by_group_.erase(it);
  led_dirty_ = true;
  by_name_.erase({replica->topic(), replica->ref().partition});
  if (auto r = host_.remove_group(ref.group); !r) {
    log_->warn("[{}] removing group {}: {}", self_.value(), ref.group.value, r.error().text);
  }
  replica->fail_all();
  cache_.drop_group(ref.group);
  on_data(ref.group);
  log_->info("[{}] partition {}-{} (group {}) removed", self_.value(), replica->topic(), ref.partition, ref.group.value);
}

void partition_manager::sync(const metadata::meta_state& state) {
  std::set<std::uint64_t> wanted;
  for (const auto& ref : state.groups_for(self_)) {
    const metadata::topic_record* t = state.topic(ref.topic);
    if (t == nullptr) continue;
    wanted.insert(ref.group.value);
    static_cast<void>(ensure(ref, *t, start_for(state, ref)));
  }
  // Only groups `__meta` has already allocated (id below next_group) and no longer lists are
  // gone for good. A higher id belongs to a topic this state has not applied yet: deleting its
  // data would lose acknowledged records.
  const auto deleted = [&](consensus::group_id id) {
    return id >= metadata::first_partition_group_id && id < state.data().next_group && !wanted.contains(id.value);
  };
  std::vector<metadata::partition_ref> gone;
  for (const auto& [id, r] : by_group_)
    if (deleted(consensus::group_id{id})) gone.push_back(r->ref());
  for (const auto& ref : gone) remove(ref);
  // Groups of deleted topics recovered from the WAL but never started (the topic went away while
  // this node was down): the host removes only running groups, so open them briefly.
  for (consensus::group_id id : host_.recovered_groups()) {
    if (!deleted(id) || host_.brief(id)) continue;
    if (host_.create_group(id, {}, cfg_.raft, [](consensus::apply_batch&&) {})) {
      static_cast<void>(host_.remove_group(id));
      log_->info("[{}] group {} of a deleted topic removed", self_.value(), id.value);
    }
  }
}

partition_replica* partition_manager::find(std::string_view topic, std::int32_t partition) const {
  auto it = by_name_.find(std::pair<std::string, std::int32_t>{std::string(topic), partition});
  if (it == by_name_.end()) return nullptr;
  return find(it->second);
}

partition_replica* partition_manager::find(consensus::group_id group) const {
  auto it = by_group_.find(group.value);
  return it == by_group_.end() ? nullptr : it->second.get();
}

std::vector<consensus::group_id> partition_manager::groups() const {
  std::vector<consensus::group_id> out;
  for (const auto& [id, r] : by_group_) out.push_back(consensus::group_id{id});
  return out;
}

std::vector<partition_replica*> partition_manager::led() const {
  std::vector<partition_replica*> out;
  out.reserve(leading_.size());
  for (const auto& r : led_shared()) out.push_back(r.get());
  return out;
}

const std::vector<std::shared_ptr<partition_replica>>& partition_manager::led_shared() const {
  // Listed again only after a leadership report or a replica came or went: looking each leader
  // up at every pass cost most of an idle node's time at 10,000 partitions.
  if (led_dirty_) {
    led_.clear();
    for (std::uint64_t id : leading_)
      if (auto it = by_group_.find(id); it != by_group_.end()) led_.push_back(it->second);
    led_dirty_ = false;
  }
  return led_;
}

void partition_manager::apply_move(const metadata::partition_ref& ref, const metadata::topic_record& topic,
                                   consensus::group_start start) {
  if (std::ranges::find(ref.replicas, self_) != ref.replicas.end()) {
    if (auto r = ensure(ref, topic, start); !r) log_->warn("[{}] group {} not started for a move: {}", self_.value(), ref.group.value, r.error().text);
    return;
  }
  // The group no longer counts this replica: `__meta` records a finished move only after the
  // leader's membership change removing it committed.
  remove(ref);
}

// The leader of each moving group takes the next step towards the target (move_planner.h). Run on
// every tick for moving groups: a step waits only for the previous membership change to commit.
// With `at_rest`, groups not moving are reconciled with their replicas too: a leader whose `__meta`
// replica lagged may have stepped towards a target `__meta` had already left (found by the host
// simulation), and only the leader can put the group back.
void partition_manager::drive_moves(const std::vector<std::shared_ptr<partition_replica>>* at_rest) {
  // Between the at-rest passes only the moving groups are looked at (moving_), so an idle tick
  // costs nothing per partition.
  std::vector<partition_replica*> todo;
  if (at_rest != nullptr) {
    for (std::uint64_t id : moving_)
      if (auto it = by_group_.find(id); it != by_group_.end()) todo.push_back(it->second.get());
    for (const auto& r : *at_rest)
      if (r->ref().target.empty() && r->needs_reconciling(asleep_since_isr(*r))) todo.push_back(r.get());
  } else {
    std::erase_if(moving_, [this](std::uint64_t id) {
      auto it = by_group_.find(id);
      return it == by_group_.end() || it->second->ref().target.empty();
    });
    for (std::uint64_t id : moving_) todo.push_back(by_group_.at(id).get());
  }
  for (partition_replica* r : todo) {
    const auto& ref = r->ref();
    const bool moving = !ref.target.empty();
    const auto st = r->status_if_leading();
    if (!st) continue;
    const move_step step = plan_move_step(moving ? ref.target : ref.replicas, *st);
    switch (step.what) {
      case move_step::kind::wait:
        break;
      case move_step::kind::change:
        // conf_change_pending (the previous step has not committed) is the common refusal.
        if (auto c = host_.propose_conf_change(ref.group, step.change); c) {
          log_->info("[{}] partition {}-{} (group {}) moves: {} ({})", self_.value(), r->topic(), ref.partition,
                     ref.group.value, consensus::to_string(step.change), step.why);
        }
        break;
      case move_step::kind::transfer:
        if (host_.transfer_leadership(ref.group, step.to)) {
          log_->info("[{}] partition {}-{} (group {}) moves: leadership to {} ({})", self_.value(), r->topic(),
                     ref.partition, ref.group.value, step.to.value(), step.why);
        }
        break;
      case move_step::kind::finish:
        if (moving && on_move_done_) on_move_done_(ref);
        break;
    }
  }
}

bool partition_manager::asleep_since_isr(const partition_replica& r) const {
  // A fenced tick counts every group awake.
  return !awake_since_isr_.contains(r.group().value);
}

void partition_manager::tick() {
  const auto t = now();
  // Fenced (the WAL failed): every replica answers what waits on it, below.
  const bool fenced = host_.failed();
  // Looked at every tick: replicas holding work with a deadline, and replicas of awake groups,
  // the only ones whose leadership can have changed since the last tick (raft_host::awake_groups).
  // A quiesced partition with nothing waiting costs nothing here, so idle work follows what
  // changed, not how many partitions exist (docs/performance.md "Scale"). Copies: producers'
  // callbacks run in expire() and may change the maps and wake groups.
  std::vector<std::shared_ptr<partition_replica>> due;
  if (fenced) {
    for (const auto& [id, r] : by_group_) {
      due.push_back(r);
      awake_since_isr_.insert(id);
    }
  } else {
    std::set<std::uint64_t> ids = expiring_;
    for (consensus::group_id g : host_.awake_groups()) {
      ids.insert(g.value);
      awake_since_isr_.insert(g.value);
    }
    for (std::uint64_t id : ids)
      if (auto it = by_group_.find(id); it != by_group_.end()) due.push_back(it->second);
  }
  visited_last_tick_ = due.size();
  for (const auto& r : due) r->expire(t);
  std::erase_if(expiring_, [this](std::uint64_t id) {
    auto it = by_group_.find(id);
    return it == by_group_.end() || !it->second->has_deadlines();
  });
  // The leaders, listed once for the passes of this tick that visit them (twice a second).
  const bool isr_due = t >= next_isr_check_;
  const auto leaders = isr_due ? led_shared() : std::vector<std::shared_ptr<partition_replica>>{};
  if (!fenced) {
    auto retries = std::move(retry_starts_);
    retry_starts_.clear();
    for (auto& [id, s] : retries) static_cast<void>(ensure(s.ref, s.topic, s.start));
    drive_moves(isr_due ? &leaders : nullptr);
  }
  // Fenced: every long-poll is answered now, with KAFKA_STORAGE_ERROR from the replica, since no
  // new data will come; retention cannot write its snapshots either.
  wake_where([t, fenced](const waiter& w) { return fenced || w.deadline <= t; });
  if (isr_due) {
    next_isr_check_ = t + std::chrono::milliseconds(cfg_.isr_check_interval_ms);
    // Only a leader tracks its ISR; one that lost its leadership starts afresh when it leads again
    // (in a later term, which track_isr tells apart). A group asleep at every tick since the
    // last pass kept its role, term and log (raft_host::awake_groups): its replica repeats what it
    // observed then, without asking its Raft core.
    for (const auto& r : leaders) r->track_isr(t, down_brokers_, asleep_since_isr(*r));
    awake_since_isr_.clear();
  }
  if (!fenced && t >= next_retention_) {
    // The pass over every replica, every few seconds.
    next_retention_ = t + std::chrono::milliseconds(cfg_.retention_check_interval_ms);
    std::vector<std::shared_ptr<partition_replica>> replicas;
    replicas.reserve(by_group_.size());
    for (const auto& [id, r] : by_group_) replicas.push_back(r);
    enforce_retention(replicas);
  }
}

void partition_manager::enforce_retention(const std::vector<std::shared_ptr<partition_replica>>& replicas) {
  const std::int64_t wall = cfg_.wall_now_ms();
  for (const auto& r : replicas) {
    r->enforce_retention(wall);
    r->expire_producers(wall);
  }
}

void partition_manager::wait_for_data(const std::vector<consensus::group_id>& groups, std::chrono::milliseconds max_wait,
                                      wake_fn wake) {
  if (waiters_.size() >= cfg_.max_fetch_waiters || max_wait.count() <= 0 || groups.empty() || host_.failed()) {
    wake();  // the bound of docs/design.md "Size and bounds": answer now rather than park without limit
    return;
  }
  waiters_.push_back(waiter{groups, now() + max_wait, std::move(wake)});
}

void partition_manager::on_data(consensus::group_id group) {
  wake_where([group](const waiter& w) { return std::ranges::find(w.groups, group) != w.groups.end(); });
}

void partition_manager::wake_where(const std::function<bool(const waiter&)>& pred) {
  // Taken out first: a woken handler may park again, which appends to waiters_.
  std::vector<waiter> woken;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (pred(*it)) {
      woken.push_back(std::move(*it));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& w : woken) w.wake();
}

}  // namespace chronik::kafka
