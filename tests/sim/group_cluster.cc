// See group_cluster.h.
#include "tests/sim/group_cluster.h"

#include <algorithm>

#include "kafka/groups/group_records.h"

namespace chronik::sim {

namespace {

// Entries the shell appends: a record batch of the core's, or a new log start (DeleteRecords'
// control entry). Anything else in the log (leaders' empty entries, configuration, the Raft
// cluster's own markers) is no record of `__consumer_offsets`.
constexpr char batch_tag = 'W';
constexpr char trim_tag = 'T';
constexpr std::int64_t ms_per_tick = 10;

}  // namespace

group_cluster::group_cluster(std::uint64_t seed, group_sim_options opt)
    : opt_(opt), raft_(seed, [&] {
        host_sim_options r = opt.raft;
        r.compact = false;  // a partition's state is its log: no replica skips entries
        return r;
      }()) {
  shells_.resize(static_cast<std::size_t>(raft_.hosts()));
  for (int h = 0; h < raft_.hosts(); ++h) reset(h);
  raft_.observe(host_observer{
      [this](int host, int partition, const consensus::apply_batch& b) { applied(host, partition, b); },
      [this](int host) { reset(host); }});
  for (int g = 0; g < opt_.groups; ++g) {
    for (int k = 0; k < opt_.keys; ++k) {
      client c;
      c.group = "group-" + std::to_string(g);
      c.key = kafka::offset_key{"topic", k};
      c.managed = g < opt_.managed_groups;
      c.client_id = "client-" + std::to_string(g) + "-" + std::to_string(k);
      clients_.push_back(std::move(c));
    }
  }
  readers_.resize(static_cast<std::size_t>(std::max(opt_.readers, 0)));
}

group_cluster::~group_cluster() = default;

kafka::group_config group_cluster::config() const {
  kafka::group_config c = kafka::group_config::local();
  c.offsets_retention_ms = 0;  // kept forever: the checker compares them
  c.min_session_timeout_ms = 1'000;  // members cut off from every coordinator expire within a run
  c.member_id_seed = 7;
  c.checkpoint_min_records = opt_.checkpoint_min_records;
  c.max_records_per_write = opt_.max_records_per_write;
  return c;
}

void group_cluster::violation(std::string what) {
  if (violations_.size() < 20) violations_.push_back("tick " + std::to_string(now_) + ": " + std::move(what));
}

std::vector<std::string> group_cluster::violations() const {
  std::vector<std::string> all = raft_.violations();
  all.insert(all.end(), violations_.begin(), violations_.end());
  return all;
}

// A crashed host loses its memory: the coordinator, its copy of the logs (rebuilt as the
// restarted Raft host applies its durable log again) and every write it had in flight.
void group_cluster::reset(int host) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  s.core = std::make_unique<kafka::group_coordinator>(config());
  s.core->tick(static_cast<std::int64_t>(now_) * ms_per_tick);
  s.incarnation = ++incarnations_;
  s.logs.assign(static_cast<std::size_t>(opt_.raft.groups), partition_log{});
  s.cursors.clear();
  s.proposals.clear();
  s.resolved.clear();
  s.checkpoint_base.clear();
  s.trims.clear();
  s.confirmations.clear();  // the connections broke: their readers ask again elsewhere
}

// The apply observer: the host's copy of the partition grows, its own proposals at these indexes
// are resolved (reported on the shell's next tick, outside Raft's call), and ReadIndex answers
// find their confirmations (answered on that tick too).
void group_cluster::applied(int host, int partition, const consensus::apply_batch& b) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  partition_log& log = s.logs[static_cast<std::size_t>(partition)];
  if (b.snap) {
    violation("host " + std::to_string(host) + " installed a snapshot of partition " + std::to_string(partition));
  }
  for (const consensus::entry& e : b.committed) {
    log.last_index = e.index.value;
    log.last_term = e.term.value;
    if (e.type == consensus::entry_type::normal && !e.data.empty()) {
      if (e.data[0] == batch_tag) {
        log.batches.emplace(e.index.value, std::string(e.data.view().substr(1)));
      } else if (e.data[0] == trim_tag) {
        const std::uint64_t start = std::stoull(std::string(e.data.view().substr(1)));
        log.start = std::max(log.start, start);
        log.batches.erase(log.batches.begin(), log.batches.lower_bound(log.start));
      }
    }
    for (auto it = s.proposals.begin(); it != s.proposals.end();) {
      if (it->partition != partition || it->index != e.index.value) {
        ++it;
        continue;
      }
      // The entry at the proposed index is ours only if it has our term (Raft's log matching,
      // §5.3); another entry there means ours was overwritten.
      const auto outcome =
          it->term == e.term.value ? kafka::write_outcome::committed : kafka::write_outcome::not_leader;
      s.resolved.emplace_back(*it, outcome);
      it = s.proposals.erase(it);
    }
  }
  take_read_states(host, partition, b.reads);
}

void group_cluster::crash(int host) {
  for (const client& c : clients_) counts_.in_flight_at_fault += (c.req != request::none && c.host == host) ? 1 : 0;
  raft_.crash(host);
}

void group_cluster::isolate(int host, bool cut) {
  if (cut) {
    for (const client& c : clients_) counts_.in_flight_at_fault += (c.req != request::none && c.host == host) ? 1 : 0;
  }
  raft_.isolate(host, cut);
}

void group_cluster::stall(int host, std::uint64_t ticks) {
  ++counts_.stalls;
  shell& s = shells_[static_cast<std::size_t>(host)];
  s.stalled_until = std::max(s.stalled_until, now_ + ticks);
}

bool group_cluster::responsive(int host) const {
  return raft_.running(host) && shells_[static_cast<std::size_t>(host)].stalled_until <= now_;
}

std::optional<int> group_cluster::leader(int partition) const {
  std::optional<int> best;
  std::uint64_t best_term = 0;
  for (int h = 0; h < raft_.hosts(); ++h) {
    const auto st = raft_.status(h, partition);
    if (st && st->state == consensus::role::leader && st->term.value >= best_term) {
      best = h;
      best_term = st->term.value;
    }
  }
  return best;
}

void group_cluster::run(int ticks) {
  for (int t = 0; t < ticks; ++t) {
    ++now_;
    raft_.run(1);
    for (int h = 0; h < raft_.hosts(); ++h) {
      if (responsive(h)) tick_shell(h);
    }
    for (client& c : clients_) tick_client(c);
    for (reader& r : readers_) tick_reader(r);
  }
}

// --- the shell (daemon/group_store's part) ------------------------------------------------------

void group_cluster::tick_shell(int host) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  const auto now_ms = static_cast<std::int64_t>(now_) * ms_per_tick;
  s.core->tick(now_ms, now_ms);
  for (auto& [p, outcome] : std::exchange(s.resolved, {})) report(host, p, outcome);
  // As partition_replica after an apply, then at its expiry check: ReadIndex answers whose read
  // point is applied, and those that can no longer come.
  resolve_confirmations(host);
  expire_confirmations(host);
  // Writes not resolved by an apply in time failed: they may still commit, or be overwritten.
  // As partition_replica, a lost leadership alone answers nothing: the entry is resolved when its
  // index is applied here, and follow() unloads the partition, which answers the core's waiters.
  for (auto it = s.proposals.begin(); it != s.proposals.end();) {
    if (now_ < it->deadline) {
      ++it;
      continue;
    }
    const proposal p = *it;
    it = s.proposals.erase(it);
    report(host, p, kafka::write_outcome::failed);
  }
  follow(host);
  // Trims (DeleteRecords): a replicated new log start, so every replica drops the same prefix.
  // Only while the partition is loaded: a checkpoint of an earlier leadership can commit after
  // this host took the partition over again, and its trim must not move the start under the new
  // load (which reads from the start it began at).
  for (const auto& [partition, start] : std::exchange(s.trims, {})) {
    if (!s.cursors.contains(partition) || (!s.core->loaded(partition) && !opt_.trim_while_loading)) continue;
    if (raft_.propose_on(host, partition, trim_tag + std::to_string(start))) ++counts_.trims;
  }
  for (int round = 0; round < 4; ++round) {
    auto writes = s.core->take_writes();
    if (writes.empty()) break;
    for (auto& w : writes) append(host, std::move(w));
  }
}

void group_cluster::report(int host, const proposal& p, kafka::write_outcome outcome) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  switch (outcome) {
    case kafka::write_outcome::committed: ++counts_.writes_committed; break;
    case kafka::write_outcome::not_leader: ++counts_.writes_not_leader; break;
    case kafka::write_outcome::fenced:  // only a transactional write, which the sim's clients never make
    case kafka::write_outcome::failed:
      ++counts_.writes_failed;
      if (auto c = s.cursors.find(p.partition); c != s.cursors.end()) c->second.failed_write = true;
      break;
  }
  // As group_store: the log may start at the first part once the last part committed.
  if (p.checkpoint_first) s.checkpoint_base.erase(p.partition);
  if (outcome == kafka::write_outcome::committed) {
    if (p.checkpoint_first) s.checkpoint_base[p.partition] = p.index;
    if (p.checkpoint_last) {
      if (auto base = s.checkpoint_base.find(p.partition); base != s.checkpoint_base.end()) {
        s.trims[p.partition] = base->second;
        s.checkpoint_base.erase(base);
      }
    }
  }
  s.core->write_done(p.write, outcome);
}

void group_cluster::follow(int host) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  for (int p = 0; p < opt_.raft.groups; ++p) {
    const auto st = raft_.status(host, p);
    // Leading, with an entry of its own term applied: every entry of earlier terms is applied,
    // so the copy holds everything any earlier coordinator acknowledged (Raft §5.4).
    const bool leads = leader_ready(host, p);
    auto c = s.cursors.find(p);
    if (!leads) {
      if (c != s.cursors.end()) {
        s.core->unload_partition(p);
        s.cursors.erase(c);
        s.checkpoint_base.erase(p);
      }
      continue;
    }
    if (c == s.cursors.end() || c->second.term != st->term.value || !s.core->serving(p)) {
      s.core->begin_load(p, opt_.raft.groups);
      const std::uint64_t start = s.logs[static_cast<std::size_t>(p)].start;
      c = s.cursors.insert_or_assign(p, cursor{st->term.value, start, false}).first;
      s.checkpoint_base.erase(p);
      ++counts_.loads;
    }
    // A bounded slice per tick, as group_store's load budget: groups answer load_in_progress
    // meanwhile.
    const int budget = opt_.load_batches_per_tick > 0 ? opt_.load_batches_per_tick
                                                      : 1 + static_cast<int>(raft_.random().below(4));
    if (!s.core->loaded(p)) load_some(host, p, c->second, budget);
  }
}

void group_cluster::load_some(int host, int partition, cursor& c, int budget) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  const partition_log& log = s.logs[static_cast<std::size_t>(partition)];
  // group_store asserts this: what a load already passed over may be trimmed, not what it has yet
  // to read.
  if (c.next < log.start) {
    violation("partition " + std::to_string(partition) + " trimmed under the load of host " + std::to_string(host) +
              ": the load is at " + std::to_string(c.next) + ", the log starts at " + std::to_string(log.start));
    c.next = log.start;
  }
  for (auto it = log.batches.lower_bound(c.next); it != log.batches.end() && budget > 0; ++it, --budget) {
    auto entries = kafka::read_group_records(it->second);
    if (!entries) {
      violation("host " + std::to_string(host) + " cannot read its batch at " + std::to_string(it->first));
      continue;
    }
    for (const auto& e : *entries) {
      if (e.record) s.core->load(partition, *e.record);
      else violation("host " + std::to_string(host) + " read a bad record: " + e.record.error().message);
    }
    c.next = it->first + 1;
  }
  if (log.batches.lower_bound(c.next) == log.batches.end()) {
    c.next = log.last_index + 1;
    s.core->finish_load(partition);
  }
}

void group_cluster::append(int host, kafka::group_write w) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  const auto wall = static_cast<std::int64_t>(now_) * ms_per_tick;
  const std::string blob = kafka::build_group_batch(w.records, wall);
  const auto at = raft_.propose_on(host, w.partition, batch_tag + blob);
  if (!at) {
    ++counts_.writes_not_leader;
    s.core->write_done(w.id, kafka::write_outcome::not_leader);
    return;
  }
  if (opt_.early_ack) {
    // The unsafe twin: acknowledged before a majority has it.
    ++counts_.writes_committed;
    s.core->write_done(w.id, kafka::write_outcome::committed);
    return;
  }
  s.proposals.push_back(proposal{w.id, w.partition, at->first, at->second, now_ + opt_.write_timeout_ticks,
                                 w.checkpoint_first, w.checkpoint_last});
}

// --- healing and the final checks ---------------------------------------------------------------

bool group_cluster::settled(std::string* why) const {
  for (const client& c : clients_) {
    if (c.req != request::none) {
      *why = "a request of " + c.group + " is in flight";
      return false;
    }
  }
  for (const reader& r : readers_) {
    if (r.in_flight) {
      *why = "a read is in flight";
      return false;
    }
  }
  for (int p = 0; p < opt_.raft.groups; ++p) {
    const auto l = leader(p);
    if (!l) {
      *why = "partition " + std::to_string(p) + " has no leader";
      return false;
    }
    const shell& ls = shells_[static_cast<std::size_t>(*l)];
    const auto st = raft_.status(*l, p);
    if (!ls.core->loaded(p) || ls.core->writes_in_flight() != 0 || !ls.trims.empty() ||
        st->commit.value != st->last_index.value) {
      *why = "partition " + std::to_string(p) + " is not loaded and quiet on host " + std::to_string(*l);
      return false;
    }
    for (int h = 0; h < raft_.hosts(); ++h) {
      if (shells_[static_cast<std::size_t>(h)].logs[static_cast<std::size_t>(p)].last_index != st->last_index.value) {
        *why = "host " + std::to_string(h) + " lags in partition " + std::to_string(p);
        return false;
      }
    }
  }
  return true;
}

void group_cluster::converge(int ticks) {
  stopping_ = true;
  raft_.converge(600);
  if (!raft_.violations().empty()) return;
  std::string why;
  for (int t = 0; t < ticks; ++t) {
    if (settled(&why)) {
      final_checks();
      return;
    }
    run(1);
  }
  violation("no coordinator settled within " + std::to_string(ticks) + " ticks: " + why);
}

std::unique_ptr<kafka::group_coordinator> group_cluster::load_fresh(int host, int partition) const {
  const partition_log& log = shells_[static_cast<std::size_t>(host)].logs[static_cast<std::size_t>(partition)];
  auto core = std::make_unique<kafka::group_coordinator>(config());
  core->begin_load(partition, opt_.raft.groups);
  for (const auto& [index, blob] : log.batches) {
    auto entries = kafka::read_group_records(blob);
    if (!entries) continue;  // reported by the shell's own load
    for (const auto& e : *entries)
      if (e.record) core->load(partition, *e.record);
  }
  core->finish_load(partition);
  return core;
}

std::map<std::string, std::string> group_cluster::state_of(const kafka::group_coordinator& core, int partition,
                                                           bool settled_only) const {
  std::map<std::string, std::string> out;
  for (const std::string& g : core.group_ids()) {
    if (kafka::offsets_partition_for(g, opt_.raft.groups) != partition) continue;
    const auto v = core.describe(g);
    if (settled_only && v &&
        (v->state == kafka::group_state::preparing_rebalance || v->state == kafka::group_state::completing_rebalance)) {
      continue;
    }
    std::string& text = out[g];
    if (v) {
      text += "[" + std::string(kafka::to_string(v->state)) + " gen " + std::to_string(v->generation_id) + " " +
              v->protocol_type + "/" + v->protocol_name.value_or("-") + " leader " + v->leader_id + " members";
      for (const auto& m : v->members) text += " " + m.member_id + "(" + m.client_id + "):" + m.assignment;
      text += "]";
    }
    for (const auto& [key, value] : core.all_committed(g)) {
      text += " " + key.topic + "/" + std::to_string(key.partition) + "=" + std::to_string(value.offset) + "@" +
              std::to_string(value.commit_time_ms) + ":" + value.metadata.value_or("");
    }
  }
  return out;
}

namespace {

std::string text_of(const std::map<std::string, std::string>& state) {
  std::string out;
  for (const auto& [g, text] : state) out += "\n      " + g + " " + text;
  return out;
}

}  // namespace

void group_cluster::final_checks() {
  for (int p = 0; p < opt_.raft.groups; ++p) {
    const int l = *leader(p);
    const shell& ls = shells_[static_cast<std::size_t>(l)];
    std::vector<std::unique_ptr<kafka::group_coordinator>> fresh;
    for (int h = 0; h < raft_.hosts(); ++h) fresh.push_back(load_fresh(h, p));
    // Every copy of the log loads to the same groups.
    const auto expected = state_of(*fresh[static_cast<std::size_t>(l)], p, false);
    for (int h = 0; h < raft_.hosts(); ++h) {
      const auto got = state_of(*fresh[static_cast<std::size_t>(h)], p, false);
      if (got != expected) {
        violation("partition " + std::to_string(p) + " loads differently on host " + std::to_string(h) + ":" +
                  text_of(got) + "\n    than on host " + std::to_string(l) + ":" + text_of(expected));
      }
    }
    // The serving coordinator holds what its log loads to, but for groups in the middle of a
    // rebalance (Kafka stores only completed generations) and unless one of its writes timed out
    // (it may have committed without the core knowing, as in Kafka).
    const auto c = ls.cursors.find(p);
    if (c != ls.cursors.end() && !c->second.failed_write) {
      ++counts_.live_checked;
      const auto live = state_of(*ls.core, p, true);
      auto loaded = expected;
      std::erase_if(loaded, [&](const auto& e) {
        const auto v = ls.core->describe(e.first);
        return v && (v->state == kafka::group_state::preparing_rebalance ||
                     v->state == kafka::group_state::completing_rebalance);
      });
      if (live != loaded) {
        violation("the coordinator of partition " + std::to_string(p) + " (host " + std::to_string(l) + ") holds" +
                  text_of(live) + "\n    but its log loads to" + text_of(loaded));
      }
    }
  }
  // No acknowledged commit is lost: served, and in every host's copy of the log.
  for (const auto& [gk, best] : acked_) {
    const auto& [group, key] = gk;
    const int p = kafka::offsets_partition_for(group, opt_.raft.groups);
    const int l = *leader(p);
    const auto served = shells_[static_cast<std::size_t>(l)].core->committed(group, key);
    if (!served || served->offset < best) {
      violation("acknowledged commit lost: " + group + "/" + std::to_string(key.partition) + " = " +
                std::to_string(best) + " was acknowledged, host " + std::to_string(l) + " serves " +
                std::to_string(served ? served->offset : -1));
    }
  }
}

}  // namespace chronik::sim
