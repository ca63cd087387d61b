#include "daemon/formation_service.h"

#include <random>

#include "daemon/formation_store.h"
#include "daemon/node_meta.h"
#include "metadata/core/formation_codec.h"

namespace chronik::daemon {

namespace {

std::string new_cluster_id() {
  // 16 bytes from the kernel's CSPRNG, as hex: two founders never pick the same id.
  auto id = node_uuid::random();
  return id ? id->hex() : std::string("0000000000000000") + std::to_string(std::random_device{}());
}
}  // namespace

metadata::bootstrap_config formation_service::bootstrap_timing(const node_config& cfg) {
  const auto& g = cfg.gossip;
  return metadata::bootstrap_config{cfg.bootstrap_expect, g.ticks(g.gossip_interval_ms),
                                    g.ticks(10ULL * g.probe_interval_ms)};
}

formation_service::formation_service(gossip::gossip_node& gossip, const node_config& cfg, const node_uuid& uuid,
                                     metadata::formation restored, formation_actions actions,
                                     std::shared_ptr<spdlog::logger> log)
    : gossip_(gossip),
      cfg_(cfg),
      uuid_(uuid),
      core_(bootstrap_timing(cfg), metadata::node_ref{cfg.node_id, uuid.hex()}, std::move(restored), new_cluster_id),
      actions_(std::move(actions)),
      log_(std::move(log)),
      tick_(std::chrono::milliseconds(cfg.gossip.tick_ms)) {}

formation_service::~formation_service() { stop(); }

void formation_service::start() {
  if (started_ || stopped_) return;
  started_ = true;
  drain();  // the restored state: re-announce it, and restart a member's group (property 3)
}

void formation_service::joined(const std::string& cluster_id, std::vector<metadata::node_ref> voters) {
  if (stopped_) return;
  core_.joined(cluster_id, std::move(voters));
  if (core_.state().state == metadata::formation::kind::member) joining_.clear();
  drain();
}

void formation_service::set_storage_failed(bool failed) {
  if (stopped_ || failed == storage_failed_) return;
  storage_failed_ = failed;
  announce();
}

// Only when it changed: each change costs an incarnation.
void formation_service::announce() {
  const std::string meta = encode_node_meta(cfg_, uuid_, core_.state(), joining_, storage_failed_);
  if (meta == announced_) return;
  announced_ = meta;
  gossip_.set_meta(meta);
  log_->info("formation: {}{}{}", metadata::encode_formation(core_.state()), joining_.empty() ? "" : " joining " + joining_,
             storage_failed_ ? " (storage failed)" : "");
}

void formation_service::stop() { stopped_ = true; }

std::vector<metadata::peer_view> formation_service::view() const {
  std::vector<metadata::peer_view> out;
  for (const auto& snap : gossip_.members()) {
    const auto& m = snap.m;
    if (m.id == cfg_.node_id) continue;
    auto meta = decode_node_meta(m.meta);
    if (!meta) continue;  // still starting, or not a chronik node
    const bool alive = m.state == gossip::member_state::alive || m.state == gossip::member_state::suspect;
    out.push_back({{m.id, meta->node_uuid_hex}, alive, !alive, meta->bootstrap_expect, meta->formation_state});
  }
  return out;
}

// The coordinator's logical clock advances one tick per gossip tick_ms (its timeouts are counted
// in those ticks, bootstrap_timing); slots a stalled loop missed are skipped (node_clock.h).
void formation_service::tick(std::chrono::steady_clock::time_point now) {
  if (!started_ || stopped_ || !tick_.due(now)) return;
  core_.observe(view());
  core_.tick();
  drain();
}

void formation_service::drain() {
  if (!core_.has_ready()) return;
  const metadata::bootstrap_ready rd = core_.ready();
  core_.advance();
  // 1. Durable before anyone hears of it: a promise or a membership must survive a crash.
  if (rd.persist) {
    if (auto r = save_formation(cfg_.data_dir, *rd.persist); !r) {
      // Announcing an unpersisted promise could let a restart break it: stop here, loudly.
      log_->critical("{}; not announcing the new formation state", r.error());
      return;
    }
  }
  if (rd.join) joining_ = *rd.join;
  // 2. Announce in gossip metadata.
  announce();
  // 3. Act.
  if (rd.abandon_group && actions_.abandon_group) actions_.abandon_group(core_.state());
  if (rd.start_group && actions_.start_group) actions_.start_group(core_.state());
  if (rd.join && actions_.join) actions_.join(*rd.join);
}

}  // namespace chronik::daemon
