#include "tests/sim/formation_cluster.h"

#include <algorithm>

#include "metadata/core/formation_codec.h"

namespace chronik::sim {

using metadata::formation;
using kind = metadata::formation::kind;

namespace {
consensus::raft_config meta_raft_config() {
  consensus::raft_config c;
  c.election_timeout_ticks_min = 10;
  c.election_timeout_ticks_max = 20;
  c.heartbeat_ticks = 2;
  return c;
}
std::uint32_t id_of(int i) { return static_cast<std::uint32_t>(i + 1); }
}  // namespace

formation_cluster::formation_cluster(std::uint64_t seed, int size, std::uint32_t expect)
    : expect_(expect),
      gossip_(seed, [] {
        gossip::config c = gossip::config::local();
        c.tick_ms = 10;
        return c;
      }(), size),
      raft_net_(seed ^ 0x5eed),
      nodes_(static_cast<std::size_t>(size)) {}

std::string formation_cluster::meta_of(int i) const {
  const node& n = nodes_[i];
  return std::to_string(expect_) + "|" + n.joining + "|" + metadata::encode_formation(n.boot->state());
}

void formation_cluster::start(int i, const std::vector<int>& seeds, bool wiped) {
  node& n = nodes_[i];
  if (wiped) {
    n.disk = formation{};
    n.raft_disk.reset();
    n.raft_cluster.clear();
  }
  n.joining.clear();
  n.registered.clear();
  n.proposed.clear();
  gossip_.start(i, seeds, wiped, "starting");
  const metadata::node_ref self{id_of(i), gossip_.core(i).self().uuid};
  metadata::bootstrap_config cfg{expect_, 30, 200};
  n.boot = std::make_unique<metadata::bootstrap>(cfg, self, n.disk, [this] { return "c" + std::to_string(++next_cluster_id_); });
  raft_net_.set_down(i, false);
  step_bootstrap(i);
}

void formation_cluster::crash(int i) {
  gossip_.crash(i);
  nodes_[i].boot.reset();
  nodes_[i].raft.reset();
  raft_net_.set_down(i, true);
}

void formation_cluster::step_bootstrap(int i) {
  node& n = nodes_[i];
  std::vector<metadata::peer_view> view;
  for (const auto& m : gossip_.core(i).members()) {
    if (m.id.value == id_of(i)) continue;
    const auto bar1 = m.meta.find('|');
    const auto bar2 = m.meta.find('|', bar1 + 1);
    if (bar1 == std::string::npos || bar2 == std::string::npos) continue;
    auto f = metadata::decode_formation(m.meta.substr(bar2 + 1));
    if (!f) continue;
    const bool alive = m.state == gossip::member_state::alive || m.state == gossip::member_state::suspect;
    view.push_back({{m.id.value, m.uuid}, alive, !alive, static_cast<std::uint32_t>(std::stoul(m.meta.substr(0, bar1))), *f});
  }
  n.boot->observe(std::move(view));
  n.boot->tick();
  if (!n.boot->has_ready()) return;
  const auto rd = n.boot->ready();
  n.boot->advance();
  if (rd.persist) {
    // Restart never re-bootstraps: a persisted membership only ends by abandoning a cluster that
    // never formed.
    if (n.disk.state == kind::member && rd.persist->cluster_id != n.disk.cluster_id && !rd.abandon_group)
      violation("node " + std::to_string(i) + " left cluster " + n.disk.cluster_id + " for " + rd.persist->cluster_id);
    if (rd.abandon_group && formed_.contains(n.disk.cluster_id))
      violation("node " + std::to_string(i) + " abandoned cluster " + n.disk.cluster_id + " which had formed");
    n.disk = *rd.persist;
  }
  if (rd.abandon_group) {
    n.raft.reset();
    n.raft_disk.reset();
    n.raft_cluster.clear();
  }
  if (rd.join) {
    n.joining = *rd.join;
    start_group(i, *rd.join, {});  // a passive replica until the controller adds it
  }
  if (rd.start_group) start_group(i, n.boot->state().cluster_id, n.boot->state().voters);
  gossip_.set_meta(i, meta_of(i));
}

void formation_cluster::start_group(int i, const std::string& cluster, const std::vector<metadata::node_ref>& voters) {
  node& n = nodes_[i];
  if (!n.raft_disk || n.raft_cluster != cluster) {
    consensus::conf_state conf;
    for (const auto& v : voters) conf.voters.push_back(consensus::node_id{v.id});
    n.raft_disk = std::make_unique<consensus::memory_storage>(conf);
    n.raft_cluster = cluster;
  }
  n.raft = std::make_unique<consensus::raft>(meta_raft_config(), consensus::node_id{id_of(i)}, *n.raft_disk,
                                             raft_net_.random().next());
  // The founder (lowest voter) campaigns at once: the group needs a leader, not a timeout.
  if (!voters.empty() && voters.front().id == id_of(i)) n.raft->campaign();
}

void formation_cluster::step_raft(int i) {
  node& n = nodes_[i];
  if (!n.raft) return;
  n.raft->tick();
  while (n.raft->has_ready()) {
    consensus::ready rd = n.raft->get_ready();
    n.raft_disk->persist(rd.hard_state_update, rd.snapshot_update, rd.entries);
    for (auto& m : rd.messages) raft_net_.send(i, static_cast<int>(m.to.value) - 1, raft_packet{n.raft_cluster, m});
    for (const auto& e : rd.committed_entries) {
      if (e.type != consensus::entry_type::normal || !e.data.starts_with("register ")) continue;
      const auto space = e.data.find(' ', 9);
      n.registered[static_cast<std::uint32_t>(std::stoul(e.data.substr(9, space - 9)))] = e.data.substr(space + 1);
    }
    n.raft->advance(rd);
  }
  if (n.raft->state() == consensus::role::leader) formed_.insert(n.raft_cluster);
  // A joiner becomes a member once its group's configuration lists it.
  const auto& conf = n.raft->conf();
  const consensus::node_id me{id_of(i)};
  const bool listed = std::find(conf.voters.begin(), conf.voters.end(), me) != conf.voters.end() ||
                      std::find(conf.learners.begin(), conf.learners.end(), me) != conf.learners.end();
  if (!n.joining.empty() && listed && n.boot->state().state != kind::member) {
    n.boot->joined(n.raft_cluster, n.boot->state().voters);
    n.disk = n.boot->state();
    n.boot->advance();
    gossip_.set_meta(i, meta_of(i));
  }
}

// The controller on the `__meta` leader: register brokers, add joiners as learners, promote them.
void formation_cluster::control(int i) {
  node& n = nodes_[i];
  if (!n.raft || n.raft->state() != consensus::role::leader) return;
  std::vector<std::pair<std::uint32_t, std::string>> brokers{{id_of(i), gossip_.core(i).self().uuid}};
  std::vector<std::pair<std::uint32_t, std::string>> joiners;
  for (const auto& m : gossip_.core(i).members()) {
    if (m.state != gossip::member_state::alive) continue;
    const auto bar1 = m.meta.find('|');
    const auto bar2 = m.meta.find('|', bar1 + 1);
    if (bar1 == std::string::npos || bar2 == std::string::npos) continue;
    const std::string joining = m.meta.substr(bar1 + 1, bar2 - bar1 - 1);
    auto f = metadata::decode_formation(m.meta.substr(bar2 + 1));
    if (f && f->state == kind::member && f->cluster_id == n.raft_cluster) brokers.emplace_back(m.id.value, m.uuid);
    if (joining == n.raft_cluster) joiners.emplace_back(m.id.value, m.uuid);
  }
  for (const auto& [b, uuid] : brokers) {
    const std::string cmd = "register " + std::to_string(b) + " " + uuid;
    auto it = n.registered.find(b);
    if ((it == n.registered.end() || it->second != uuid) && n.proposed.insert(cmd).second) (void)n.raft->propose(cmd);
  }
  const auto status = n.raft->status();
  const std::size_t meta_voters = status.conf.voters.size() + status.conf.learners.size() >= 5 ? 5 : 3;
  for (const auto& [j, uuid] : joiners) {
    const consensus::node_id id{j};
    const auto& c = status.conf;
    const bool voter = std::find(c.voters.begin(), c.voters.end(), id) != c.voters.end();
    const bool learner = std::find(c.learners.begin(), c.learners.end(), id) != c.learners.end();
    auto reg = n.registered.find(j);
    // A node that comes back with a new uuid (a wiped data directory) is a new member: its old
    // replica, whose log it no longer has, is removed before it is added again (property 3).
    if ((voter || learner) && reg != n.registered.end() && reg->second != uuid)
      (void)n.raft->propose_conf_change({consensus::conf_change::kind::remove, id});
    else if (!voter && !learner) (void)n.raft->propose_conf_change({consensus::conf_change::kind::add_learner, id});
    else if (learner && c.voters.size() < meta_voters && status.match.contains(id) && status.match.at(id) >= status.commit)
      (void)n.raft->propose_conf_change({consensus::conf_change::kind::add_voter, id});
  }
}

void formation_cluster::run(std::uint64_t ticks) {
  for (std::uint64_t t = 0; t < ticks; ++t) {
    gossip_.run(1);
    raft_net_.tick([&](int, int to, const raft_packet& p) {
      node& n = nodes_[to];
      // The identity check of the transport: another cluster's `__meta` traffic is refused.
      if (!running(to) || !n.raft || n.raft_cluster != p.cluster_id) return;
      n.raft->step(p.msg);
    });
    for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
      if (!running(i) || gossip_.net().paused(i)) continue;
      step_bootstrap(i);
      step_raft(i);
      control(i);
    }
    if (formed_.size() > 1) violation("two clusters formed: " + *formed_.begin() + " and " + *formed_.rbegin());
  }
}

std::optional<std::uint64_t> formation_cluster::run_until(const std::function<bool()>& pred, std::uint64_t max_ticks) {
  for (std::uint64_t t = 1; t <= max_ticks; ++t) {
    run(1);
    if (pred() || !violations_.empty()) return violations_.empty() ? std::optional(t) : std::nullopt;
  }
  return std::nullopt;
}

bool formation_cluster::formed_with_all_registered() const {
  std::string cluster;
  const node* leader = nullptr;
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    if (!running(i)) continue;
    const node& n = nodes_[i];
    if (n.disk.state != kind::member || !n.raft) return false;
    if (cluster.empty()) cluster = n.disk.cluster_id;
    if (n.disk.cluster_id != cluster) return false;
    if (n.raft->state() == consensus::role::leader) leader = &n;
  }
  if (!leader) return false;
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    if (!running(i)) continue;
    auto it = leader->registered.find(id_of(i));
    if (it == leader->registered.end() || it->second != gossip_.core(i).self().uuid) return false;
  }
  return true;
}

std::string formation_cluster::describe() const {
  std::string out;
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    const node& n = nodes_[i];
    out += "\n  node " + std::to_string(i) + ": ";
    if (!running(i)) {
      out += "down, disk " + metadata::encode_formation(n.disk);
      continue;
    }
    out += metadata::encode_formation(n.boot->state()) + (n.joining.empty() ? "" : " joining " + n.joining);
    if (n.raft)
      out += " raft " + std::string(consensus::to_string(n.raft->state())) + " t" + std::to_string(n.raft->term().value) +
             " registered " + std::to_string(n.registered.size());
  }
  return out;
}

}  // namespace chronik::sim
