#include "tests/sim/host_cluster.h"

#include <algorithm>

namespace chronik::sim {

using namespace consensus;

struct host_cluster::node {
  node_id id;
  host_disk disk;
  std::unique_ptr<host_core> core;  // null while down
  std::vector<std::uint64_t> applied;  // per group, the last index applied since the restart
  std::optional<std::uint64_t> restart_at;
  bool fenced_seen = false;
};

namespace {

constexpr std::uint64_t group_base = 100;  // group ids 100.. (0 is no group)

raft_config sim_raft_config() {
  raft_config c;
  c.election_timeout_ticks_min = 10;
  c.election_timeout_ticks_max = 20;
  c.heartbeat_ticks = 2;
  c.quiesce_after_ticks = 30;
  return c;
}

}  // namespace

host_cluster::host_cluster(std::uint64_t seed, host_sim_options opt) : opt_(opt), rng_(seed) {
  history_.resize(static_cast<std::size_t>(opt_.groups));
  for (int i = 0; i < opt_.hosts; ++i) {
    auto n = std::make_unique<node>();
    n->id = node_id{static_cast<std::uint32_t>(static_cast<std::uint64_t>(i + 1))};
    n->disk.faults = opt_.disk;
    nodes_.push_back(std::move(n));
  }
  for (int i = 0; i < opt_.hosts; ++i) restart(i);
}

host_cluster::~host_cluster() = default;

void host_cluster::violation(std::string what) {
  if (violations_.size() < 20) violations_.push_back("tick " + std::to_string(now_) + ": " + std::move(what));
}

bool host_cluster::running(int host) const { return nodes_[static_cast<std::size_t>(host)]->core != nullptr; }

void host_cluster::create_groups(node& n) {
  conf_state voters;
  for (const auto& m : nodes_) voters.voters.push_back(m->id);
  for (int g = 0; g < opt_.groups; ++g) {
    const group_id id{group_base + static_cast<std::uint64_t>(g)};
    auto r = n.core->create_group(id, voters, sim_raft_config(), group_start::fresh, n.disk.reader(id));
    if (!r) violation("create_group failed: " + r.error().text);
    else if (r->stored_snapshot) apply(n, *r->stored_snapshot);
  }
}

void host_cluster::restart(int host) {
  node& n = *nodes_[static_cast<std::size_t>(host)];
  if (n.core) return;
  const host_core_config cfg{n.id, rng_.next(), 4, 1u << 20};
  n.core = std::make_unique<host_core>(cfg, nullptr, n.disk.recovered(), std::set<std::uint64_t>{});
  n.applied.assign(static_cast<std::size_t>(opt_.groups), 0);
  n.restart_at.reset();
  n.fenced_seen = false;
  create_groups(n);
  // The failure detector's view (the liveness oracle of docs/raft.md "Quiescence").
  for (const auto& m : nodes_) {
    if (m.get() == &n) continue;
    n.core->set_node_liveness(m->id, m->core ? node_liveness::alive : node_liveness::dead);
    if (m->core) m->core->set_node_liveness(n.id, node_liveness::alive);
  }
  flush(n);
}

void host_cluster::crash(int host) {
  node& n = *nodes_[static_cast<std::size_t>(host)];
  if (!n.core) return;
  ++counts_.crashes;
  n.core.reset();  // cores and readers first: the disk's live stores are replaced next
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
    if (n.applied[gi] < 30 || rng_.below(40) != 0) continue;
    const log_index at{n.applied[gi] - rng_.below(10)};
    auto r = n.core->compact(group_id{group_base + gi}, at, "state at " + std::to_string(at.value));
    if (r) ++counts_.compactions;
  }
}

void host_cluster::apply(node& n, apply_batch& b) {
  const std::size_t g = b.group.value - group_base;
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
    } else if (it->second.first != e.term.value || it->second.second != e.data) {
      violation(who + " applied a different entry at index " + std::to_string(e.index.value) + " (term " +
                std::to_string(e.term.value) + " vs " + std::to_string(it->second.first) + ")");
    }
  }
}

void host_cluster::check_durable() {
  const std::size_t majority = nodes_.size() / 2 + 1;
  for (std::size_t g = 0; g < history_.size(); ++g) {
    const group_id id{group_base + g};
    for (const auto& [index, te] : history_[g]) {
      // The bootstrap entries (one per initial member, docs/raft.md "Design points") are
      // committed by construction: every replica writes them itself before its core starts.
      if (index <= nodes_.size()) continue;
      std::size_t copies = 0;
      for (const auto& n : nodes_) {
        const memory_storage* d = n->disk.durable(id);
        const auto t = d ? d->term(log_index{index}) : std::unexpected(log_errc::unavailable);
        // An index a durable snapshot covers is kept in it: snapshots hold only applied entries.
        if ((t && t->value == te.first) || (d != nullptr && index < d->first_index().value)) ++copies;
      }
      if (copies < majority) {
        violation("acknowledged entry " + std::to_string(index) + " of group " + std::to_string(id.value) +
                  " is durable on " + std::to_string(copies) + " hosts only");
        return;
      }
    }
  }
}

bool host_cluster::propose(int group, std::string data) {
  const group_id id{group_base + static_cast<std::uint64_t>(group)};
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
      n.core->tick();
      flush(n);
    }
  }
}

void host_cluster::converge(int ticks) {
  heal();
  opt_.loss_percent = 0;
  for (int i = 0; i < hosts(); ++i) {
    nodes_[static_cast<std::size_t>(i)]->disk.faults.fail_per_mille = 0;
    if (!running(i)) restart(i);
  }
  std::vector<std::uint64_t> marker_index(static_cast<std::size_t>(opt_.groups), 0);
  std::vector<bool> proposed(static_cast<std::size_t>(opt_.groups), false);
  for (int t = 0; t < ticks; ++t) {
    bool done = true;
    for (int g = 0; g < opt_.groups; ++g) {
      const auto gi = static_cast<std::size_t>(g);
      if (!proposed[gi]) {
        proposed[gi] = propose(g, "final-" + std::to_string(g));
        done = false;
        continue;
      }
      // Done when every host applied the marker.
      std::uint64_t idx = 0;
      for (const auto& [index, te] : history_[gi])
        if (te.second == "final-" + std::to_string(g)) idx = index;
      if (idx == 0) {
        done = false;
        if (t % 50 == 49) proposed[gi] = false;  // the leader may have lost it: propose again
        continue;
      }
      for (const auto& n : nodes_)
        if (n->applied[gi] < idx) done = false;
    }
    if (done) {
      check_durable();
      return;
    }
    run(1);
  }
  std::string state;
  for (int g = 0; g < opt_.groups; ++g) {
    state += "\n    group " + std::to_string(group_base + static_cast<std::uint64_t>(g)) + ":";
    for (const auto& n : nodes_) {
      const auto st = n->core ? n->core->status(group_id{group_base + static_cast<std::uint64_t>(g)})
                              : std::unexpected(host_error{});
      if (!st) {
        state += " [node " + std::to_string(n->id.value()) + " down or fenced]";
        continue;
      }
      state += " [node " + std::to_string(n->id.value()) + " " + std::string(to_string(st->state)) + " term " +
               std::to_string(st->term.value) + " commit " + std::to_string(st->commit.value) + " applied " +
               std::to_string(n->applied[static_cast<std::size_t>(g)]) + " last " +
               std::to_string(st->last_index.value) + (st->quiesced ? " quiesced" : "") + "]";
    }
  }
  violation("no convergence after healing within " + std::to_string(ticks) + " ticks:" + state);
}

}  // namespace chronik::sim
