#include "tests/sim/formation_cluster.h"

#include <algorithm>

#include "metadata/core/formation_codec.h"
#include "metadata/meta_commands.h"
#include "metadata/meta_controller.h"

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

formation_cluster::formation_cluster(std::uint64_t seed, int size, std::uint32_t expect, controller_settings ctl)
    : expect_(expect),
      ctl_(ctl),
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
  n.state.reset();
  n.proposed_until.clear();
  n.cc_index = n.cc_term = 0;
  n.down_since.clear();
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
    n.state.reset();
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
  // The state machine is rebuilt from the log: the core hands every committed entry over again.
  n.state = std::make_unique<metadata::meta_state>();
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
      if (e.index <= n.state->applied_index()) continue;
      if (e.type != consensus::entry_type::normal || e.data.empty()) {
        n.state->skip(e.index);
      } else {
        (void)n.state->apply(e.index, e.data);  // a refused record is still applied, as an error
      }
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

// SWIM's view of this cluster's members and joiners from node i, as the controller sees it.
std::vector<metadata::node_view> formation_cluster::cluster_view(int i) {
  node& n = nodes_[i];
  const std::uint64_t now = gossip_.net().now();
  std::vector<metadata::node_view> out;
  for (const auto& m : gossip_.core(i).members()) {
    const auto bar1 = m.meta.find('|');
    const auto bar2 = m.meta.find('|', bar1 + 1);
    if (bar1 == std::string::npos || bar2 == std::string::npos) continue;
    const std::string joining = m.meta.substr(bar1 + 1, bar2 - bar1 - 1);
    auto f = metadata::decode_formation(m.meta.substr(bar2 + 1));
    const bool member = f && f->state == kind::member && f->cluster_id == n.raft_cluster;
    if (!member && joining != n.raft_cluster) continue;
    const std::string addr = "sim-" + std::to_string(m.id.value);
    metadata::node_view v{consensus::node_id{m.id.value}, m.uuid, addr + ":9092", addr + ":9093"};
    v.relation = member ? metadata::cluster_relation::member : metadata::cluster_relation::joining;
    const bool down = m.state == gossip::member_state::dead || m.state == gossip::member_state::left;
    if (!down) {
      n.down_since.erase(m.id.value);
    } else {
      const std::uint64_t since = n.down_since.try_emplace(m.id.value, now).first->second;
      v.swim = metadata::swim_view::down;
      v.down_for = std::chrono::milliseconds(10 * (now - since));
    }
    out.push_back(std::move(v));
  }
  return out;
}

// The controller on the `__meta` leader (metadata/meta_controller.h), as daemon/meta_service.cc
// runs it: records re-proposed per broker only after a pause, one configuration change at a time.
void formation_cluster::control(int i) {
  node& n = nodes_[i];
  if (!n.raft) return;
  auto view = cluster_view(i);  // tracks down_since on every node, leader or not
  if (n.raft->state() != consensus::role::leader) return;
  const auto st = n.raft->status();
  const std::uint64_t now = gossip_.net().now();
  metadata::controller_input in;
  in.self = consensus::node_id{id_of(i)};
  in.state = &n.state->data();
  in.conf = st.conf;
  in.match = st.match;
  in.commit = st.commit;
  in.conf_change_in_flight = n.cc_term == st.term.value && n.cc_index > st.commit.value;
  in.nodes = std::move(view);
  in.meta_voters = ctl_.meta_voters;
  in.voter_replace_after = std::chrono::milliseconds(10 * ctl_.voter_replace_after_ticks);
  const auto plan = metadata::plan_controller(in);
  auto due = [&](std::uint64_t id) {
    auto& until = n.proposed_until[id];
    if (now < until) return false;
    until = now + 100;
    return true;
  };
  for (const auto& reg : plan.registrations)
    if (due(reg.id.value)) (void)n.raft->propose(metadata::commands::register_broker(reg));
  for (const auto& sc : plan.state_changes)
    if (due(sc.id.value)) (void)n.raft->propose(metadata::commands::set_broker_state(sc.id, sc.uuid, sc.state));
  if (!plan.change) return;
  if (auto r = n.raft->propose_conf_change(*plan.change); r) {
    n.cc_index = r->value;
    n.cc_term = st.term.value;
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
    const auto* b = leader->state->broker(consensus::node_id{id_of(i)});
    if (b == nullptr || b->uuid != gossip_.core(i).self().uuid || b->state != metadata::broker_state::alive) return false;
  }
  return true;
}

int formation_cluster::leader() const {
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i)
    if (running(i) && nodes_[i].raft && nodes_[i].raft->state() == consensus::role::leader) return i;
  return -1;
}

const consensus::conf_state& formation_cluster::leader_conf() const { return nodes_[leader()].raft->conf(); }

const metadata::meta_data& formation_cluster::leader_registry() const { return nodes_[leader()].state->data(); }

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
             " registered " + std::to_string(n.state->brokers().size()) + " voters " + [&] {
               std::string v;
               for (auto id : n.raft->conf().voters) v += std::to_string(id.value) + ",";
               return v;
             }();
  }
  return out;
}

}  // namespace chronik::sim
