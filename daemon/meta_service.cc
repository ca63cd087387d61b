#include "daemon/meta_service.h"

#include <algorithm>
#include <functional>
#include <set>
#include <utility>

#include <asio/post.hpp>
#include <nlohmann/json.hpp>

#include "consensus/storage/crc32c.h"
#include "daemon/node_meta.h"
#include "daemon/raft_state_dir.h"
#include "metadata/meta_commands.h"
#include "metadata/meta_controller.h"

namespace chronik::daemon {

namespace {

using consensus::conf_change;
using consensus::conf_state;
using consensus::node_id;
using metadata::meta_group_id;

// Registration proposals and conf changes are re-tried after this long without effect (a lost
// proposal, a leader change). The controller itself runs at most this often.
constexpr auto reproposal_pause = std::chrono::milliseconds(1000);
constexpr auto controller_interval = std::chrono::milliseconds(50);
constexpr std::size_t max_pending_reads = 1024;

bool contains(const std::vector<node_id>& v, std::uint64_t id) {
  return std::any_of(v.begin(), v.end(), [id](node_id n) { return n.value == id; });
}

bool in_conf(const conf_state& c, std::uint64_t id) { return contains(c.voters, id) || contains(c.learners, id); }

}  // namespace

nlohmann::json cluster_status_to_json(const cluster_status& s) {
  nlohmann::json brokers = nlohmann::json::array();
  for (const auto& b : s.brokers) {
    brokers.push_back({{"node_id", b.node_id},
                       {"uuid", b.uuid},
                       {"kafka_address", b.kafka_address},
                       {"rpc_address", b.rpc_address},
                       {"state", b.state}});
  }
  return nlohmann::json{{"cluster_id", s.cluster_id.empty() ? nlohmann::json() : nlohmann::json(s.cluster_id)},
                        {"meta_leader", s.meta_leader},
                        {"term", s.term},
                        {"commit", s.commit},
                        {"applied", s.applied},
                        {"role", s.role},
                        {"voters", s.voters},
                        {"learners", s.learners},
                        {"brokers", std::move(brokers)}};
}

nlohmann::json meta_service::load_status() const {
  auto groups = nlohmann::json::object();
  if (host_) {
    for (consensus::group_id g : host_->groups()) {
      if (auto st = host_->status(g)) groups[std::to_string(g.value)] = st->term.value;
    }
  }
  const auto& m = gossip_.core().stats();
  return {{"groups", std::move(groups)},
          {"gossip",
           {{"suspicions_started", m.suspicions_started},
            {"declared_dead", m.declared_dead},
            {"probes_failed", m.probes_failed},
            {"refutations", m.refutations}}},
          {"ticks",
           {{"raft_max_late_ms", tick_late_max_.count()}, {"gossip_max_late_ms", gossip_.stats().tick_late_max_ms}}}};
}

meta_timing meta_timing_for(gossip_preset preset) {
  meta_timing t;
  switch (preset) {
    case gossip_preset::local: t.tick = std::chrono::milliseconds(10); break;
    case gossip_preset::lan: t.tick = std::chrono::milliseconds(50); break;
    case gossip_preset::wan: t.tick = std::chrono::milliseconds(100); break;
  }
  t.raft.election_timeout_ticks_min = 10;
  t.raft.election_timeout_ticks_max = 20;
  t.raft.heartbeat_ticks = 1;
  return t;
}

meta_service::meta_service(asio::io_context& io, gossip::gossip_node& gossip, const node_config& cfg,
                           const node_uuid& uuid, std::shared_ptr<spdlog::logger> log)
    : io_(io),
      gossip_(gossip),
      cfg_(cfg),
      uuid_(uuid),
      log_(std::move(log)),
      timing_(meta_timing_for(cfg.preset)),
      timer_(io) {}

meta_service::~meta_service() { stop(); }

std::expected<void, std::string> meta_service::start() {
  consensus::transport_config tc = cfg_.preset == gossip_preset::local  ? consensus::transport_config::local()
                                   : cfg_.preset == gossip_preset::wan ? consensus::transport_config::wan()
                                                                        : consensus::transport_config::lan();
  tc.self = node_id{cfg_.node_id.value};
  tc.node_uuid = uuid_.hex();
  tc.listen_address = cfg_.rpc_addr();
  transport_ = std::make_unique<consensus::raft_transport>(io_, tc, log_);
  transport_->on_receive([this, alive = alive_](consensus::inbound_batch&& b) {
    // Posted to io by the transport; the service may be gone by the time it runs.
    if (!*alive || !host_) return;
    host_->step(b.from, std::move(b.messages));
  });
  if (auto r = transport_->start(); !r) {
    return std::unexpected("raft transport: cannot listen on " + cfg_.rpc_addr() + ": " + r.error().text);
  }

  if (auto r = remove_discarded_raft_state(cfg_.data_dir); !r) {
    transport_->stop();
    return std::unexpected("raft host: " + r.error());
  }
  if (auto r = open_host(); !r) {
    transport_->stop();
    return r;
  }
  log_->info("raft: listening on {}, tick {} ms, recovered groups: {}", cfg_.rpc_addr(), timing_.tick.count(),
             host_->recovered_groups().size());
  schedule_tick();
  return {};
}

std::expected<void, std::string> meta_service::open_host() {
  consensus::host_config hc;
  hc.self = node_id{cfg_.node_id.value};
  hc.data_dir = cfg_.data_dir;
  hc.rng_seed = std::hash<std::string>{}(uuid_.hex()) ^ cfg_.node_id.value;
  auto outbox = [t = transport_.get()](node_id to, std::vector<consensus::group_message> msgs) {
    t->send(to, std::move(msgs));
  };
  auto host = consensus::raft_host::open(io_, hc, outbox, log_);
  if (!host) return std::unexpected("raft host: cannot open " + (cfg_.data_dir / "raft").string() + ": " + host.error().text);
  host_ = std::move(*host);
  return {};
}

// The node moves to another cluster: its Raft state belongs to one that never formed
// (daemon/raft_state_dir.h), so the host is closed, the state discarded and a fresh host opened.
bool meta_service::discard_raft_state_for(const std::string& cluster_id) {
  if (host_reset_) host_reset_();  // partition replicas go before the host they run on
  host_.reset();  // joins the disk thread
  liveness_.clear();  // the new host learns every node's liveness afresh
  snapshot_index_ = 0;
  reads_.clear();
  state_ = metadata::meta_state{};
  if (auto r = discard_raft_state(cfg_.data_dir); !r) {
    log_->critical("__meta: cannot discard the Raft state for cluster {}: {}", cluster_id, r.error());
    return false;
  }
  if (auto r = open_host(); !r) {
    log_->critical("__meta: {}", r.error());
    return false;
  }
  return true;
}

void meta_service::stop() {
  if (stopped_) return;
  stopped_ = true;
  *alive_ = false;
  // Pending reads are dropped, not answered: their callers' objects may already be going away
  // (an admin request then sees a broken promise and answers "shutting down").
  reads_.clear();
  timer_.cancel();
  if (host_reset_) host_reset_();
  host_.reset();  // joins the disk thread
  if (transport_) transport_->stop();  // the KJ thread goes last
}

void meta_service::open_group(const std::string& cluster_id, conf_state initial, bool campaign) {
  if (!host_) return;
  if (group_running_) {
    if (cluster_id != cluster_id_) log_->error("__meta: already running for cluster {}, not {}", cluster_id_, cluster_id);
    return;
  }
  auto owner = read_raft_owner(cfg_.data_dir);
  if (!owner) {
    log_->critical("__meta: {}", owner.error());
    return;
  }
  if (*owner && **owner != cluster_id) {
    log_->warn("__meta: the Raft state here belongs to cluster {}, which never formed with this node; "
               "discarding it for cluster {}", **owner, cluster_id);
    if (!discard_raft_state_for(cluster_id)) return;
  }
  // Written before `__meta` first touches the disk, so that the state is always attributable.
  if (!*owner || **owner != cluster_id) {
    if (auto w = write_raft_owner(cfg_.data_dir, cluster_id); !w) {
      log_->critical("__meta: {}", w.error());
      return;
    }
  }
  const auto recovered = host_->recovered_groups();
  const bool reopen = std::find(recovered.begin(), recovered.end(), meta_group_id) != recovered.end();
  cluster_id_ = cluster_id;
  transport_->set_cluster_id(cluster_id);
  auto r = host_->create_group(meta_group_id, std::move(initial), timing_.raft,
                               [this](consensus::apply_batch&& b) { apply(std::move(b)); });
  if (!r) {
    log_->error("__meta: cannot start group: {}", r.error().text);
    return;
  }
  group_running_ = true;
  campaign_pending_ = campaign && !reopen;
  log_->info("__meta: group {} of cluster {}{}", reopen ? "reopened" : "created", cluster_id,
             campaign_pending_ ? " (founder: campaigning)" : "");
}

void meta_service::start_group(const metadata::formation& f) {
  conf_state initial;
  for (const auto& v : f.voters) initial.voters.push_back(node_id{v.id});
  std::uint32_t lowest = 0;
  for (const auto& v : f.voters) lowest = lowest == 0 ? v.id : std::min(lowest, v.id);
  joining_ = false;
  open_group(f.cluster_id, std::move(initial), lowest == cfg_.node_id.value);
}

void meta_service::abandon_group(const metadata::formation&) {
  // R8: the cluster never formed and never can; its Raft state goes with it, so that this data
  // directory can found or join another cluster (docs/bootstrap.md).
  if (!host_ || !group_running_) return;
  const std::string abandoned = cluster_id_;
  group_running_ = false;
  campaign_pending_ = false;
  cluster_id_.clear();
  transport_->set_cluster_id({});
  if (discard_raft_state_for(abandoned)) log_->warn("__meta: abandoned cluster {} and discarded its Raft state", abandoned);
}

void meta_service::join(const std::string& cluster_id) {
  joining_ = true;
  open_group(cluster_id, conf_state{}, false);
}

void meta_service::schedule_tick() {
  timer_.expires_after(timing_.tick);
  timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec && !stopped_) on_tick();
  });
}

void meta_service::on_tick() {
  // The Raft tick's own lateness: a busy io thread or host delays every election and heartbeat
  // timer by this much (bench/load measures it).
  const auto late = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                          timer_.expiry());
  tick_late_max_ = std::max(tick_late_max_, late);
  refresh_peers();
  if (host_ && host_->failed()) watch_storage();  // may reopen it: then it runs below
  if (host_ && !host_->failed()) {
    host_->tick();
    if (group_running_) {
      if (campaign_pending_) {
        auto r = host_->campaign(meta_group_id);
        // not_ready: the bootstrap entries are still on their way to disk; try next tick.
        if (r || r.error().code != consensus::host_errc::not_ready) campaign_pending_ = false;
      }
      if (auto st = host_->status(meta_group_id)) {
        if (st->state == consensus::role::leader) run_controller(*st);
        check_joined(*st);
      }
    }
  }
  expire_reads();
  report_health();
  schedule_tick();
}

void meta_service::apply(consensus::apply_batch&& b) {
  if (b.snap && !b.snap->empty() && b.snap->meta.index > state_.applied_index()) {
    if (auto r = state_.restore(b.snap->data); !r) {
      log_->error("__meta: cannot restore snapshot at {}: {}", b.snap->meta.index.value, metadata::to_string(r.error()));
    } else {
      snapshot_index_ = b.snap->meta.index.value;
      log_->info("__meta: state restored from the snapshot at index {}", snapshot_index_);
      if (restored_) restored_();
    }
  }
  for (auto& e : b.committed) {
    if (e.index <= state_.applied_index()) continue;  // covered by the snapshot
    if (e.type != consensus::entry_type::normal || e.data.empty()) {
      state_.skip(e.index);
      continue;
    }
    auto r = state_.apply(e.index, e.data);
    if (!r) log_->warn("__meta: entry {} rejected: {}", e.index.value, metadata::to_string(r.error()));
    if (applied_) applied_(e.data, r);
  }
  for (auto& rs : b.reads) {
    auto it = reads_.find(rs.context);
    if (it != reads_.end()) it->second.index = std::max<std::uint64_t>(rs.index.value, 1);
  }
  serve_reads();
  maybe_snapshot();
}

// Raft paper §7: the state machine's snapshot replaces the log before it, so the WAL does not
// grow without bound and a replica that is far behind (or new) gets the snapshot in chunks.
void meta_service::maybe_snapshot() {
  const std::uint64_t applied = state_.applied_index().value;
  if (!host_ || applied < snapshot_index_ + cfg_.meta_snapshot_entries) return;
  if (auto r = host_->compact(meta_group_id, state_.applied_index(), state_.snapshot()); !r) {
    log_->warn("__meta: cannot snapshot at {}: {}", applied, r.error().text);
    return;
  }
  snapshot_index_ = applied;
  log_->info("__meta: snapshot at index {}, log compacted", applied);
}

std::expected<void, std::string> meta_service::propose(std::string command) {
  if (!host_ || !group_running_) return std::unexpected("this node is not in a cluster yet");
  if (auto r = host_->propose_anywhere(meta_group_id, std::move(command)); !r) return std::unexpected(r.error().text);
  return {};
}

void meta_service::read_linearizable(read_fn done) {
  if (!host_ || !group_running_ || reads_.size() >= max_pending_reads) {
    done(false);
    return;
  }
  // Without a known leader the core would drop the request: answer at once instead.
  auto st = host_->status(meta_group_id);
  if (!st || st->leader.value == 0) {
    done(false);
    return;
  }
  std::string context = "read-" + std::to_string(++next_read_);
  if (auto r = host_->read_index(meta_group_id, context); !r) {
    done(false);
    return;
  }
  // A leader that is gone loses the request: after one minimum election timeout (local 100 ms,
  // lan 500 ms, wan 1 s, below the admin endpoint's 2 s wait) the caller gets a local read.
  const auto timeout = timing_.tick * timing_.raft.election_timeout_ticks_min;
  reads_.emplace(std::move(context), pending_read{std::move(done), std::chrono::steady_clock::now() + timeout});
}

void meta_service::serve_reads() {
  const std::uint64_t applied = state_.applied_index().value;
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second.index == 0 || it->second.index > applied) {
      ++it;
      continue;
    }
    auto done = std::move(it->second.done);
    it = reads_.erase(it);
    done(true);
  }
}

// The core drops a ReadIndex request when it knows no leader, and a leader change loses the
// ones in flight; the caller gets a local read instead of waiting for ever.
void meta_service::expire_reads() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (now < it->second.deadline) {
      ++it;
      continue;
    }
    auto done = std::move(it->second.done);
    it = reads_.erase(it);
    done(false);
  }
}

void meta_service::refresh_peers() {
  if (!transport_) return;
  fenced_peers_.clear();
  for (const auto& snap : gossip_.members()) {
    const auto& m = snap.m;
    if (m.id.value == cfg_.node_id.value) continue;
    auto meta = decode_node_meta(m.meta);
    // A peer whose WAL failed leads and answers nothing (docs/storage.md "Disk faults"): its
    // replicas are offline for Metadata, and its groups' followers must elect as for a dead node.
    const bool fenced = meta && meta->storage_failed;
    if (fenced) fenced_peers_.insert(m.id.value);
    // Quiesced groups sleep until SWIM says their leader's node is gone (docs/raft_host.md
    // "Quiescence"); the host acts only on changes.
    const bool down = m.state == gossip::member_state::dead || m.state == gossip::member_state::left || fenced;
    const auto liveness = down ? consensus::node_liveness::dead : consensus::node_liveness::alive;
    auto [known, inserted] = liveness_.try_emplace(m.id.value, liveness);
    if (host_ && (inserted || known->second != liveness)) {
      known->second = liveness;
      host_->set_node_liveness(node_id{m.id.value}, liveness);
    }
    if (!meta || meta->rpc_addr.empty()) continue;
    auto want = std::make_pair(meta->rpc_addr, meta->node_uuid_hex);
    auto it = peers_.find(m.id.value);
    if (it != peers_.end() && it->second == want) continue;
    transport_->set_peer(node_id{m.id.value}, want.first, want.second);
    peers_[m.id.value] = std::move(want);
  }
}

// Gossip's view of this cluster's members and joiners (this node included), for the controller.
std::vector<metadata::node_view> meta_service::cluster_nodes() const {
  std::vector<metadata::node_view> nodes;
  const auto now = std::chrono::system_clock::now();
  for (const auto& snap : gossip_.members()) {
    const auto& m = snap.m;
    auto meta = decode_node_meta(m.meta);
    if (!meta) continue;
    const bool member = meta->formation_state.state == metadata::formation::kind::member &&
                        meta->formation_state.cluster_id == cluster_id_;
    const bool joining = !member && meta->joining_cluster == cluster_id_;
    if (!member && !joining) continue;
    metadata::node_view n{node_id{m.id.value}, meta->node_uuid_hex, meta->kafka_addr, meta->rpc_addr};
    n.relation = member ? metadata::cluster_relation::member : metadata::cluster_relation::joining;
    if (m.state == gossip::member_state::dead || m.state == gossip::member_state::left) {
      n.swim = metadata::swim_view::down;
      n.down_for = std::max(std::chrono::milliseconds(0),
                            std::chrono::duration_cast<std::chrono::milliseconds>(now - snap.last_change));
    }
    nodes.push_back(std::move(n));
  }
  return nodes;
}

void meta_service::run_controller(const consensus::raft_status& st) {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_controller_run_) return;
  next_controller_run_ = now + controller_interval;

  metadata::controller_input in;
  in.self = node_id{cfg_.node_id.value};
  in.state = &state_.data();
  in.conf = st.conf;
  in.match = st.match;
  in.commit = st.commit;
  // One configuration change at a time: the previous one must have committed in this term.
  in.conf_change_in_flight = cc_term_ == st.term.value && cc_index_ > st.commit.value;
  in.nodes = cluster_nodes();
  in.meta_voters = cfg_.meta_voters;
  in.voter_replace_after = std::chrono::milliseconds(cfg_.voter_replace_after_ms);
  const auto plan = metadata::plan_controller(in);

  // Records are re-proposed per broker only after a pause: a lost proposal or a leader change
  // is retried, but the log is not flooded while one is on its way.
  auto due = [&](std::uint64_t id) {
    auto& at = proposed_at_[id];
    if (now < at) return false;
    at = now + reproposal_pause;
    return true;
  };
  for (const auto& reg : plan.registrations) {
    if (!due(reg.id.value)) continue;
    if (auto r = host_->propose(meta_group_id, metadata::commands::register_broker(reg)); r) {
      log_->info("controller: registering broker {} uuid {} (index {})", reg.id.value, reg.uuid, r->value);
    } else {
      log_->warn("controller: cannot register broker {}: {}", reg.id.value, r.error().text);
    }
  }
  for (const auto& sc : plan.state_changes) {
    if (!due(sc.id.value)) continue;
    if (auto r = host_->propose(meta_group_id, metadata::commands::set_broker_state(sc.id, sc.uuid, sc.state)); r) {
      log_->info("controller: broker {} is down in SWIM: marking it dead (index {})", sc.id.value, r->value);
    } else {
      log_->warn("controller: cannot mark broker {} dead: {}", sc.id.value, r.error().text);
    }
  }
  if (!plan.change) return;
  const auto& cc = *plan.change;
  auto r = host_->propose_conf_change(meta_group_id, cc);
  if (!r) {
    log_->warn("controller: cannot {} node {}: {}", plan.reason, cc.node.value, r.error().text);
    return;
  }
  cc_index_ = r->value;
  cc_term_ = st.term.value;
  log_->info("controller: {} node {} (index {})", plan.reason, cc.node.value, r->value);
}

void meta_service::check_joined(const consensus::raft_status& st) {
  if (!joining_ || !in_conf(st.conf, cfg_.node_id.value)) return;
  joining_ = false;
  std::vector<metadata::node_ref> voters;
  for (const auto& v : st.conf.voters) {
    const auto* b = state_.broker(v);
    voters.push_back({static_cast<std::uint32_t>(v.value), b != nullptr ? b->uuid : std::string()});
  }
  log_->info("__meta: this node is in the configuration of cluster {}: joined", cluster_id_);
  if (joined_) joined_(cluster_id_, std::move(voters));
}

std::string meta_service::state_hash() const {
  return fmt::format("{:08x}", crc32c(state_.snapshot()));
}

cluster_status meta_service::status() const {
  cluster_status s;
  s.cluster_id = cluster_id_;
  s.running = group_running_;
  if (host_ && group_running_) {
    if (auto st = host_->status(meta_group_id)) {
      s.meta_leader = st->leader.value;
      s.term = st->term.value;
      s.commit = st->commit.value;
      s.role = std::string(consensus::to_string(st->state));
      for (auto v : st->conf.voters) s.voters.push_back(v.value);
      for (auto l : st->conf.learners) s.learners.push_back(l.value);
    }
  }
  s.applied = state_.applied_index().value;
  for (const auto& [id, b] : state_.brokers())
    s.brokers.push_back({id.value, b.uuid, b.kafka_addr, b.rpc_addr, std::string(metadata::to_string(b.state))});
  return s;
}

void meta_service::report_health() {
  if (!health_) return;
  std::pair<bool, std::string> h{false, {}};
  const auto s = status();
  const auto* b = state_.broker(node_id{cfg_.node_id.value});
  if (host_ && host_->failed()) {
    h.second = "storage failed, node fenced: " + host_->failure();
  } else if (s.cluster_id.empty() || !s.running) {
    h.second = "not a member of a cluster yet";
  } else if (s.meta_leader == 0) {
    h.second = "no known __meta leader";
  } else if (b == nullptr || b->uuid != uuid_.hex()) {
    h.second = "not a registered broker yet";
  } else {
    h = {true, "ready"};
  }
  if (last_health_ == h) return;
  last_health_ = h;
  health_(h.first, h.second);
}

}  // namespace chronik::daemon
