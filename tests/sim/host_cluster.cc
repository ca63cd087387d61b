#include "tests/sim/host_cluster.h"

#include <algorithm>

namespace chronik::sim {

using namespace consensus;

raft_config sim_raft_config() {
  raft_config c;
  c.election_timeout_ticks_min = 10;
  c.election_timeout_ticks_max = 20;
  c.heartbeat_ticks = 2;
  c.quiesce_after_ticks = 30;
  return c;
}

raft_config host_cluster::group_config() const {
  raft_config c = sim_raft_config();
  c.check_quorum = opt_.check_quorum;
  return c;
}

host_cluster::host_cluster(std::uint64_t seed, host_sim_options opt) : opt_(opt), rng_(seed) {
  if (opt_.voters <= 0 || opt_.voters > opt_.hosts) opt_.voters = opt_.hosts;
  history_.resize(static_cast<std::size_t>(opt_.groups));
  conf_log_.resize(static_cast<std::size_t>(opt_.groups));
  for (int i = 0; i < opt_.hosts; ++i) {
    auto n = std::make_unique<node>();
    n->id = node_id{static_cast<std::uint32_t>(static_cast<std::uint64_t>(i + 1))};
    n->disk.faults = opt_.disk;
    nodes_.push_back(std::move(n));
  }
  if (opt_.moves) init_meta();
  for (int i = 0; i < opt_.hosts; ++i) restart(i);
}

host_cluster::~host_cluster() = default;

void host_cluster::violation(std::string what) {
  if (violations_.size() < 20) violations_.push_back("tick " + std::to_string(now_) + ": " + std::move(what));
}

bool host_cluster::running(int host) const { return nodes_[static_cast<std::size_t>(host)]->core != nullptr; }

consensus::group_id host_cluster::group_id_of(int group) const {
  return group_id{group_base_ + static_cast<std::uint64_t>(group)};
}

void host_cluster::create_groups(node& n) {
  n.created = true;
  n.create_at.reset();
  if (opt_.moves) {
    meta_catch_up(n, ~std::size_t{0}, false);
    sync_groups(n);
    return;
  }
  conf_state voters;
  for (const auto& m : nodes_) voters.voters.push_back(m->id);
  for (int g = 0; g < opt_.groups; ++g) {
    const group_id id = group_id_of(g);
    auto r = n.core->create_group(id, voters, group_config(), group_start::fresh, n.disk.reader(id));
    if (!r) violation("create_group failed: " + r.error().text);
    else if (r->stored_snapshot) apply(n, *r->stored_snapshot);
  }
}

void host_cluster::restart(int host) {
  node& n = *nodes_[static_cast<std::size_t>(host)];
  if (n.core) return;
  const host_core_config cfg{n.id, rng_.next(), 4, 1u << 20};
  n.core = std::make_unique<host_core>(cfg, nullptr, n.disk.recovered(), n.disk.removed());
  n.applied.assign(static_cast<std::size_t>(opt_.groups), 0);
  n.restart_at.reset();
  n.fenced_seen = false;
  if (!opt_.moves && !n.created && opt_.stagger_create_ticks > 0) {
    n.create_at = now_ + rng_.below(opt_.stagger_create_ticks + 1);
  } else {
    create_groups(n);
  }
  // The failure detector's view (the liveness oracle of docs/raft.md "Quiescence").
  for (const auto& m : nodes_) {
    if (m.get() == &n) continue;
    n.core->set_node_liveness(m->id, m->core ? node_liveness::alive : node_liveness::dead);
    if (m->core) m->core->set_node_liveness(n.id, node_liveness::alive);
  }
  flush(n);
}

std::uint64_t host_cluster::votes_held() const {
  std::uint64_t held = counts_.votes_held;
  for (const auto& n : nodes_)
    if (n->core) held += n->core->stats().votes_held;
  return held;
}

void host_cluster::crash(int host) {
  node& n = *nodes_[static_cast<std::size_t>(host)];
  if (!n.core) return;
  ++counts_.crashes;
  counts_.votes_held += n.core->stats().votes_held;
  n.core.reset();  // cores and readers first: the disk's live stores are replaced next
  if (observer_.crashed) observer_.crashed(host);
  n.disk.crash(rng_);
  n.restart_at = now_ + 20 + rng_.below(60);
  for (const auto& m : nodes_)
    if (m->core) {
      m->core->set_node_liveness(n.id, node_liveness::dead);
      flush(*m);
    }
  check_durable();
}

void host_cluster::isolate(int host, bool cut) {
  if (cut) isolated_.insert(host);
  else isolated_.erase(host);
}

void host_cluster::heal() { isolated_.clear(); }

// What a message claims about its sender's disk must already be true there (Raft paper §5.1,
// Figure 2: persistent state is on stable storage before responding to RPCs): its term is durable
// (pre-votes excepted: they name a term not yet taken), a vote it grants is durable, and an
// accepted append's index is in the durable log (or a durable snapshot).
void host_cluster::check_claims(const node& n, const outgoing& out) {
  if (n.disk.faults.lying) return;
  const std::string who = "node " + std::to_string(n.id.value());
  for (const auto& [to, msgs] : out) {
    for (const group_message& gm : msgs) {
      const message& m = gm.msg;
      const memory_storage* d = n.disk.durable(gm.group);
      const hard_state hs = d ? d->persisted_hard_state() : hard_state{};
      const std::string what = who + " sent " + std::string(to_string(m.type)) + " in group " +
                               std::to_string(gm.group.value);
      if (m.type != message_type::pre_vote && m.type != message_type::pre_vote_response && m.term > hs.term) {
        violation(what + " at term " + std::to_string(m.term.value) + " before that term was durable");
      }
      // A later durable term may have superseded the vote since it was granted (a grant repeated
      // for a duplicate request can leave with the ready that moves to the next term).
      const bool vote_durable = hs.term > m.term || (hs.term == m.term && hs.vote == m.to);
      if (m.type == message_type::vote_response && !m.reject && !vote_durable) {
        violation(what + " granting a vote that was not durable (term " + std::to_string(m.term.value) + " to " +
                  std::to_string(m.to.value()) + "; durable term " + std::to_string(hs.term.value) + " vote " +
                  std::to_string(hs.vote.value()) + ")");
      }
      if (m.type == message_type::append_response && !m.reject && (d == nullptr || d->last_index() < m.index)) {
        violation(what + " acknowledging index " + std::to_string(m.index.value) + " before it was durable");
      }
    }
  }
}

void host_cluster::send(int from, outgoing& out, bool urgent) {
  for (auto& [to, msgs] : out) {
    const int dest = static_cast<int>(to.value()) - 1;
    if (dest < 0 || dest >= hosts()) {
      violation("message to unknown node " + std::to_string(to.value()));
      continue;
    }
    if (urgent) {
      ++counts_.urgent_packets;
      for (const group_message& gm : msgs)
        if (gm.msg.type != message_type::heartbeat && gm.msg.type != message_type::heartbeat_response)
          violation("a message other than a heartbeat took the urgent lane");
    }
    // A packet is one outbox call: urgent ones never share one with the rest (host_output::urgent).
    if (isolated_.contains(from) || isolated_.contains(dest)) continue;
    if (opt_.loss_percent > 0 && rng_.below(100) < opt_.loss_percent) continue;
    const std::uint64_t due = now_ + 1 + rng_.below(opt_.max_delay_ticks);
    net_.emplace(std::pair{due, ++seq_}, packet{from, dest, std::move(msgs)});
  }
  out.clear();
}

void host_cluster::flush(node& n) {
  // The shell's "end of handler": a flush the core wants runs now. Bounded: a flush over the
  // batch size limit asks for another.
  for (int i = 0; i < 16 && n.core && n.core->take_flush_request(); ++i) {
    host_output out;
    n.core->flush(out);
    carry_out(n, out);
  }
}

void host_cluster::carry_out(node& n, host_output& out) {
  const int self = static_cast<int>(n.id.value()) - 1;
  check_claims(n, out.urgent);
  check_claims(n, out.sends);
  send(self, out.urgent, true);
  for (disk_batch& b : out.disk) {
    ++counts_.batches;
    n.disk.submit(std::move(b));
  }
  send(self, out.sends, false);
  for (const auto& [g, last] : out.persisted) {
    const memory_storage* d = n.disk.durable(g);
    const auto t = d ? d->term(last.index) : std::unexpected(log_errc::unavailable);
    if (!n.disk.faults.lying && (!t || t->value != last.term.value)) {
      violation("node " + std::to_string(n.id.value()) + " reported index " + std::to_string(last.index.value) +
                " of group " + std::to_string(g.value) + " persisted before it was durable");
    }
  }
  for (apply_batch& b : out.applies) apply(n, b);
  // The owner snapshots its state machine now and then (Raft paper §7), so that lagging
  // replicas catch up from a snapshot and the disk runs compaction operations.
  for (int g = 0; g < opt_.groups; ++g) {
    const auto gi = static_cast<std::size_t>(g);
    if (!opt_.compact || n.applied[gi] < 30 || rng_.below(40) != 0) continue;
    const log_index at{n.applied[gi] - rng_.below(10)};
    std::string data = observer_.snapshot ? observer_.snapshot(self, g, at.value) : "state at " + std::to_string(at.value);
    auto r = n.core->compact(group_id_of(g), at, std::move(data));
    if (!r) continue;
    ++counts_.compactions;
    if (observer_.compacted) observer_.compacted(self, g, at.value);
  }
}

void host_cluster::apply(node& n, apply_batch& b) {
  const std::size_t g = b.group.value - group_base_;
  const std::string who = "node " + std::to_string(n.id.value()) + " group " + std::to_string(b.group.value);
  const memory_storage* durable = n.disk.durable(b.group);
  if (b.snap) {
    // Installed only once durable here: the durable log starts after it.
    if (!n.disk.faults.lying && (durable == nullptr || durable->first_index() <= b.snap->meta.index)) {
      violation(who + " installed snapshot " + std::to_string(b.snap->meta.index.value) + " before it was durable");
    }
    n.applied[g] = std::max(n.applied[g], b.snap->meta.index.value);
    ++counts_.snapshots_installed;
  }
  for (const entry& e : b.committed) {
    if (e.index.value != n.applied[g] + 1) {
      violation(who + " applied index " + std::to_string(e.index.value) + " after " + std::to_string(n.applied[g]));
    }
    n.applied[g] = e.index.value;
    if (!n.disk.faults.lying) {
      const auto t = durable ? durable->term(e.index) : std::unexpected(log_errc::unavailable);
      if (!t || *t != e.term) {
        violation(who + " applied index " + std::to_string(e.index.value) + " before it was durable here");
      }
    }
    auto [it, first] = history_[g].try_emplace(e.index.value, e.term.value, e.data);
    if (first) {
      ++counts_.acked;
      if (e.type == entry_type::conf_change) {
        if (auto cc = conf_change::decode(e.data); cc) conf_log_[g].emplace(e.index.value, *cc);
        else violation(who + " applied an undecodable configuration change at " + std::to_string(e.index.value));
      }
    } else if (it->second.first != e.term.value || it->second.second != e.data) {
      violation(who + " applied a different entry at index " + std::to_string(e.index.value) + " (term " +
                std::to_string(e.term.value) + " vs " + std::to_string(it->second.first) + ")");
    }
  }
  if (observer_.applied) observer_.applied(static_cast<int>(n.id.value()) - 1, static_cast<int>(g), b);
}

// The group's committed configuration: the creation voters, changed by every configuration
// entry applied anywhere, in index order (an applied entry is committed; the committed
// configuration changes one server at a time, docs/raft.md "Configuration change entries").
std::vector<node_id> host_cluster::current_voters(std::size_t g) const {
  std::vector<node_id> voters;
  for (int i = 0; i < opt_.voters; ++i) voters.push_back(node_id{static_cast<std::uint32_t>(i + 1)});
  for (const auto& [index, cc] : conf_log_[g]) {
    if (index <= static_cast<std::uint64_t>(opt_.voters)) continue;  // the bootstrap entries
    std::erase(voters, cc.node);
    if (cc.op == conf_change::kind::add_voter) voters.push_back(cc.node);
  }
  return voters;
}

// Raft's guarantee for a committed entry (§5.4): no majority of the voters lacks it, so every
// election quorum holds a voter that refuses a candidate without it. With all hosts voting this
// is "durable on a majority". With moves the voters change one at a time: an entry committed by a
// majority of one configuration reaches, in the next one, at least half of the voters (rounded
// up), which is exactly what this checks; a strict majority of the new voters is not guaranteed
// right after a voter is added (Raft dissertation §4.1).
void host_cluster::check_durable() {
  for (std::size_t g = 0; g < history_.size(); ++g) {
    const group_id id = group_id_of(static_cast<int>(g));
    const std::vector<node_id> voters = current_voters(g);
    const std::size_t needed = voters.size() - voters.size() / 2;  // some member of every majority
    for (const auto& [index, te] : history_[g]) {
      // The bootstrap entries (one per creation voter, docs/raft.md "Design points") are
      // committed by construction: every such replica writes them itself before its core starts.
      if (index <= static_cast<std::uint64_t>(opt_.voters)) continue;
      std::size_t copies = 0;
      for (node_id v : voters) {
        const memory_storage* d = nodes_[v.value() - 1]->disk.durable(id);
        const auto t = d ? d->term(log_index{index}) : std::unexpected(log_errc::unavailable);
        // An index a durable snapshot covers is kept in it: snapshots hold only applied entries.
        if ((t && t->value == te.first) || (d != nullptr && index < d->first_index().value)) ++copies;
      }
      if (copies < needed) {
        std::string who;
        for (node_id v : voters) who += " " + std::to_string(v.value());
        violation("acknowledged entry " + std::to_string(index) + " of group " + std::to_string(id.value) +
                  " is durable on " + std::to_string(copies) + " of its voters {" + who + " } only");
        return;
      }
    }
  }
}

bool host_cluster::propose(int group, std::string data) {
  const group_id id = group_id_of(group);
  node* best = nullptr;
  std::uint64_t best_term = 0;
  for (const auto& n : nodes_) {
    if (!n->core) continue;
    const auto s = n->core->status(id);
    if (s && s->state == role::leader && s->term.value >= best_term) {
      best = n.get();
      best_term = s->term.value;
    }
  }
  if (best == nullptr) return false;
  const bool ok = best->core->propose(id, std::move(data)).has_value();
  flush(*best);
  return ok;
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> host_cluster::propose_on(int host, int group,
                                                                                std::string data) {
  node& n = *nodes_[static_cast<std::size_t>(host)];
  if (!n.core) return std::nullopt;
  const group_id id = group_id_of(group);
  const auto s = n.core->status(id);
  if (!s || s->state != role::leader) return std::nullopt;
  const auto index = n.core->propose(id, std::move(data));
  flush(n);
  if (!index) return std::nullopt;
  return std::pair{index->value, s->term.value};
}

bool host_cluster::read_on(int host, int group, std::string context) {
  node& n = *nodes_[static_cast<std::size_t>(host)];
  if (!n.core) return false;
  const bool ok = n.core->read_index(group_id_of(group), std::move(context)).has_value();
  flush(n);
  return ok;
}

std::optional<raft_status> host_cluster::status(int host, int group) const {
  const node& n = *nodes_[static_cast<std::size_t>(host)];
  if (!n.core) return std::nullopt;
  auto s = n.core->status(group_id_of(group));
  if (!s) return std::nullopt;
  return *s;
}

void host_cluster::run(int ticks) {
  for (int t = 0; t < ticks; ++t) {
    ++now_;
    while (!net_.empty() && net_.begin()->first.first <= now_) {
      packet p = std::move(net_.begin()->second);
      net_.erase(net_.begin());
      node& n = *nodes_[static_cast<std::size_t>(p.to)];
      if (!n.core) continue;
      n.core->step(nodes_[static_cast<std::size_t>(p.from)]->id, std::move(p.msgs));
      flush(n);
    }
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      node& n = *nodes_[i];
      if (!n.core) {
        if (n.restart_at && *n.restart_at <= now_) restart(static_cast<int>(i));
        continue;
      }
      // Up to two completions per tick, each with some luck: a slow disk lets batches queue.
      for (int k = 0; k < 2 && rng_.below(3) != 0; ++k) {
        auto done = n.disk.complete(rng_);
        if (!done) break;
        host_output out;
        n.core->on_disk_done(*done, out);
        carry_out(n, out);
        flush(n);
      }
      if (n.core->failed() && !n.fenced_seen) {
        // The owner's recovery (raft_host::discard_unsynced, then a new host): to the disk, a crash.
        n.fenced_seen = true;
        ++counts_.disk_failures;
        n.restart_at = now_ + 5 + rng_.below(30);
      }
      if (n.fenced_seen && n.restart_at && *n.restart_at <= now_) {
        crash(static_cast<int>(i));
        restart(static_cast<int>(i));
        continue;
      }
      if (n.create_at && *n.create_at <= now_) create_groups(n);
      n.core->tick();
      // The partition manager's tick (partition_manager::tick): `__meta` records arrive, and the
      // leaders of moving groups take their next step; a fenced host does neither.
      if (opt_.moves && !n.core->failed()) {
        if (rng_.below(2) == 0) meta_catch_up(n, 1 + rng_.below(3), true);
        if (n.core) drive_moves(n);
      }
      flush(n);
    }
  }
}

bool host_cluster::replica_of(int group, const node& n) const {
  if (!opt_.moves) return true;
  const auto* p = meta_.partition(topic_, group);
  return p != nullptr && std::ranges::find(p->replicas, n.id) != p->replicas.end();
}

void host_cluster::converge(int ticks) {
  heal();
  opt_.loss_percent = 0;
  for (int i = 0; i < hosts(); ++i) {
    nodes_[static_cast<std::size_t>(i)]->disk.faults.fail_per_mille = 0;
    if (!running(i)) restart(i);
  }
  std::vector<bool> proposed(static_cast<std::size_t>(opt_.groups), false);
  std::string unsettled;
  for (int t = 0; t < ticks; ++t) {
    // With moves, every move must end first (liveness of the planner and `__meta`).
    bool done = !opt_.moves || moves_settled(&unsettled);
    for (int g = 0; g < opt_.groups; ++g) {
      const auto gi = static_cast<std::size_t>(g);
      if (!proposed[gi]) {
        proposed[gi] = propose(g, "final-" + std::to_string(g));
        done = false;
        continue;
      }
      // Done when every replica applied the marker.
      std::uint64_t idx = 0;
      for (const auto& [index, te] : history_[gi])
        if (te.second == "final-" + std::to_string(g)) idx = index;
      if (idx == 0) {
        done = false;
        if (t % 50 == 49) proposed[gi] = false;  // the leader may have lost it: propose again
        continue;
      }
      for (const auto& n : nodes_)
        if (replica_of(g, *n) && n->applied[gi] < idx) done = false;
    }
    if (done) {
      check_durable();
      return;
    }
    run(1);
  }
  std::string state;
  for (int g = 0; g < opt_.groups; ++g) state += describe(g);
  violation("no convergence after healing within " + std::to_string(ticks) + " ticks:" +
            (unsettled.empty() ? "" : " " + unsettled + ";") + state);
}

std::string host_cluster::describe(int g) const {
  std::string state = "\n    group " + std::to_string(group_id_of(g).value) + ":";
  if (opt_.moves) {
    const auto* p = meta_.partition(topic_, g);
    state += " replicas";
    for (node_id r : p->replicas) state += " " + std::to_string(r.value());
    if (p->moving()) {
      state += ", target";
      for (node_id r : p->target()) state += " " + std::to_string(r.value());
    }
    state += ";";
  }
  for (const auto& n : nodes_) {
    const auto st = n->core ? n->core->status(group_id_of(g)) : std::unexpected(host_error{});
    if (!st) {
      state += " [node " + std::to_string(n->id.value()) + " -]";
      continue;
    }
    std::string conf;
    for (node_id v : st->conf.voters) conf += std::to_string(v.value());
    if (!st->conf.learners.empty()) conf += "+";
    for (node_id v : st->conf.learners) conf += std::to_string(v.value());
    state += " [node " + std::to_string(n->id.value()) + " " + std::string(to_string(st->state)) + " term " +
             std::to_string(st->term.value) + " commit " + std::to_string(st->commit.value) + " applied " +
             std::to_string(n->applied[static_cast<std::size_t>(g)]) + " last " +
             std::to_string(st->last_index.value) + " conf " + conf + (st->quiesced ? " quiesced" : "") +
             (st->rejoining ? " rejoining" : "") + "]";
  }
  return state;
}

}  // namespace chronik::sim
