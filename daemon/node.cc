#include "daemon/node.h"

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <numeric>
#include <random>
#include <utility>

#include "daemon/cluster_status_json.h"
#include "daemon/formation_store.h"
#include "daemon/admin_token.h"
#include "daemon/gossip_keyring_store.h"
#include "daemon/logging.h"
#include "daemon/node_certs.h"
#include "daemon/node_meta.h"

namespace chronik::daemon {
namespace {

std::uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

// The leave must reach a few members through the piggyback gossip rounds; a few gossip
// intervals suffice, and the wait is capped so that SIGTERM never takes more than 3 s.
std::chrono::milliseconds leave_wait(const gossip::config& g) {
  const std::uint64_t ms = std::clamp<std::uint64_t>(5ULL * g.gossip_interval_ms, 500, 3000);
  return std::chrono::milliseconds(ms);
}

const char* event_name(gossip::member_event_kind kind) {
  switch (kind) {
    case gossip::member_event_kind::joined: return "joined";
    case gossip::member_event_kind::updated: return "updated";
    case gossip::member_event_kind::state_changed: return "changed state";
    case gossip::member_event_kind::reaped: return "reaped";
  }
  return "event";
}

gossip::node_options gossip_options(const node_config& cfg, const node_uuid& uuid,
                                    std::optional<gossip::keyring> keys) {
  gossip::node_options opts;
  opts.keys = std::move(keys);
  opts.verify_incoming = cfg.gossip_verify_incoming;
  opts.verify_outgoing = cfg.gossip_verify_outgoing;
  opts.bind_ip = cfg.bind;
  opts.port = cfg.gossip_port;
  opts.seeds = cfg.seeds;
  opts.cfg = cfg.gossip;
  opts.self = gossip::self_identity{cfg.node_id, uuid.raw(), cfg.gossip_addr(),
                                    encode_fresh_node_meta(cfg, uuid), cfg.cluster_name, cfg.replace_node};
  opts.rng_seed = random_seed();
  opts.external_tick = true;  // the node's loop ticks it
  return opts;
}

// Every service's period is a whole number of these (daemon/node.h).
std::chrono::milliseconds loop_period(const node_config& cfg) {
  const auto raft = meta_timing_for(cfg.preset).tick.count();
  return std::chrono::milliseconds(std::gcd<std::int64_t, std::int64_t>(raft, cfg.gossip.tick_ms));
}

}  // namespace

node::node(const node_config& cfg, const node_uuid& uuid, metadata::formation restored,
           std::optional<gossip::keyring> gossip_keys, std::string admin_token, config_reloader reloader)
    : cfg_(cfg),
      uuid_(uuid),
      log_(module_logger("daemon")),
      reloader_(std::move(reloader)),
      level_(cfg.level),
      module_levels_(cfg.module_levels),
      raft_(io_, cfg, uuid, module_logger("raft")),
      gossip_(io_, gossip_options(cfg, uuid, std::move(gossip_keys)), module_logger("gossip")),
      meta_(raft_, gossip_, cfg, uuid, module_logger("meta")),
      formation_(gossip_, cfg, uuid, std::move(restored),
                 formation_actions{[this](const metadata::formation& f) { meta_.start_group(f); },
                                   [this](const metadata::formation& f) { meta_.abandon_group(f); },
                                   [this](const std::string& cluster) {
                                     log_->info("__meta: asking cluster {} to add this node", cluster);
                                     meta_.join(cluster);
                                   }},
                 module_logger("formation")),
      kafka_(io_, cfg, raft_, meta_, module_logger("kafka")),
      admin_(io_,
             admin_options{cfg.admin_ip(), cfg.admin_port, cfg.node_id.value(), uuid.hex(), cfg.cluster_name,
                           admin_token},
             [this] { return gossip_.members(); }, module_logger("admin")),
      keyring_(admin_, gossip_, keyring_service_options{cfg.node_id.value(), uuid.hex(), cfg.data_dir, admin_token},
               module_logger("admin")),
      drain_(meta_, raft_, admin_, cfg.node_id, module_logger("meta")),
      status_(admin_, gossip_, kafka_, status_service_options{cfg.node_id.value(), uuid.hex(), admin_token},
              module_logger("admin")),
      decommission_(meta_, admin_, module_logger("meta")),
      loop_(loop_period(cfg)),
      tick_timer_(io_),
      signals_(io_, SIGINT, SIGTERM, SIGHUP) {
  gossip_.on_member_event([log = log_](const gossip::member_event& ev) {
    log->info("member {} {}: addr {} state {} incarnation {}", ev.who.id.value(), event_name(ev.kind), ev.who.addr,
              gossip::to_string(ev.who.state), ev.who.inc.value);
  });
  // Another live node holds our node id: stop at once, without a leave (which would speak for
  // the holder's id), and exit 2. Whatever else started meanwhile never reached `__meta`: the
  // members keep the holder, so the controller never sees this node (docs/bootstrap.md property 7).
  gossip_.on_id_conflict([this](const gossip::id_conflict& c) {
    if (c.holder_state == gossip::member_state::dead || c.holder_state == gossip::member_state::left) {
      log_->critical("node id {} was held by node {} at {}, now {}; start with --replace-node to take it over "
                     "(see docs/operations.md \"Replacing a node\")",
                     cfg_.node_id.value(), to_hex(c.holder_uuid), c.holder_addr, gossip::to_string(c.holder_state));
    } else {
      log_->critical("node id {} is held by node {} at {}; refusing to start (see docs/operations.md \"Replacing a "
                     "node\")",
                     cfg_.node_id.value(), to_hex(c.holder_uuid), c.holder_addr);
    }
    finish(exit_code::usage_or_id);
  });
  meta_.on_joined([this](const std::string& cluster, std::vector<metadata::node_ref> voters) {
    formation_.joined(cluster, std::move(voters));
  });
  // Disk faults (docs/storage.md): the fence is announced in gossip; a WAL that cannot be
  // reopened ends the process with exit code 3, for its supervisor to restart it.
  meta_.on_storage([this](bool failed) { formation_.set_storage_failed(failed); });
  meta_.on_storage_lost([this](const std::string&) { finish(exit_code::storage_lost); });
  meta_.on_health([this](bool ready, const std::string& reason) {
    admin_.set_health(ready, reason);
    notify_.on_health(ready, reason);
  });
  meta_.on_replace_host([this](bool discard_state) { return replace_host(discard_state); });
  admin_.set_cluster_source([this](admin_server::cluster_reply reply) { serve_cluster(std::move(reply)); });
  admin_.set_metrics_source([this] { return metrics_text(); });
  admin_.set_ready_source([this](admin_server::ready_reply reply) { check_ready(std::move(reply)); });
}

std::expected<void, std::string> node::start() {
  // The Raft transport (KJ thread) and the multi-Raft host (disk thread), which recovers the WAL.
  if (auto r = raft_.start(); !r) return r;
  log_->info("raft: listening on {}, recovered groups: {}", cfg_.rpc_addr(), raft_.host()->recovered_groups().size());
  if (auto r = gossip_.start(); !r) return std::unexpected("gossip: " + r.error());
  // `__meta` has nothing to start: it runs once the formation service's decisions open its group.
  formation_.start();  // acts on the restored formation state: a member restarts its `__meta`
  // The Kafka listener and handlers, answering from `__meta` (docs/design.md "Kafka data path").
  if (auto r = kafka_.start(); !r) return r;
  if (auto r = admin_.start(); !r) return r;
  signals_.async_wait([this](const asio::error_code& ec, int sig) { on_signal(ec, sig); });
  arm_tick();
  notify_.listeners_up();
  log_->info("node {} up: gossip {}, admin {}, {} seed(s), tick loop every {} ms", cfg_.node_id.value(),
             cfg_.gossip_addr(), cfg_.admin_addr(), cfg_.seeds.size(), loop_.period().count());
  return {};
}

exit_code node::run() {
  io_.run();
  return exit_;
}

// Stops the io thread; the members stop after run() returns, in the node's destructor.
void node::finish(exit_code code) {
  notify_.stopping();
  exit_ = code;
  io_.stop();
}

void node::arm_tick() {
  // Before the first tick the loop has no grid yet: the first tick comes one period from now, and
  // its clock reading starts the grid of the loop and of every service (daemon/node_clock.h).
  if (loop_.next() == periodic::clock::time_point{}) {
    tick_timer_.expires_after(loop_.period());
  } else {
    tick_timer_.expires_at(loop_.next());
  }
  tick_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) on_tick();
  });
}

// The one clock reading of this tick goes to every service, gossip first (the others read its
// member list), then `__meta` (the Raft host's tick, which all groups share), the coordinator,
// which may start `__meta`, and the Kafka service (its partition replicas' deadlines).
void node::on_tick() {
  const auto now = std::chrono::steady_clock::now();
  const auto wall_now = std::chrono::system_clock::now();
  loop_.due(now);  // moves the loop's grid past `now`
  gossip_.tick(now);
  meta_.tick(now, wall_now);
  formation_.tick(now);
  kafka_.tick(now);
  drain_.tick(now);
  status_.tick(now, wall_now);
  arm_tick();
}

// The one place the Raft host is replaced (docs/architecture.md "The node"): the partition
// replicas go before the host they run on, then node_raft closes it (joining its disk thread),
// discards the Raft state if asked, and opens a fresh host from disk. `__meta` asks for it and
// restarts its own group on the new host.
std::expected<void, std::string> node::replace_host(bool discard_state) {
  kafka_.drop_partitions();
  return raft_.reopen(discard_state);
}

void node::on_signal(const asio::error_code& ec, int sig) {
  if (ec) return;
  if (sig == SIGHUP) {  // reloads, never stops: SIGHUP's default action would end the process
    notify_.reloading();
    reload_config();
    notify_.reloaded();
    signals_.async_wait([this](const asio::error_code& e, int s) { on_signal(e, s); });
    return;
  }
  if (leaving_) {  // a second signal: the operator does not want to wait for the leave
    log_->warn("signal {} again: stopping without waiting for the leave", sig);
    finish(exit_);
    return;
  }
  leaving_ = true;
  notify_.stopping();
  const auto wait = leave_wait(cfg_.gossip);
  log_->info("signal {}: leaving the cluster (waiting at most {} ms)", sig, wait.count());
  gossip_.leave(wait, [this] {
    log_->info("leave gossiped; shutting down");
    finish(exit_);
  });
  signals_.async_wait([this](const asio::error_code& e, int s) { on_signal(e, s); });
}

// SIGHUP (docs/operations.md "Reloading the configuration"): loads the configuration again and
// applies what decide_reload allows. The line is logged while the more verbose of the old and the
// new level is in effect, so that a change in either direction shows at the level it leaves or
// enters.
void node::reload_config() {
  const auto d = decide_reload(level_, reloader_.file,
                               reloader_.load ? reloader_.load() : std::expected<node_config, std::string>(cfg_),
                               module_levels_);
  if (d.error) {
    log_->error("{}", d.line);
    return;
  }
  if (!d.new_level) {
    log_->info("{}", d.line);
    return;
  }
  const bool more_verbose = *d.new_level < level_;
  if (!more_verbose) log_->info("{}", d.line);
  level_ = *d.new_level;
  module_levels_ = *d.new_module_levels;
  init_logging(cfg_.node_id, level_, cfg_.format, module_levels_);
  if (more_verbose) log_->info("{}", d.line);
}

// A linearizable read first (ReadIndex), so the status shows every change committed anywhere;
// without a leader it falls back to this node's local view, and says so in "read". Pending reads
// are dropped when `__meta` stops, so `this` outlives every call of the callback.
void node::serve_cluster(admin_server::cluster_reply reply) {
  meta_.read_linearizable([this, reply = std::move(reply)](bool linearizable) {
    cluster_view v;
    v.status = meta_.status();
    v.linearizable = linearizable;
    v.state_hash = meta_.state_hash();
    v.formation = formation_.state();
    v.joining = formation_.joining();
    v.members = gossip_.members();
    v.load = meta_.load_status();
    v.self_id = cfg_.node_id.value();
    v.bootstrap_expect = cfg_.bootstrap_expect;
    v.seeds = cfg_.seeds;
    for (auto id : meta_.storage_failed_nodes()) v.fenced.push_back(id);
    for (const auto& t : kafka_.topics()) {
      for (const auto& p : t.partitions) {
        ++v.partitions;
        if (p.isr.size() < p.replicas.size()) ++v.under_replicated_partitions;
        if (auto problem = partition_problem_of(t.name, p)) {
          if (problem->leaderless) ++v.leaderless_partitions;
          if (v.partition_problems.size() < max_listed_partition_problems) v.partition_problems.push_back(*problem);
        }
      }
    }
    auto body = cluster_status_json(v);
    body["load"]["admin"] = {{"unauthorized_rejected", admin_.unauthorized_count()}};
    reply(std::move(body));
  });
}

exit_code run_node(const node_config& cfg, config_reloader reloader) {
  auto log = module_logger("daemon");
  auto lock = data_dir_lock::acquire(cfg.data_dir);
  if (!lock) {
    log->critical("{}", lock.error());
    return exit_code::failure;
  }
  auto uuid = load_or_create_node_uuid(cfg.data_dir);
  if (!uuid) {
    log->critical("{}", uuid.error());
    return exit_code::failure;
  }
  if (!cfg.rpc_tls_cert_pem.empty()) {
    if (auto bound = check_certificate_uuid(cfg.rpc_tls_cert_pem, uuid->hex()); !bound) {
      log->critical("config error: rpc_tls_cert_file: {}: {}", cfg.rpc_tls_cert_file.string(), bound.error());
      return exit_code::failure;
    }
  }
  log->info("starting chronik {} node {} uuid {} cluster \"{}\" preset {} data_dir {}", software_version,
            cfg.node_id.value(), uuid->hex(), cfg.cluster_name, to_string(cfg.preset), cfg.data_dir.string());
  auto restored = load_formation(cfg.data_dir);
  if (!restored) {
    log->critical("{}", restored.error());
    return exit_code::failure;
  }
  auto keys = load_gossip_keyring(cfg.data_dir, cfg.gossip_key);
  if (!keys) {
    log->critical("{}", keys.error());
    return exit_code::failure;
  }
  if (*keys) {
    log->info("gossip encryption on: {} key(s), incoming {}, outgoing {}", (*keys)->keys().size(),
              cfg.gossip_verify_incoming ? "verified" : "plaintext accepted",
              cfg.gossip_verify_outgoing ? "sealed" : "plaintext");
  } else {
    log->warn("gossip is not encrypted: set gossip_key (docs/security.md \"Gossip encryption\")");
  }
  auto token = load_node_admin_token(cfg.data_dir, cfg.admin_token_file);
  if (!token) {
    log->critical("{}", token.error());
    return exit_code::failure;
  }
  if (token->warning) log->warn("{}", *token->warning);
  log->info("admin token {} {}", token->generated ? "generated in" : "from", token->path.string());
  exit_code code = exit_code::failure;
  {
    node n(cfg, *uuid, std::move(*restored), std::move(*keys), std::move(token->token), std::move(reloader));
    if (auto r = n.start(); !r) {
      log->critical("{}", r.error());
    } else {
      code = n.run();
    }
  }  // the one shutdown path: ~node stops the members in reverse order
  log->info("node {} stopped", cfg.node_id.value());
  return code;
}

}  // namespace chronik::daemon
