// chronik-server: `start` runs a node (daemon/node.h), `cluster members` asks a running node for
// its members, `cluster status` for its view of the cluster (`__meta` leader, voters, brokers),
// `cluster health` judges the whole cluster (daemon/cluster_health.h), `topic
// create|list|describe|alter|delete` administers topics and `group list|describe|delete|reset-offsets`
// consumer groups over the Kafka protocol (daemon/topic_command.h, daemon/group_command.h), `keygen` prints a new gossip key, `keyring` edits a stopped node's
// gossip keyring (online through --admin, or a stopped node's), `version` (or --version) prints the
// release and the git commit it was built from. This file only parses the command line.
//
// Exit codes (daemon::exit_code): 0 success, 1 runtime failure (cannot bind, corrupt data dir,
// admin or broker unreachable, a group command refused), 2 bad command line or bad configuration (one line naming the key), or a
// node id that another live node holds (one line naming the holder; docs/bootstrap.md property
// 7), 3 storage lost: the WAL could not be reopened after a disk fault (docs/operations.md "Full
// disk").
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "daemon/build_info.h"
#include "daemon/certs_command.h"
#include "daemon/completion_command.h"
#include "daemon/cluster_health.h"
#include "daemon/config.h"
#include "daemon/decommission_command.h"
#include "daemon/drain_command.h"
#include "daemon/gossip_keyring_store.h"
#include "daemon/group_command.h"
#include "daemon/keyring_command.h"
#include "daemon/logging.h"
#include "daemon/members_command.h"
#include "daemon/node.h"
#include "daemon/node_meta.h"
#include "daemon/usage_footer.h"
#include "daemon/user_command.h"
#include "daemon/status_command.h"
#include "daemon/topic_command.h"

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
  text("--bind", cli.bind, "IPv4 address every listener binds (0.0.0.0: every interface; then --advertise)");
  text("--advertise", cli.advertise, "address (IPv4 or host name) peers and clients use; default: --bind");
  text("--gossip-advertise", cli.gossip_advertise, "HOST:PORT advertised for gossip (a mapped port)");
  text("--rpc-advertise", cli.rpc_advertise, "HOST:PORT advertised for Raft RPC (a mapped port)");
  number("--gossip-port", cli.gossip_port, "SWIM gossip port, UDP and TCP");
  number("--rpc-port", cli.rpc_port, "cluster RPC port");
  number("--kafka-port", cli.kafka_port, "Kafka protocol port");
  number("--admin-port", cli.admin_port, "admin HTTP port");
  text("--admin-bind", cli.admin_bind, "IPv4 address of the admin HTTP endpoint (default: loopback)");
  text("--admin-token-file", cli.admin_token_file, "file with the admin bearer token (default <data-dir>/admin_token)");
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
  text("--log-format", cli.log_format, "text (default) or json: one JSON object per log line");
  text("--gossip-key", cli.gossip_key, "gossip encryption key, base64 of 32 bytes (chronik-server keygen)");
  cmd.add_flag("--replace-node", args.replace_node,
               "take over the node id of a dead or departed node at another address (docs/operations.md)");
}

int run_start(const start_args& args) {
  // A peer closing a socket must not kill the process (docs/design.md "Connections").
  std::signal(SIGPIPE, SIG_IGN);
  // Until the node's signal set takes SIGHUP over (a reload), a SIGHUP must not end the process.
  std::signal(SIGHUP, SIG_IGN);
  auto cfg = load_node_config(args.config_file, args.cli);
  if (!cfg) {
    std::cerr << "chronik-server: " << cfg.error() << "\n";
    return static_cast<int>(exit_code::usage_or_id);
  }
  cfg->replace_node = args.replace_node;
  init_logging(cfg->node_id, cfg->level, cfg->format, cfg->module_levels);
  // SIGHUP loads the same file with the same flags again (daemon/config_reload.h).
  config_reloader reloader{args.config_file ? reload_config_file::given : reload_config_file::none,
                           [&args] { return load_node_config(args.config_file, args.cli); }};
  return static_cast<int>(run_node(*cfg, std::move(reloader)));
}

struct group_subcommands {
  CLI::App* list = nullptr;
  CLI::App* describe = nullptr;
  CLI::App* remove = nullptr;
  CLI::App* reset = nullptr;
};

group_subcommands add_group_commands(CLI::App& app, group_command_options& opts) {
  auto* group = app.add_subcommand("group", "administer consumer groups (over the Kafka protocol)");
  group->require_subcommand(1);
  auto common = [&opts](CLI::App* cmd) {
    cmd->add_option("--bootstrap", opts.bootstrap, "Kafka address of any broker HOST:PORT")->capture_default_str();
    cmd->add_flag("--json", opts.json, "print JSON");
    return cmd;
  };
  group_subcommands out;
  out.list = common(group->add_subcommand("list", "list every consumer group of the cluster"));
  out.describe = common(group->add_subcommand(
      "describe", "show a group's members, assignment, committed offsets and lag per partition"));
  out.describe->add_option("group", opts.group, "group id")->required();
  out.remove = common(group->add_subcommand("delete", "delete a group without members and its offsets"));
  out.remove->add_option("group", opts.group, "group id")->required();
  out.reset = common(group->add_subcommand(
      "reset-offsets", "plan (or with --execute commit) new offsets for an empty group"));
  out.reset->add_option("group", opts.group, "group id")->required();
  out.reset->add_option("--topic", opts.topics, "TOPIC or TOPIC:P,Q,... (repeatable)")->required();
  auto* earliest = out.reset->add_flag("--to-earliest", opts.to_earliest, "the log start offset");
  auto* latest = out.reset->add_flag("--to-latest", opts.to_latest, "the log end offset");
  auto* offset = out.reset->add_option_function<std::int64_t>(
      "--to-offset", [&opts](const std::int64_t& v) { opts.to_offset = v; }, "this offset, clamped into the log");
  earliest->excludes(latest)->excludes(offset);
  latest->excludes(offset);
  out.reset->add_flag("--execute", opts.execute, "commit the plan (default: only print it)");
  return out;
}

struct topic_subcommands {
  CLI::App* create = nullptr;
  CLI::App* list = nullptr;
  CLI::App* describe = nullptr;
  CLI::App* alter = nullptr;
  CLI::App* remove = nullptr;
};

topic_subcommands add_topic_commands(CLI::App& app, topic_command_options& opts) {
  auto* topic = app.add_subcommand("topic", "administer topics (over the Kafka protocol)");
  topic->require_subcommand(1);
  auto common = [&opts](CLI::App* cmd) {
    cmd->add_option("--bootstrap", opts.bootstrap, "Kafka address of any broker HOST:PORT")->capture_default_str();
    cmd->add_flag("--json", opts.json, "print JSON");
    return cmd;
  };
  auto named = [&opts, &common](CLI::App* cmd) {
    cmd->add_option("topic", opts.topic, "topic name")->required();
    return common(cmd);
  };
  auto partitions = [&opts](CLI::App* cmd, const char* help) {
    return cmd->add_option_function<std::int32_t>(
        "--partitions", [&opts](const std::int32_t& v) { opts.partitions = v; }, help);
  };
  auto configs = [&opts](CLI::App* cmd) {
    cmd->add_option("--config", opts.configs, "topic config NAME=VALUE (repeatable)")->allow_extra_args(false);
  };
  topic_subcommands out;
  out.create = named(topic->add_subcommand("create", "create a topic"));
  partitions(out.create, "partition count")->required();
  out.create->add_option_function<std::int32_t>(
      "--replication-factor", [&opts](const std::int32_t& v) { opts.replication_factor = v; }, "replicas per partition")
      ->required();
  configs(out.create);
  out.list = common(topic->add_subcommand("list", "list every topic with its partitions and replication factor"));
  out.describe = named(topic->add_subcommand(
      "describe", "show each partition's leader, replicas, in-sync replicas and offsets, and the topic's configs"));
  out.alter = named(topic->add_subcommand("alter", "add partitions or change configs of a topic"));
  partitions(out.alter, "the new partition count in all (only grows)");
  configs(out.alter);
  out.alter->add_option("--delete-config", opts.delete_configs, "config NAME back to its default (repeatable)")
      ->allow_extra_args(false);
  out.remove = named(topic->add_subcommand("delete", "delete a topic and its records"));
  return out;
}

// Where the CLI finds the admin token: --admin-token-file, or the node's --data-dir.
void add_admin_credentials(CLI::App* cmd, admin_credentials& creds) {
  cmd->add_option_function<std::string>(
      "--admin-token-file", [&creds](const std::string& v) { creds.token_file = v; }, "file with the admin token");
  cmd->add_option_function<std::string>(
      "--data-dir", [&creds](const std::string& v) { creds.data_dir = v; }, "the node's data dir (its admin_token)");
}

// `keyring list|install|use|remove`: one action per call, online through --admin (every live
// node) or offline on a stopped node's --data-dir.
CLI::App* add_keyring_command(CLI::App& app, keyring_cli_options& opts) {
  auto* cmd = app.add_subcommand("keyring", "list or change the gossip keyring of a cluster (docs/security.md)");
  cmd->require_subcommand(1);
  const std::pair<const char*, keyring_action> actions[] = {
      {"list", keyring_action::list}, {"install", keyring_action::install},
      {"use", keyring_action::use}, {"remove", keyring_action::remove}};
  for (const auto& [name, action] : actions) {
    auto* sub = cmd->add_subcommand(name, std::string(name) + (action == keyring_action::list ? " the keys" : " a key"));
    sub->callback([&opts, action = action] { opts.action = action; });
    sub->add_option_function<std::string>(
        "--admin", [&opts](const std::string& v) { opts.admin = v; },
        "admin endpoint IP:PORT of any node: applies to every live node");
    sub->add_option_function<std::string>(
        "--admin-token-file", [&opts](const std::string& v) { opts.admin_token_file = v; },
        "file with the admin token (with --admin)");
    sub->add_option_function<std::string>(
        "--data-dir", [&opts](const std::string& v) { opts.data_dir = v; },
        "without --admin: edit this stopped node's keyring; with it: read its admin_token");
    sub->add_flag("--json", opts.json, "with --admin: print the JSON report");
    if (action != keyring_action::list) sub->add_option("key", opts.key, "base64 key")->required();
  }
  return cmd;
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
  const auto version = version_line(software_version, build_commit());
  app.set_version_flag("--version", version, "print the version and the git commit, and exit");
  app.set_help_all_flag("--help-all", "print the help of every subcommand, and exit");
  app.footer(usage_footer);

  start_args args;
  auto* start = app.add_subcommand("start", "run a node");
  add_start_flags(*start, args);

  members_command_options members_opts;
  auto* cluster = app.add_subcommand("cluster", "inspect a running cluster");
  cluster->require_subcommand(1);
  auto* members = cluster->add_subcommand("members", "list the members a node sees");
  members->add_option("--admin", members_opts.admin, "admin endpoint IP:PORT")->capture_default_str();
  members->add_flag("--json", members_opts.json, "print a JSON array");
  add_admin_credentials(members, members_opts.creds);
  status_command_options status_opts;
  auto* status = cluster->add_subcommand("status", "show the cluster id, the __meta leader and the brokers");
  status->add_option("--admin", status_opts.admin, "admin endpoint IP:PORT")->capture_default_str();
  status->add_flag("--json", status_opts.json, "print the /v1/cluster JSON");
  add_admin_credentials(status, status_opts.creds);
  health_command_options health_opts;
  auto* health = cluster->add_subcommand(
      "health", "judge the cluster: nodes, __meta quorum, partitions without a leader or in-sync replicas");
  health->add_option("--admin", health_opts.admin, "admin endpoint IP:PORT")->capture_default_str();
  health->add_flag("--json", health_opts.json, "print the report as JSON");
  add_admin_credentials(health, health_opts.creds);

  topic_command_options topic_opts;
  const auto topic = add_topic_commands(app, topic_opts);

  group_command_options group_opts;
  const auto group = add_group_commands(app, group_opts);

  certs_options certs_opts;
  auto* certs = add_certs_command(app, certs_opts);
  auto* keygen = app.add_subcommand("keygen", "print a new random gossip encryption key (base64)");
  auto* version_cmd = app.add_subcommand("version", "print the version and the git commit");
  keyring_cli_options keyring_opts;
  auto* keyring_cmd = add_keyring_command(app, keyring_opts);

  user_command_options user_opts;
  auto* user_cmd = add_user_command(app, user_opts);

  drain_command_options drain_opts;  // `node drain|undrain` (daemon/drain_command.h)
  drain_action drain_act = drain_action::drain;
  auto* node_cmd = add_node_command(app, drain_opts, drain_act);
  decommission_command_options decommission_opts;  // `node decommission` (daemon/decommission_command.h)
  auto* decommission_cmd = add_decommission_command(*node_cmd, decommission_opts);

  auto* completion = add_completion_command(app);  // hidden: the bash script for this whole tree

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e);
  }
  if (completion->parsed()) {
    std::cout << bash_completion_script(app);
    return 0;
  }
  if (start->parsed()) return run_start(args);
  if (members->parsed()) return run_members_command(members_opts);
  if (status->parsed()) return run_status_command(status_opts);
  if (health->parsed()) return run_health_command(health_opts);
  if (certs->parsed()) return run_certs_command(certs_opts);
  if (keygen->parsed()) return run_keygen_command();
  if (version_cmd->parsed()) {
    std::cout << version << "\n";
    return 0;
  }
  if (keyring_cmd->parsed()) return run_keyring_cli(keyring_opts);
  if (user_cmd->parsed()) return run_user_command(user_opts);
  if (decommission_cmd->parsed()) return run_decommission_command(decommission_opts);
  if (node_cmd->parsed()) return run_drain_command(drain_opts, drain_act);
  if (group.list->parsed()) return run_group_list(group_opts);
  if (group.describe->parsed()) return run_group_describe(group_opts);
  if (group.remove->parsed()) return run_group_delete(group_opts);
  if (group.reset->parsed()) return run_group_reset_offsets(group_opts);
  if (topic.create->parsed()) return run_topic_create(topic_opts);
  if (topic.list->parsed()) return run_topic_list(topic_opts);
  if (topic.describe->parsed()) return run_topic_describe(topic_opts);
  if (topic.alter->parsed()) return run_topic_alter(topic_opts);
  if (topic.remove->parsed()) return run_topic_delete(topic_opts);
  return 2;
}
