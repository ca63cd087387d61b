// chronik-server: `start` runs a node, `cluster members` asks a running node for its members,
// `cluster status` for its view of the cluster (`__meta` leader, voters, brokers).
//
// Exit codes: 0 success, 1 runtime failure (cannot bind, corrupt data dir, admin unreachable),
// 2 bad command line or bad configuration (one line naming the key), or a node id that another
// live node holds (one line naming the holder; docs/bootstrap.md property 7).
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>
#include <string>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <nlohmann/json.hpp>

#include "daemon/admin_server.h"
#include "daemon/config.h"
#include "daemon/formation_service.h"
#include "daemon/formation_store.h"
#include "daemon/kafka_service.h"
#include "daemon/logging.h"
#include "daemon/members_command.h"
#include "daemon/meta_service.h"
#include "daemon/node_identity.h"
#include "daemon/node_meta.h"
#include "daemon/status_command.h"
#include "metadata/core/formation_codec.h"
#include "gossip/net/gossip_node.h"

namespace {

using namespace chronik;
using namespace chronik::daemon;

struct start_args {
  std::optional<std::filesystem::path> config_file;
  cli_overrides cli;
  bool replace_node = false;
};

void add_start_flags(CLI::App& cmd, start_args& args) {
  cmd.add_option_function<std::string>(
      "--config", [&args](const std::string& v) { args.config_file = v; }, "TOML config file (docs/config.md)");
  // Numbers are kept wide and range-checked by the config loader, which names the key.
  auto number = [&cmd](const char* flag, std::optional<std::int64_t>& target, const char* help) {
    cmd.add_option_function<std::int64_t>(flag, [&target](const std::int64_t& v) { target = v; }, help);
  };
  auto text = [&cmd](const char* flag, std::optional<std::string>& target, const char* help) {
    cmd.add_option_function<std::string>(flag, [&target](const std::string& v) { target = v; }, help);
  };
  auto& cli = args.cli;
  number("--node-id", cli.node_id, "node id, unique in the cluster (>= 1)");
  text("--bind", cli.bind, "IPv4 address every listener binds and advertises");
  number("--gossip-port", cli.gossip_port, "SWIM gossip port, UDP and TCP");
  number("--rpc-port", cli.rpc_port, "cluster RPC port");
  number("--kafka-port", cli.kafka_port, "Kafka protocol port");
  number("--admin-port", cli.admin_port, "admin HTTP port");
  cmd.add_option("--seed", cli.seeds, "seed gossip address IP:GOSSIP_PORT (repeatable)")
      ->allow_extra_args(false)
      ->delimiter(',');
  text("--data-dir", cli.data_dir, "data directory (default ./data/node-<id>)");
  number("--bootstrap-expect", cli.bootstrap_expect, "fresh nodes needed to bootstrap the cluster");
  number("--meta-voters", cli.meta_voters, "__meta voters to keep: 0 automatic, or odd 1..9");
  number("--voter-replace-after-ms", cli.voter_replace_after_ms, "replace a __meta voter dead this long");
  number("--meta-snapshot-entries", cli.meta_snapshot_entries, "__meta entries between snapshots");
  text("--cluster-name", cli.cluster_name, "cluster name; nodes of other clusters are refused");
  text("--preset", cli.preset, "gossip timings: lan, wan or local");
  text("--log-level", cli.log_level, "trace, debug, info, warn, error, critical or off");
  cmd.add_flag("--replace-node", args.replace_node,
               "take over the node id of a dead or departed node at another address (docs/operations.md)");
}

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

gossip::node_options gossip_options(const node_config& cfg, const node_uuid& uuid) {
  gossip::node_options opts;
  opts.bind_ip = cfg.bind;
  opts.port = cfg.gossip_port;
  opts.seeds = cfg.seeds;
  opts.cfg = cfg.gossip;
  opts.self = gossip::self_identity{cfg.node_id, uuid.raw(), cfg.gossip_addr(),
                                    encode_fresh_node_meta(cfg, uuid), cfg.cluster_name, cfg.replace_node};
  opts.rng_seed = random_seed();
  return opts;
}

// Runs the node until SIGTERM/SIGINT and its graceful leave complete.
int serve(const node_config& cfg, const node_uuid& uuid, const std::shared_ptr<spdlog::logger>& log) {
  asio::io_context io(1);
  gossip::gossip_node node(io, gossip_options(cfg, uuid), module_logger("gossip"));
  node.on_member_event([log](const gossip::member_event& ev) {
    log->info("member {} {}: addr {} state {} incarnation {}", ev.who.id.value, event_name(ev.kind),
              ev.who.addr, gossip::to_string(ev.who.state), ev.who.inc.value);
  });
  // Another live node holds our node id: stop at once, without a leave (which would speak for
  // the holder's id), and exit 2. Whatever else started meanwhile never reached `__meta`: the
  // members keep the holder, so the controller never sees this node (docs/bootstrap.md property 7).
  int exit_code = 0;
  node.on_id_conflict([&io, &exit_code, &cfg, log](const gossip::id_conflict& c) {
    if (c.holder_state == gossip::member_state::dead || c.holder_state == gossip::member_state::left) {
      log->critical("node id {} was held by node {} at {}, now {}; start with --replace-node to take it over "
                    "(see docs/operations.md \"Replacing a node\")",
                    cfg.node_id.value, to_hex(c.holder_uuid), c.holder_addr, gossip::to_string(c.holder_state));
    } else {
      log->critical("node id {} is held by node {} at {}; refusing to start (see docs/operations.md \"Replacing a node\")",
                    cfg.node_id.value, to_hex(c.holder_uuid), c.holder_addr);
    }
    exit_code = 2;
    io.stop();
  });
  if (auto r = node.start(); !r) {
    log->critical("gossip: {}", r.error());
    return 1;
  }
  auto restored = load_formation(cfg.data_dir);
  if (!restored) {
    log->critical("{}", restored.error());
    node.stop();
    return 1;
  }
  // `__meta`: the Raft transport (KJ thread), the multi-Raft host (disk thread) and the state
  // machine, driven by the formation service's decisions.
  meta_service meta(io, node, cfg, uuid, module_logger("meta"));
  if (auto r = meta.start(); !r) {
    log->critical("{}", r.error());
    node.stop();
    return 1;
  }
  // The Kafka listener and handlers, answering from `__meta` (docs/design.md "Kafka data path").
  kafka_service kafka(io, cfg, meta, module_logger("kafka"));
  if (auto r = kafka.start(); !r) {
    log->critical("{}", r.error());
    meta.stop();
    node.stop();
    return 1;
  }
  formation_actions actions{[&meta](const metadata::formation& f) { meta.start_group(f); },
                            [&meta](const metadata::formation& f) { meta.abandon_group(f); },
                            [&meta, log](const std::string& cluster) {
                              log->info("__meta: asking cluster {} to add this node", cluster);
                              meta.join(cluster);
                            }};
  formation_service formation(io, node, cfg, uuid, *restored, std::move(actions), module_logger("formation"));
  meta.on_joined([&formation](const std::string& cluster, std::vector<metadata::node_ref> voters) {
    formation.joined(cluster, std::move(voters));
  });
  // Disk faults (docs/storage.md): the fence is announced in gossip; a WAL that cannot be
  // reopened ends the process with exit code 3, for its supervisor to restart it.
  meta.on_storage([&formation](bool failed) { formation.set_storage_failed(failed); });
  meta.on_storage_lost([&io, &exit_code](const std::string&) {
    exit_code = 3;
    io.stop();
  });
  admin_options admin_opts{cfg.bind, cfg.admin_port, cfg.node_id.value, uuid.hex(), cfg.cluster_name};
  admin_server admin(io, admin_opts, [&node] { return node.members(); }, module_logger("admin"));
  // A linearizable read first (ReadIndex), so the status shows every change committed anywhere;
  // without a leader it falls back to this node's local view, and says so in "read".
  admin.set_cluster_source([&meta, &formation, &node](admin_server::cluster_reply reply) {
    meta.read_linearizable([&meta, &formation, &node, reply = std::move(reply)](bool linearizable) {
      auto j = cluster_status_to_json(meta.status());
      j["read"] = linearizable ? "linearizable" : "local";
      j["state_hash"] = meta.state_hash();
      j["formation"] = metadata::encode_formation(formation.state());
      if (!formation.joining().empty()) j["joining"] = formation.joining();
      j["nodes"] = formation_of_members(node.members());
      j["load"] = meta.load_status();
      reply(std::move(j));
    });
  });
  meta.on_health([&admin](bool ready, const std::string& reason) { admin.set_health(ready, reason); });
  if (auto r = admin.start(); !r) {
    log->critical("{}", r.error());
    kafka.stop();
    meta.stop();
    node.stop();
    return 1;
  }
  formation.start();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  bool leaving = false;
  std::function<void(const asio::error_code&, int)> on_signal;
  on_signal = [&](const asio::error_code& ec, int sig) {
    if (ec) return;
    if (leaving) {  // a second signal: the operator does not want to wait for the leave
      log->warn("signal {} again: stopping without waiting for the leave", sig);
      io.stop();
      return;
    }
    leaving = true;
    const auto wait = leave_wait(cfg.gossip);
    log->info("signal {}: leaving the cluster (waiting at most {} ms)", sig, wait.count());
    node.leave(wait, [&] {
      log->info("leave gossiped; shutting down");
      io.stop();
    });
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  log->info("node {} up: gossip {}, admin {}, {} seed(s)", cfg.node_id.value, cfg.gossip_addr(),
            cfg.admin_addr(), cfg.seeds.size());
  io.run();
  // Shutdown order: the admin endpoint first (its threads post to io, which no longer runs, so
  // pending requests end with 503), the Kafka listener, the formation service, `__meta` (the host
  // joins its disk thread, then the transport its KJ thread), then the gossip node; the
  // io_context goes last.
  admin.stop();
  kafka.stop();
  formation.stop();
  meta.stop();
  node.stop();
  signals.cancel();
  log->info("node {} stopped", cfg.node_id.value);
  return exit_code;
}

int run_start(const start_args& args) {
  // A peer closing a socket must not kill the process (docs/design.md "Connections").
  std::signal(SIGPIPE, SIG_IGN);
  auto cfg = load_node_config(args.config_file, args.cli);
  if (!cfg) {
    std::cerr << "chronik-server: " << cfg.error() << "\n";
    return 2;
  }
  cfg->replace_node = args.replace_node;
  init_logging(cfg->node_id, cfg->level);
  auto log = module_logger("daemon");
  auto lock = data_dir_lock::acquire(cfg->data_dir);
  if (!lock) {
    log->critical("{}", lock.error());
    return 1;
  }
  auto uuid = load_or_create_node_uuid(cfg->data_dir);
  if (!uuid) {
    log->critical("{}", uuid.error());
    return 1;
  }
  log->info("starting chronik {} node {} uuid {} cluster \"{}\" preset {} data_dir {}", software_version,
            cfg->node_id.value, uuid->hex(), cfg->cluster_name, to_string(cfg->preset), cfg->data_dir.string());
  return serve(*cfg, *uuid, log);
}

// CLI11 errors become one line and exit 2; --help still prints the help and exits 0.
int usage_error(CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
  std::string what = e.what();
  std::replace(what.begin(), what.end(), '\n', ' ');
  std::cerr << "chronik-server: " << what << " (see chronik-server --help)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chronik: a Kafka-compatible broker daemon", "chronik-server"};
  app.require_subcommand(1);

  start_args args;
  auto* start = app.add_subcommand("start", "run a node");
  add_start_flags(*start, args);

  members_command_options members_opts;
  auto* cluster = app.add_subcommand("cluster", "inspect a running cluster");
  cluster->require_subcommand(1);
  auto* members = cluster->add_subcommand("members", "list the members a node sees");
  members->add_option("--admin", members_opts.admin, "admin endpoint IP:PORT")->capture_default_str();
  members->add_flag("--json", members_opts.json, "print a JSON array");
  status_command_options status_opts;
  auto* status = cluster->add_subcommand("status", "show the cluster id, the __meta leader and the brokers");
  status->add_option("--admin", status_opts.admin, "admin endpoint IP:PORT")->capture_default_str();
  status->add_flag("--json", status_opts.json, "print the /v1/cluster JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e);
  }
  if (start->parsed()) return run_start(args);
  if (members->parsed()) return run_members_command(members_opts);
  if (status->parsed()) return run_status_command(status_opts);
  return 2;
}
