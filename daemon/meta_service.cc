#include "daemon/meta_service.h"

#include <algorithm>
#include <functional>
#include <set>
#include <utility>

#include <asio/post.hpp>
#include <nlohmann/json.hpp>

#include "base/assert.h"
#include "base/crc32c.h"
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

// The core's settings from the node's configuration and Raft timing.
metadata::meta_node_config core_config(const node_config& cfg, const node_uuid& uuid, const meta_timing& timing) {
  metadata::meta_node_config c;
  c.self = cfg.node_id;
  c.self_uuid = uuid.hex();
  c.meta_voters = cfg.meta_voters;
  c.voter_replace_after = std::chrono::milliseconds(cfg.voter_replace_after_ms);
  c.snapshot_entries = cfg.meta_snapshot_entries;
  // A leader that is gone loses a read: after one minimum election timeout (local 100 ms, lan
  // 500 ms, wan 1 s, below the admin endpoint's 2 s wait) the caller gets a local read.
  c.read_timeout_ms = static_cast<std::uint64_t>(timing.tick.count()) * timing.raft.election_timeout_ticks_min;
  return c;
}

std::uint64_t to_ms(std::chrono::steady_clock::time_point t) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

}  // namespace

nlohmann::json meta_service::load_status() const {
  auto groups = nlohmann::json::object();
  if (const auto* host = raft_.host()) {
    for (consensus::group_id g : host->groups()) {
      if (auto st = host->status(g)) groups[std::to_string(g.value)] = st->term.value;
    }
  }
  const auto& m = gossip_.core().stats();
  const auto rpc = raft_.transport().counters();
  return {{"groups", std::move(groups)},
          {"gossip",
           {{"suspicions_started", m.suspicions_started},
            {"declared_dead", m.declared_dead},
            {"probes_failed", m.probes_failed},
            {"refutations", m.refutations},
            // Dropped by the keyring (docs/security.md "Gossip encryption").
            {"auth_failed_dropped", gossip_.stats().auth_failed_dropped},
            {"plaintext_dropped", gossip_.stats().plaintext_dropped}}},
          // The RPC port's refusals (docs/security.md "Between nodes: mutual TLS").
          {"rpc",
           {{"refusals_sent", rpc.refusals_sent},
            {"tls_handshake_failures", rpc.tls_handshake_failures},
            {"tls_identity_refusals", rpc.tls_identity_refusals},
            {"tls_connections", rpc.tls_connections},
            {"plaintext_connections", rpc.plaintext_connections},
            // Raft's outbound links: a call that fails or times out drops its connection and the
            // messages with it (docs/transport.md "Loss").
            {"connects", rpc.connects},
            {"call_failures", rpc.call_failures},
            {"drops_failed", rpc.drops_failed},
            {"drops_outbox_full", rpc.drops_outbox_full}}},
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

meta_service::meta_service(node_raft& raft, gossip::gossip_node& gossip, const node_config& cfg, const node_uuid& uuid,
                           std::shared_ptr<spdlog::logger> log)
    : raft_(raft),
      gossip_(gossip),
      cfg_(cfg),
      uuid_(uuid),
      log_(std::move(log)),
      timing_(meta_timing_for(cfg.preset)),
      raft_tick_(timing_.tick),
      core_(core_config(cfg, uuid, timing_)) {}

meta_service::~meta_service() { stop(); }

// The node moves to another cluster: its Raft state belongs to one that never formed
// (daemon/raft_state_dir.h), so the node replaces its host with a fresh one over an empty state.
bool meta_service::discard_raft_state_for(const std::string& cluster_id) {
  CHRONIK_ASSERT(replace_host_ != nullptr, "the node sets on_replace_host before the first tick");
  auto replaced = replace_host_(true);
  liveness_.clear();  // the new host learns every node's liveness afresh
  core_.reset();      // pending reads fail: their answers will not come
  carry_out();
  if (!replaced) {
    log_->critical("__meta: cannot discard the Raft state for cluster {}: {}", cluster_id, replaced.error());
    return false;
  }
  return true;
}

void meta_service::stop() {
  if (stopped_) return;
  stopped_ = true;
  // Pending reads are dropped, not answered: their callers' objects may already be going away
  // (an admin request then sees a broken promise and answers "shutting down").
  reads_.clear();
}

void meta_service::open_group(const std::string& cluster_id, conf_state initial, bool campaign) {
  if (raft_.host() == nullptr) return;
  if (core_.running()) {
    if (cluster_id != core_.cluster_id())
      log_->error("__meta: already running for cluster {}, not {}", core_.cluster_id(), cluster_id);
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
  auto* host = raft_.host();  // the one discard_raft_state_for opened, if it ran
  if (host == nullptr) return;
  const auto recovered = host->recovered_groups();
  const bool reopen = std::find(recovered.begin(), recovered.end(), meta_group_id) != recovered.end();
  raft_.transport().set_cluster_id(cluster_id);
  const std::vector<chronik::node_id> initial_voters = initial.voters;
  auto r = host->create_group(meta_group_id, std::move(initial), timing_.raft,
                               [this](consensus::apply_batch&& b) { apply(std::move(b)); });
  if (!r) {
    log_->error("__meta: cannot start group: {}", r.error().text);
    return;
  }
  core_.open_group(cluster_id);
  const bool founding = campaign && !reopen;
  if (founding) core_.found(initial_voters);
  log_->info("__meta: group {} of cluster {}{}", reopen ? "reopened" : "created", cluster_id,
             founding ? " (founder: campaigning)" : "");
}

void meta_service::start_group(const metadata::formation& f) {
  conf_state initial;
  for (const auto& v : f.voters) initial.voters.push_back(v.id);
  chronik::node_id lowest;
  for (const auto& v : f.voters) lowest = lowest == no_node ? v.id : std::min(lowest, v.id);
  core_.set_joining(false);
  open_group(f.cluster_id, std::move(initial), lowest == cfg_.node_id);
}

void meta_service::abandon_group(const metadata::formation&) {
  // R8: the cluster never formed and never can; its Raft state goes with it, so that this data
  // directory can found or join another cluster (docs/bootstrap.md).
  if (raft_.host() == nullptr || !core_.running()) return;
  const std::string abandoned = core_.cluster_id();
  core_.close_group();
  raft_.transport().set_cluster_id({});
  if (discard_raft_state_for(abandoned)) log_->warn("__meta: abandoned cluster {} and discarded its Raft state", abandoned);
}

void meta_service::join(const std::string& cluster_id) {
  core_.set_joining(true);
  open_group(cluster_id, conf_state{}, false);
}

void meta_service::tick(std::chrono::steady_clock::time_point now, std::chrono::system_clock::time_point wall_now) {
  if (stopped_ || !raft_tick_.due(now)) return;
  // The Raft tick's own lateness, which is the node loop's: a busy io thread or host delays every
  // election and heartbeat timer by this much (bench/load measures it).
  tick_late_max_ = std::max(tick_late_max_, raft_tick_.late());
  run_tick(now, wall_now);
}

void meta_service::run_tick(std::chrono::steady_clock::time_point now, std::chrono::system_clock::time_point wall_now) {
  metadata::meta_observation seen;
  seen.members = refresh_peers(wall_now);
  if (raft_.host() != nullptr && raft_.host()->failed()) watch_storage(now);  // may replace it: then it runs below
  auto* host = raft_.host();
  if (host != nullptr && !host->failed()) {
    host->tick();
    if (core_.running()) {
      if (auto st = host->status(meta_group_id)) seen.raft = std::move(*st);
    }
  }
  if (host != nullptr && host->failed()) seen.storage_failure = host->failure();
  core_.tick(to_ms(now), std::move(seen));
  carry_out();
}

void meta_service::apply(consensus::apply_batch&& b) {
  if (b.snap) {
    if (auto r = core_.restore(*b.snap); !r) {
      log_->error("__meta: cannot restore snapshot at {}: {}", b.snap->meta.index.value, metadata::to_string(r.error()));
    } else if (*r) {
      log_->info("__meta: state restored from the snapshot at index {}", b.snap->meta.index.value);
      if (restored_) restored_();
    }
  }
  for (auto& e : b.committed) {
    auto outcome = core_.apply(e);
    if (!outcome) continue;
    if (!*outcome) log_->warn("__meta: entry {} rejected: {}", e.index.value, metadata::to_string(outcome->error()));
    if (applied_) applied_(e.data, *outcome);
  }
  for (auto& rs : b.reads) core_.read_answered(rs.context, rs.index);
  carry_out();
}

// Carries out what the core decided. The callbacks may call back into this service (a read's
// caller reads status(), kafka_service proposes): the ready is the core's no more by then.
void meta_service::carry_out() {
  auto rd = core_.take_ready();
  auto* host = raft_.host();
  for (auto& p : rd.proposals) {
    if (host == nullptr) break;
    if (auto r = host->propose(meta_group_id, std::move(p.command)); r) {
      log_->info("controller: {} (index {})", p.what, r->value);
    } else {
      log_->warn("controller: cannot {}: {}", p.what, r.error().text);
    }
  }
  if (rd.campaign && host != nullptr) {
    auto r = host->campaign(meta_group_id);
    // not_ready: the bootstrap entries are still on their way to disk; the core asks again.
    if (r || r.error().code != consensus::host_errc::not_ready) core_.campaigned();
  }
  if (rd.conf_change && host != nullptr) {
    const auto& cc = rd.conf_change->change;
    if (auto r = host->propose_conf_change(meta_group_id, cc); r) {
      core_.conf_change_proposed(*r);
      log_->info("controller: {} node {} (index {})", rd.conf_change->reason, cc.node.value(), r->value);
    } else {
      log_->warn("controller: cannot {} node {}: {}", rd.conf_change->reason, cc.node.value(), r.error().text);
    }
  }
  if (rd.snapshot && host != nullptr) {
    if (auto r = host->compact(meta_group_id, *rd.snapshot, core_.state().snapshot()); r) {
      core_.snapshot_taken(*rd.snapshot);
      log_->info("__meta: snapshot at index {}, log compacted", rd.snapshot->value);
    } else {
      log_->warn("__meta: cannot snapshot at {}: {}", rd.snapshot->value, r.error().text);
    }
  }
  if (rd.joined) {
    log_->info("__meta: this node is in the configuration of cluster {}: joined", rd.joined->cluster_id);
    if (joined_) joined_(rd.joined->cluster_id, std::move(rd.joined->voters));
  }
  for (const auto& done : rd.reads) {
    auto it = reads_.find(done.id);
    if (it == reads_.end()) continue;  // dropped by stop()
    auto fn = std::move(it->second);
    reads_.erase(it);
    fn(done.linearizable);
  }
  if (rd.health && health_) health_(rd.health->ready, rd.health->reason);
}

std::expected<void, std::string> meta_service::propose(std::string command) {
  auto* host = raft_.host();
  if (host == nullptr || !core_.running()) return std::unexpected("this node is not in a cluster yet");
  if (auto r = host->propose_anywhere(meta_group_id, std::move(command)); !r) return std::unexpected(r.error().text);
  return {};
}

// Dissertation §6.4 (ReadIndex): the core decides whether and when the read is served; Raft
// confirms the leader's commit index and hands the answer back in an apply batch.
void meta_service::read_linearizable(read_fn done) {
  auto* host = raft_.host();
  if (host == nullptr || stopped_) {
    done(false);
    return;
  }
  auto ticket = core_.request_read();
  if (!ticket) {
    done(false);
    return;
  }
  reads_.emplace(ticket->id, std::move(done));
  if (auto r = host->read_index(meta_group_id, ticket->context); !r) core_.read_unsent(ticket->id);
  carry_out();
}

// Gossip's members, decoded once per tick: their RPC addresses and liveness go to the transport
// and the host, and what they announce goes to the core (the controller's view of the cluster).
std::vector<metadata::member_info> meta_service::refresh_peers(std::chrono::system_clock::time_point wall_now) {
  std::vector<metadata::member_info> members;
  fenced_peers_.clear();
  for (const auto& snap : gossip_.members()) {
    const auto& m = snap.m;
    auto meta = decode_node_meta(m.meta);
    const bool down = m.state == gossip::member_state::dead || m.state == gossip::member_state::left;
    if (meta) {
      metadata::member_info info{m.id, meta->node_uuid_hex, meta->kafka_addr, meta->rpc_addr};
      info.down = down;
      info.since_change = std::chrono::duration_cast<std::chrono::milliseconds>(wall_now - snap.last_change);
      info.announced = meta->formation_state;
      info.joining_cluster = meta->joining_cluster;
      info.listeners = std::move(meta->kafka_listeners);
      members.push_back(std::move(info));
    }
    if (m.id == cfg_.node_id) continue;
    // A peer whose WAL failed leads and answers nothing (docs/storage.md "Disk faults"): its
    // replicas are offline for Metadata, and its groups' followers must elect as for a dead node.
    const bool fenced = meta && meta->storage_failed;
    if (fenced) fenced_peers_.insert(m.id.value());
    // Quiesced groups sleep until SWIM says their leader's node is gone (docs/raft_host.md
    // "Quiescence"); the host acts only on changes.
    const auto liveness = down || fenced ? consensus::node_liveness::dead : consensus::node_liveness::alive;
    auto [known, inserted] = liveness_.try_emplace(m.id.value(), liveness);
    if (auto* host = raft_.host(); host != nullptr && (inserted || known->second != liveness)) {
      // Back from dead: RPC to it may sit in a reconnect backoff of up to 2 s, during which its
      // groups see no traffic and `__meta` leaders step down on check-quorum (docs/transport.md
      // "Reconnecting"). The transport ends that wait now.
      if (!inserted && liveness == consensus::node_liveness::alive) raft_.transport().peer_alive(m.id);
      known->second = liveness;
      host->set_node_liveness(m.id, liveness);
    }
    if (!meta || meta->rpc_addr.empty()) continue;
    auto want = std::make_pair(meta->rpc_addr, meta->node_uuid_hex);
    auto it = peers_.find(m.id.value());
    if (it != peers_.end() && it->second == want) continue;
    raft_.transport().set_peer(m.id, want.first, want.second);
    peers_[m.id.value()] = std::move(want);
  }
  return members;
}

std::string meta_service::state_hash() const {
  return fmt::format("{:08x}", crc32c(core_.state().snapshot()));
}

cluster_status meta_service::status() const {
  cluster_status s;
  s.cluster_id = core_.cluster_id();
  s.running = core_.running();
  if (const auto* host = raft_.host(); host != nullptr && core_.running()) {
    if (auto st = host->status(meta_group_id)) {
      s.meta_leader = st->leader.value();
      s.term = st->term.value;
      s.commit = st->commit.value;
      s.role = std::string(consensus::to_string(st->state));
      for (auto v : st->conf.voters) s.voters.push_back(v.value());
      for (auto l : st->conf.learners) s.learners.push_back(l.value());
    }
  }
  s.applied = core_.state().applied_index().value;
  for (const auto& [id, b] : core_.state().brokers())
    s.brokers.push_back({id.value(), b.uuid, b.kafka_addr, b.rpc_addr, std::string(metadata::to_string(b.state)),
                         b.drained, std::string(metadata::to_string(b.decommission))});
  return s;
}

}  // namespace chronik::daemon
