#include "daemon/drain_command.h"

#include <chrono>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "daemon/config.h"

namespace chronik::daemon {
namespace {

using clock = std::chrono::steady_clock;
constexpr auto poll_every = std::chrono::milliseconds(200);
// The record is proposed again while `__meta` does not show it: a follower's forward may be lost.
constexpr auto propose_again_after = std::chrono::seconds(2);

int fail(const std::string& line) {
  std::cerr << "chronik-server: " << line << "\n";
  return 1;
}

// --self: the node id, admin address and token of the node the config file describes.
std::expected<drain_command_options, std::string> resolve_self(drain_command_options o) {
  if (!o.config_file) return std::unexpected(std::string("--self needs --config FILE"));
  auto cfg = load_node_config(o.config_file, cli_overrides{});
  if (!cfg) return std::unexpected(cfg.error());
  o.node = cfg->node_id.value();
  // An admin endpoint bound to every address is reached over loopback.
  const std::string ip = cfg->admin_ip() == "0.0.0.0" ? std::string("127.0.0.1") : cfg->admin_ip();
  o.admin = ip + ":" + std::to_string(cfg->admin_port);
  if (!o.creds.token_file && cfg->admin_token_file) o.creds.token_file = *cfg->admin_token_file;
  if (!o.creds.data_dir) o.creds.data_dir = cfg->data_dir;
  return o;
}

std::expected<drain_progress, std::string> fetch(const drain_command_options& o) {
  auto r = admin_request(o.admin, o.creds, "/v1/nodes/" + std::to_string(*o.node) + "/drain");
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) return std::unexpected("GET drain progress: " + admin_refusal_line(*r));
  return parse_drain_progress(nlohmann::json::parse(r->body, nullptr, false));
}

std::expected<void, std::string> propose(const drain_command_options& o, drain_action action) {
  const std::string path =
      "/v1/nodes/" + std::to_string(*o.node) + (action == drain_action::drain ? "/drain" : "/undrain");
  auto r = admin_request(o.admin, o.creds, path, "{}");
  if (!r) return std::unexpected(r.error());
  if (r->status == 202) return {};
  return std::unexpected(admin_refusal_line(*r));
}

}  // namespace

std::expected<drain_progress, std::string> parse_drain_progress(const nlohmann::json& body) {
  if (!body.is_object()) return std::unexpected(std::string("expected a JSON object"));
  auto field = [&body](const char* k) { return body.find(k); };
  const auto drained = field("drained"), led = field("partitions_led"), meta = field("meta_leader");
  if (drained == body.end() || !drained->is_boolean() || led == body.end() || !led->is_number_unsigned() ||
      meta == body.end() || !meta->is_boolean()) {
    return std::unexpected(std::string("expected drained, partitions_led and meta_leader"));
  }
  drain_progress p{drained->get<bool>(), led->get<std::uint64_t>(), meta->get<bool>(), {}};
  if (const auto names = field("partitions"); names != body.end() && names->is_array()) {
    for (const auto& n : *names)
      if (n.is_string()) p.partitions += (p.partitions.empty() ? "" : ", ") + n.get<std::string>();
  }
  return p;
}

std::string describe_drain_progress(std::uint64_t node, const drain_progress& p) {
  const auto n = p.leaderships();
  std::string out = std::to_string(n) + (n == 1 ? " leadership" : " leaderships") + " left on node " + std::to_string(node);
  if (n == 0) return out;
  out += ":";
  if (p.partitions_led > 0) {
    out += " " + std::to_string(p.partitions_led) + (p.partitions_led == 1 ? " partition" : " partitions");
    if (!p.partitions.empty()) out += " (" + p.partitions + (p.partitions_led > 20 ? ", ..." : "") + ")";
  }
  if (p.meta_leader) out += std::string(p.partitions_led > 0 ? " and" : "") + " __meta";
  return out;
}

CLI::App* add_node_command(CLI::App& app, drain_command_options& opts, drain_action& action) {
  auto* node = app.add_subcommand(
      "node", "maintenance of one node: drain, undrain, decommission (docs/operations.md \"Maintenance: drain\")");
  node->require_subcommand(1);
  const std::pair<const char*, drain_action> actions[] = {{"drain", drain_action::drain}, {"undrain", drain_action::undrain}};
  for (const auto& [name, a] : actions) {
    auto* sub = node->add_subcommand(
        name, a == drain_action::drain ? "move every leadership off a node and keep it from leading (before a restart)"
                                       : "let a drained node lead again");
    sub->callback([&action, a = a] { action = a; });
    sub->add_option_function<std::uint64_t>("node", [&opts](const std::uint64_t& v) { opts.node = v; }, "node id");
    sub->add_flag("--self", opts.self, "the node --config describes, through its own admin endpoint");
    sub->add_option_function<std::string>(
        "--config", [&opts](const std::string& v) { opts.config_file = v; }, "with --self: the node's TOML config");
    sub->add_option("--admin", opts.admin, "admin endpoint IP:PORT of any node")->capture_default_str();
    sub->add_option_function<std::string>(
        "--admin-token-file", [&opts](const std::string& v) { opts.creds.token_file = v; }, "file with the admin token");
    sub->add_option_function<std::string>(
        "--data-dir", [&opts](const std::string& v) { opts.creds.data_dir = v; }, "a node's data dir (its admin_token)");
    sub->add_option("--timeout-s", opts.timeout_s, "give up after this many seconds")->capture_default_str();
    sub->add_flag("--quiet", opts.quiet, "print only the outcome");
  }
  return node;
}

int run_drain_command(const drain_command_options& given, drain_action action) {
  drain_command_options o = given;
  if (o.self) {
    auto r = resolve_self(o);
    if (!r) {
      std::cerr << "chronik-server: " << r.error() << "\n";
      return 2;
    }
    o = *r;
  }
  if (!o.node || *o.node == 0) {
    std::cerr << "chronik-server: name the node: NODE_ID or --self --config FILE\n";
    return 2;
  }
  if (o.timeout_s < 1) {
    std::cerr << "chronik-server: --timeout-s must be at least 1\n";
    return 2;
  }
  const bool drain = action == drain_action::drain;
  const auto start = clock::now();
  const auto deadline = start + std::chrono::seconds(o.timeout_s);
  // The first proposal is retried on a transport error (a busy or restarting endpoint) until the
  // deadline; an answer that refuses it (no such broker, a bad token) ends the command at once.
  for (;;) {
    auto p = propose(o, action);
    if (p) break;
    const bool refused = p.error().starts_with("HTTP 4");
    if (refused || clock::now() + poll_every >= deadline) {
      return fail(std::string(drain ? "drain" : "undrain") + " node " + std::to_string(*o.node) + ": " + p.error());
    }
    std::this_thread::sleep_for(poll_every);
  }
  auto proposed_at = start;
  std::optional<std::uint64_t> shown;
  std::string last_error;
  std::optional<drain_progress> last;
  while (clock::now() < deadline) {
    auto p = fetch(o);
    if (!p) {
      last_error = p.error();  // the node may be busy for a moment; the deadline bounds it
    } else {
      last = *p;
      if (p->drained != drain && clock::now() >= proposed_at + propose_again_after) {
        proposed_at = clock::now();
        if (auto r = propose(o, action); !r) last_error = r.error();
      }
      if (!drain && !p->drained) {
        std::cout << "node " << *o.node << " undrained: it may lead again\n";
        return 0;
      }
      if (drain && p->drained && p->leaderships() == 0) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
        std::cout << "node " << *o.node << " drained: it leads nothing (" << ms << " ms)\n";
        return 0;
      }
      if (drain && p->drained && !o.quiet && shown != p->leaderships()) {
        shown = p->leaderships();
        std::cout << describe_drain_progress(*o.node, *p) << std::endl;
      }
    }
    std::this_thread::sleep_for(poll_every);
  }
  std::string line = std::string(drain ? "drain" : "undrain") + " of node " + std::to_string(*o.node) + " timed out after " +
                     std::to_string(o.timeout_s) + " s";
  if (last && drain && last->drained) line += ": " + describe_drain_progress(*o.node, *last) + " (it stays drained)";
  else if (last) line += ": __meta does not show the change yet";
  if (!last_error.empty()) line += "; last error: " + last_error;
  return fail(line);
}

}  // namespace chronik::daemon
