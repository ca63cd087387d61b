#include "tests/sim/formation_cluster.h"

#include <algorithm>

#include "metadata/core/formation_codec.h"
#include "metadata/leadership_drain.h"

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
constexpr std::uint64_t tick_ms = 10;  // one simulated tick
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
  n.meta.reset();
  n.health.reset();
  n.read.reset();
  gossip_.start(i, seeds, wiped, "starting");
  const metadata::node_ref self{node_id{id_of(i)}, gossip_.core(i).self().uuid};
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
    if (m.id.value() == id_of(i)) continue;
    const auto bar1 = m.meta.find('|');
    const auto bar2 = m.meta.find('|', bar1 + 1);
    if (bar1 == std::string::npos || bar2 == std::string::npos) continue;
    auto f = metadata::decode_formation(m.meta.substr(bar2 + 1));
    if (!f) continue;
    const bool alive = m.state == gossip::member_state::alive || m.state == gossip::member_state::suspect;
    view.push_back({{m.id, m.uuid}, alive, !alive, static_cast<std::uint32_t>(std::stoul(m.meta.substr(0, bar1))), *f});
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
    n.meta.reset();
    n.read.reset();
    n.raft.reset();
    n.raft_disk.reset();
    n.raft_cluster.clear();
  }
  if (rd.join) {
    n.joining = *rd.join;
    start_group(i, *rd.join, {});  // a passive replica until the controller adds it
    n.meta->set_joining(true);
  }
  if (rd.start_group) start_group(i, n.boot->state().cluster_id, n.boot->state().voters);
  gossip_.set_meta(i, meta_of(i));
}

void formation_cluster::start_group(int i, const std::string& cluster, const std::vector<metadata::node_ref>& voters) {
  node& n = nodes_[i];
  if (!n.raft_disk || n.raft_cluster != cluster) {
    consensus::conf_state conf;
    for (const auto& v : voters) conf.voters.push_back(v.id);
    n.raft_disk = std::make_unique<consensus::memory_storage>(conf);
    n.raft_cluster = cluster;
  }
  // The state machine is rebuilt from the log: the core hands every committed entry over again.
  // The production settings, but for the controller's targets; the sim never compacts its log, so
  // no snapshot is ever due (raft_sim covers compaction and snapshot installs).
  metadata::meta_node_config mc;
  mc.self = consensus::node_id{id_of(i)};
  mc.self_uuid = gossip_.core(i).self().uuid;
  mc.meta_voters = ctl_.meta_voters;
  mc.voter_replace_after = std::chrono::milliseconds(tick_ms * ctl_.voter_replace_after_ticks);
  mc.snapshot_entries = std::uint64_t{1} << 40;
  mc.read_timeout_ms = tick_ms * meta_raft_config().election_timeout_ticks_min;
  n.meta = std::make_unique<metadata::meta_node>(std::move(mc));
  n.meta->open_group(cluster);
  n.health.reset();
  n.read.reset();
  n.raft = std::make_unique<consensus::raft>(meta_raft_config(), consensus::node_id{id_of(i)}, *n.raft_disk,
                                             raft_net_.random().next());
  // The founder (lowest voter) campaigns when the core says so (meta_node::found), as
  // daemon/meta_service.cc does: the group needs a leader, not a timeout.
  if (!voters.empty() && voters.front().id == node_id{id_of(i)}) {
    std::vector<node_id> ids;
    for (const auto& v : voters) ids.push_back(v.id);
    n.meta->found(std::move(ids));
  }
}

void formation_cluster::step_raft(int i) {
  node& n = nodes_[i];
  if (!n.raft) return;
  n.raft->tick();
  while (n.raft->has_ready()) {
    consensus::ready rd = n.raft->get_ready();
    n.raft_disk->persist(rd.hard_state_update, rd.snapshot_update, rd.entries);
    for (auto& m : rd.messages) raft_net_.send(i, static_cast<int>(m.to.value()) - 1, raft_packet{n.raft_cluster, m});
    if (rd.snapshot_update) (void)n.meta->restore(*rd.snapshot_update);
    // A refused record is still applied, as an error: the outcome matters to nobody here.
    for (const auto& e : rd.committed_entries) (void)n.meta->apply(e);
    for (const auto& rs : rd.read_states) n.meta->read_answered(rs.context, rs.index);
    n.raft->advance(rd);
  }
  if (n.raft->state() == consensus::role::leader) formed_.insert(n.raft_cluster);
}

// Gossip's members as node i sees them, decoded from the sim's meta ("expect|joining|formation").
std::vector<metadata::member_info> formation_cluster::members_seen(int i) const {
  const auto& core = gossip_.core(i);
  std::vector<metadata::member_info> out;
  for (const auto& m : core.members()) {
    const auto bar1 = m.meta.find('|');
    const auto bar2 = m.meta.find('|', bar1 + 1);
    if (bar1 == std::string::npos || bar2 == std::string::npos) continue;
    const std::string addr = "sim-" + std::to_string(m.id.value());
    metadata::member_info v{m.id, m.uuid, addr + ":9092", addr + ":9093"};
    v.down = m.state == gossip::member_state::dead || m.state == gossip::member_state::left;
    v.since_change = std::chrono::milliseconds(tick_ms * (core.now() - m.state_changed_at));
    if (auto f = metadata::decode_formation(m.meta.substr(bar2 + 1))) v.announced = *f;
    v.joining_cluster = m.meta.substr(bar1 + 1, bar2 - bar1 - 1);
    out.push_back(std::move(v));
  }
  return out;
}

// The shell's tick, as daemon/meta_service.cc runs it: observe, tick the core, carry out its ready.
// Now and then the node also asks for a linearizable read (dissertation §6.4), remembering the
// highest commit index any running replica of its cluster knows at that moment: a read served
// as linearizable must see at least that much.
void formation_cluster::tick_meta(int i) {
  node& n = nodes_[i];
  if (!n.meta || !n.raft) return;
  metadata::meta_observation seen;
  seen.raft = n.raft->status();
  seen.members = members_seen(i);
  n.meta->tick(tick_ms * gossip_.net().now(), std::move(seen));
  hand_over_if_leaving(i);
  if (!n.read && raft_net_.random().below(20) == 0) {
    if (auto ticket = n.meta->request_read()) {
      std::uint64_t committed = 0;
      for (int j = 0; j < static_cast<int>(nodes_.size()); ++j)
        if (running(j) && nodes_[j].raft && nodes_[j].raft_cluster == n.raft_cluster)
          committed = std::max(committed, nodes_[j].raft->status().commit.value);
      n.read = pending_read{ticket->id, committed};
      n.raft->read_index(ticket->context);
    }
  }
  carry_out(i);
}

// daemon/drain_service.cc's part for `__meta`: a leader that should lead nothing transfers the
// leadership (Raft dissertation §3.10) to the voter drain_target picks, asking again at most every
// 100 ticks (an unfinished transfer is abandoned after an election timeout). No partitions run
// here, so meta_goes_now always holds.
void formation_cluster::hand_over_if_leaving(int i) {
  node& n = nodes_[i];
  const auto st = n.raft->status();
  const metadata::meta_state& state = n.meta->state();
  if (st.state != consensus::role::leader || metadata::may_take_leadership(state, st.id)) return;
  const std::uint64_t now = gossip_.net().now();
  if (now < n.transfer_asked_at + 100 && n.transfer_asked_at != 0) return;
  std::set<consensus::node_id> dead;
  for (const auto& [id, b] : state.brokers())
    if (b.state == metadata::broker_state::dead) dead.insert(id);
  const metadata::drain_group_view view{st.id, {}, st.conf.voters, st.match, st.last_index};
  if (const auto to = metadata::drain_target(view, metadata::drained_nodes(state), dead)) {
    n.transfer_asked_at = now;
    (void)n.raft->transfer_leadership(*to);
  }
}

bool formation_cluster::propose(std::string command) {
  const int l = leader();
  return l >= 0 && nodes_[l].raft->propose(std::move(command)).has_value();
}

void formation_cluster::carry_out(int i) {
  node& n = nodes_[i];
  auto rd = n.meta->take_ready();
  if (rd.campaign) {
    n.raft->campaign();
    n.meta->campaigned();
  }
  for (auto& p : rd.proposals) (void)n.raft->propose(std::move(p.command));
  if (rd.conf_change) {
    if (auto r = n.raft->propose_conf_change(rd.conf_change->change); r) n.meta->conf_change_proposed(*r);
  }
  if (rd.snapshot) violation("node " + std::to_string(i) + ": a snapshot was offered, and the sim never compacts");
  if (rd.health) n.health = *rd.health;
  for (const auto& done : rd.reads) {
    if (!n.read || n.read->id != done.id) {
      violation("node " + std::to_string(i) + ": read " + std::to_string(done.id) + " completed but never asked for");
      continue;
    }
    const std::uint64_t applied = n.meta->state().applied_index().value;
    if (done.linearizable && applied < n.read->committed)
      violation("node " + std::to_string(i) + ": a linearizable read at applied index " + std::to_string(applied) +
                " missed index " + std::to_string(n.read->committed) + ", committed before it began");
    ++(done.linearizable ? reads_linearizable_ : reads_failed_);
    n.read.reset();
  }
  // A joiner becomes a member once its group's configuration lists it.
  if (rd.joined && n.boot->state().state != kind::member) {
    n.boot->joined(rd.joined->cluster_id, rd.joined->voters);
    n.disk = n.boot->state();
    n.boot->advance();
    n.joining.clear();
    gossip_.set_meta(i, meta_of(i));
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
      tick_meta(i);
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
    if (!n.health || !n.health->ready) return false;
  }
  if (!leader) return false;
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    if (!running(i)) continue;
    const auto* b = leader->meta->state().broker(consensus::node_id{id_of(i)});
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

const metadata::meta_data& formation_cluster::leader_registry() const { return nodes_[leader()].meta->state().data(); }

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
             " commit " + std::to_string(n.raft->status().commit.value) + " applied " +
             std::to_string(n.meta->state().applied_index().value) + " registered " +
             std::to_string(n.meta->state().brokers().size()) + " health " +
             (n.health ? n.health->reason : "-") + " voters " + [&] {
               std::string v;
               for (auto id : n.raft->conf().voters) v += std::to_string(id.value()) + ",";
               return v;
             }();
  }
  return out;
}

}  // namespace chronik::sim
