#include "tests/sim/raft_cluster.h"

#include <algorithm>
#include <sstream>

namespace chronik::sim {

using consensus::entry;
using consensus::log_index;
using consensus::node_id;

namespace {
consensus::conf_state voters(int n) {
  consensus::conf_state c;
  for (int i = 0; i < n; ++i) c.voters.push_back(node_id{static_cast<std::uint32_t>(static_cast<std::uint64_t>(i + 1))});
  return c;
}

// The simulated state machine is the list of applied (index, value); a snapshot is that list.
std::string encode_state(const std::vector<std::pair<log_index, std::string>>& applied) {
  std::string out;
  for (const auto& [i, v] : applied) out += std::to_string(i.value) + " " + v + "\n";
  return out;
}

std::vector<std::pair<log_index, std::string>> decode_state(const std::string& data) {
  std::vector<std::pair<log_index, std::string>> out;
  std::istringstream in(data);
  std::string line;
  while (std::getline(in, line)) {
    const auto sp = line.find(' ');
    out.emplace_back(log_index{std::stoull(line.substr(0, sp))}, line.substr(sp + 1));
  }
  return out;
}
}  // namespace

raft_cluster::raft_cluster(std::uint64_t seed, int size, consensus::raft_config cfg)
    : seed_(seed), cfg_(cfg), net_(seed), nodes_(static_cast<std::size_t>(size)) {
  for (int i = 0; i < size; ++i) {
    nodes_[i].disk = std::make_unique<consensus::memory_storage>(voters(size));
    restart(i);
  }
}

void raft_cluster::violation(std::string what) {
  violations_.push_back("tick " + std::to_string(net_.now()) + ": " + std::move(what));
}

void raft_cluster::set_campaign_mode(int i, consensus::campaign_mode mode) {
  nodes_[i].mode = mode;
  if (nodes_[i].core) nodes_[i].core->set_campaign_mode(mode);
}

bool raft_cluster::transfer(int i, int to) {
  if (!nodes_[i].core) return false;
  return nodes_[i].core->transfer_leadership(node_id{static_cast<std::uint32_t>(to + 1)}).has_value();
}

void raft_cluster::restart(int i) {
  node& n = nodes_[i];
  n.core = std::make_unique<consensus::raft>(cfg_, node_id{static_cast<std::uint32_t>(static_cast<std::uint64_t>(i + 1))}, *n.disk,
                                             net_.random().next());
  n.core->set_campaign_mode(n.mode);
  n.writing.reset();
  // The state machine is volatile: rebuild it from the snapshot; the core re-delivers the rest.
  const auto snap = n.disk->latest_snapshot();
  n.applied = decode_state(snap.data);
  n.applied_index = snap.meta.index;
  net_.set_down(i, false);
}

void raft_cluster::wipe(int i, wipe_mode mode) {
  crash(i);
  node& n = nodes_[i];
  n.disk = std::make_unique<consensus::memory_storage>(voters(size()));
  consensus::hard_state hs = n.disk->initial_hard_state();
  if (mode == wipe_mode::rejoin) {
    hs.rejoining = true;
    n.disk->persist(hs, std::nullopt, {});
  }
  // A new life: what it persists is checked from here on (it does not remember its old votes;
  // rejoining is what keeps that safe).
  n.last_hard_state = hs;
  restart(i);
}

void raft_cluster::crash(int i) {
  node& n = nodes_[i];
  n.core.reset();
  n.writing.reset();  // the write in flight never reached the disk
  net_.set_down(i, true);
}

void raft_cluster::cut(int from, int to) {
  cuts_.insert({from, to});
  net_.cut(from, to);
}

void raft_cluster::heal() {
  cuts_.clear();
  net_.heal();
}

void raft_cluster::enable_liveness_oracle(std::uint64_t delay_ticks) { oracle_delay_ticks_ = delay_ticks; }

bool raft_cluster::reachable(int from, int to) const {
  return nodes_[to].core && !net_.paused(to) && !cuts_.contains({from, to}) && !cuts_.contains({to, from});
}

// SWIM's verdict, simplified: a node unreachable from the observer for long enough is dead to it.
// It may be wrong (a one-way cut SWIM would not notice, a pause it would forgive); quiescence
// must survive false alarms too, so the oracle errs on the side of raising them.
void raft_cluster::run_liveness_oracle() {
  if (!oracle_delay_ticks_) return;
  for (int i = 0; i < size(); ++i) {
    for (int j = 0; j < size(); ++j) {
      if (i == j) continue;
      if (reachable(i, j)) {
        unreachable_since_.erase({i, j});
        continue;
      }
      const auto since = unreachable_since_.emplace(std::pair{i, j}, net_.now()).first->second;
      node& n = nodes_[i];
      if (!n.core || net_.paused(i) || !n.core->quiesced()) continue;
      if (n.core->leader().value() != static_cast<std::uint64_t>(j + 1)) continue;
      if (net_.now() - since < *oracle_delay_ticks_) continue;
      n.core->wake();
      ++oracle_wakes_;
    }
  }
}

void raft_cluster::compact(int i) {
  node& n = nodes_[i];
  if (!n.core || n.applied_index <= n.disk->first_index()) return;
  // Only what is durable may be compacted: the applied index never passes the persisted log.
  const log_index upto = std::min(n.applied_index, n.disk->last_index());
  std::vector<std::pair<log_index, std::string>> state;
  for (const auto& kv : n.applied)
    if (kv.first <= upto) state.push_back(kv);
  n.disk->compact(upto, encode_state(state), n.core->conf());
}

bool raft_cluster::propose(const std::string& data) {
  auto l = leader();
  if (!l) return false;
  if (!nodes_[*l].core->propose(data)) return false;
  proposed_.insert(data);
  ++proposals_;
  if (!nodes_[*l].writing && nodes_[*l].core->has_ready()) start_write(*l);
  return true;
}

std::optional<int> raft_cluster::leader() const {
  std::optional<int> best;
  for (int i = 0; i < size(); ++i) {
    const auto& c = nodes_[i].core;
    if (!c || c->state() != consensus::role::leader) continue;
    if (!best || c->term() > nodes_[*best].core->term()) best = i;
  }
  return best;
}

void raft_cluster::start_write(int i) {
  node& n = nodes_[i];
  n.writing = n.core->get_ready();
  // What may leave before the write (a leader's appends, heartbeats: ready::early_messages) leaves
  // now, as the host sends it: a crash in the window below then loses the leader's own copy of
  // entries its followers may already hold.
  auto& msgs = n.writing->messages;
  for (std::size_t k = 0; k < n.writing->early_messages; ++k) net_.send(i, static_cast<int>(msgs[k].to.value()) - 1, msgs[k]);
  msgs.erase(msgs.begin(), msgs.begin() + static_cast<std::ptrdiff_t>(n.writing->early_messages));
  n.writing->early_messages = 0;
  // fsync latency of 0-2 ticks: a crash in that window loses the whole ready.
  n.write_done_at = net_.now() + net_.random().below(3);
  if (n.write_done_at == net_.now()) finish_write(i);
}

void raft_cluster::finish_write(int i) {
  node& n = nodes_[i];
  consensus::ready rd = std::move(*n.writing);
  n.writing.reset();
  if (rd.hard_state_update) {
    const auto& hs = *rd.hard_state_update;
    const auto& last = n.last_hard_state;
    if (hs.term < last.term) violation("node " + std::to_string(i) + " persisted term went back");
    if (hs.term == last.term && last.vote != no_node && hs.vote != last.vote)
      violation("node " + std::to_string(i) + " changed its vote within term " + std::to_string(hs.term.value));
    if (hs.commit < last.commit) violation("node " + std::to_string(i) + " persisted commit went back");
    n.last_hard_state = hs;
  }
  n.disk->persist(rd.hard_state_update, rd.snapshot_update, rd.entries);
  for (auto& m : rd.messages) net_.send(i, static_cast<int>(m.to.value()) - 1, m);
  if (rd.snapshot_update) {
    n.applied = decode_state(rd.snapshot_update->data);
    n.applied_index = rd.snapshot_update->meta.index;
  }
  for (const entry& e : rd.committed_entries) {
    if (e.index != n.applied_index.next())
      violation("node " + std::to_string(i) + " applied index " + std::to_string(e.index.value) + " after " +
                std::to_string(n.applied_index.value));
    n.applied_index = e.index;
    auto [it, fresh] = committed_.emplace(e.index.value, std::pair{e.term.value, e.data.str()});
    if (fresh) {
      std::uint64_t bound = 0;
      for (const auto& other : nodes_)
        if (other.core) bound = std::max(bound, other.core->term().value);
      commit_term_bound_[e.index.value] = bound;
    }
    if (!fresh && it->second != std::pair{e.term.value, e.data.str()})
      violation("node " + std::to_string(i) + " applied a different entry at index " + std::to_string(e.index.value));
    if (e.type == consensus::entry_type::normal && !e.data.empty()) {
      n.applied.emplace_back(e.index, e.data.str());
      acked_.insert(e.data.str());
    }
  }
  n.core->advance(rd);
}

void raft_cluster::tick_node(int i) {
  node& n = nodes_[i];
  if (!n.core || net_.paused(i)) return;
  if (n.writing && net_.now() >= n.write_done_at) finish_write(i);
  n.core->tick();
  if (!n.writing && n.core->has_ready()) start_write(i);
}

void raft_cluster::run(std::uint64_t ticks) {
  for (std::uint64_t t = 0; t < ticks; ++t) {
    net_.tick([&](int, int to, const consensus::message& m) {
      node& n = nodes_[to];
      if (!n.core) return;
      n.core->step(m);
      if (!n.writing && n.core->has_ready()) start_write(to);
    });
    run_liveness_oracle();
    for (int i = 0; i < size(); ++i) tick_node(i);
    check_invariants();
  }
}

std::optional<std::uint64_t> raft_cluster::run_until(const std::function<bool()>& pred, std::uint64_t max_ticks) {
  for (std::uint64_t t = 1; t <= max_ticks; ++t) {
    run(1);
    if (pred()) return t;
  }
  return std::nullopt;
}

void raft_cluster::check_invariants() {
  bool quiet = false;
  for (int i = 0; i < size(); ++i) {
    const auto& c = nodes_[i].core;
    if (c && c->quiesced()) {
      quiet = true;
      // A core goes quiet only with its log fully committed (leader: everything replicated;
      // follower: its log ends with the leader's committed last entry), and stays so until woken.
      if (c->log().committed() != c->log().last_index())
        violation("node " + std::to_string(i) + " quiesced with commit " + std::to_string(c->log().committed().value) +
                  " below last index " + std::to_string(c->log().last_index().value));
    }
    if (!c || c->state() != consensus::role::leader) continue;
    // §5.2 Election Safety: at most one leader per term.
    auto [it, fresh] = leaders_by_term_.emplace(c->term().value, i);
    if (!fresh && it->second != i)
      violation("two leaders in term " + std::to_string(c->term().value) + ": " + std::to_string(it->second) +
                " and " + std::to_string(i));
  }
  if (quiet) ++quiesced_ticks_;
}

void raft_cluster::check_logs() {
  // §5.3 Log Matching: where two logs hold an entry of the same index and term, they agree on
  // every entry up to it.
  for (int a = 0; a < size(); ++a) {
    for (int b = a + 1; b < size(); ++b) {
      if (!nodes_[a].core || !nodes_[b].core) continue;
      const auto& la = nodes_[a].core->log();
      const auto& lb = nodes_[b].core->log();
      const log_index lo = std::max(la.first_index(), lb.first_index());
      log_index hi = std::min(la.last_index(), lb.last_index());
      while (hi >= lo && hi.value > 0 && la.term(hi) != lb.term(hi)) hi = hi.prev();
      if (hi < lo || hi.value == 0) continue;
      auto ea = la.slice(lo, hi.next(), ~0ULL);
      auto eb = lb.slice(lo, hi.next(), ~0ULL);
      if (ea && eb && *ea != *eb)
        violation("logs of nodes " + std::to_string(a) + " and " + std::to_string(b) + " differ below index " +
                  std::to_string(hi.value));
    }
  }
  // §5.4 Leader Completeness: a leader holds every entry committed in an earlier term (unless
  // compacted into its snapshot).
  for (int l = 0; l < size(); ++l) {
    if (!nodes_[l].core || nodes_[l].core->state() != consensus::role::leader) continue;
    const auto& log = nodes_[l].core->log();
    const std::uint64_t term = nodes_[l].core->term().value;
    for (const auto& [index, value] : committed_) {
      if (log_index{index} < log.first_index() || commit_term_bound_.at(index) >= term) continue;
      if (log.term(log_index{index}) != consensus::term_id{value.first})
        violation("leader " + std::to_string(l) + " lacks committed entry " + std::to_string(index));
    }
  }
}

std::string raft_cluster::describe() const {
  std::string out;
  for (int i = 0; i < size(); ++i) {
    const node& n = nodes_[i];
    out += "\n  node " + std::to_string(i) + ": ";
    if (!n.core) {
      out += "down";
      continue;
    }
    const auto s = n.core->status();
    out += std::string(consensus::to_string(s.state)) + " term " + std::to_string(s.term.value) + " leader " +
           std::to_string(s.leader.value()) + " commit " + std::to_string(s.commit.value) + " applied " +
           std::to_string(n.applied_index.value) + " log [" + std::to_string(n.core->log().first_index().value) +
           ", " + std::to_string(s.last_index.value) + "] disk last " + std::to_string(n.disk->last_index().value) +
           (n.writing ? " writing" : "") + (net_.paused(i) ? " paused" : "") + (s.quiesced ? " quiesced" : "");
    for (const auto& [id, m] : s.match) out += " m" + std::to_string(id.value()) + "=" + std::to_string(m.value);
  }
  return out;
}

bool raft_cluster::all_applied_acknowledged() const {
  for (const auto& n : nodes_) {
    if (!n.core) continue;
    std::set<std::string> have;
    for (const auto& kv : n.applied) have.insert(kv.second);
    for (const auto& v : acked_)
      if (!have.contains(v)) return false;
  }
  return true;
}

}  // namespace chronik::sim
