#include "daemon/decommission_command.h"

#include <chrono>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

namespace chronik::daemon {
namespace {

using clock = std::chrono::steady_clock;
constexpr auto poll_every = std::chrono::milliseconds(250);
// The record is proposed again while `__meta` does not show it: a follower's forward may be lost.
constexpr auto propose_again_after = std::chrono::seconds(2);

int fail(const std::string& line) {
  std::cerr << "chronik-server: " << line << "\n";
  return 1;
}

std::string base_path(const decommission_command_options& o) {
  return "/v1/nodes/" + std::to_string(*o.node) + "/decommission";
}

std::expected<decommission_report, std::string> fetch(const decommission_command_options& o) {
  auto r = admin_request(o.admin, o.creds, base_path(o));
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) return std::unexpected("GET decommission progress: " + admin_refusal_line(*r));
  return parse_decommission_report(nlohmann::json::parse(r->body, nullptr, false));
}

std::expected<void, std::string> propose(const decommission_command_options& o) {
  auto r = admin_request(o.admin, o.creds, base_path(o) + (o.cancel ? "/cancel" : ""), "{}");
  if (!r) return std::unexpected(r.error());
  if (r->status == 202) return {};
  return std::unexpected(admin_refusal_line(*r));
}

}  // namespace

std::expected<decommission_report, std::string> parse_decommission_report(const nlohmann::json& body) {
  if (!body.is_object()) return std::unexpected(std::string("expected a JSON object"));
  decommission_report r;
  for (const auto& [key, out] : {std::pair{"state", &r.state}, std::pair{"meta_member", &r.meta_member}}) {
    const auto it = body.find(key);
    if (it == body.end() || !it->is_string()) return std::unexpected(std::string("expected ") + key + " as a string");
    *out = it->get<std::string>();
  }
  for (const auto& [key, out] : {std::pair{"partitions_left", &r.partitions_left}, std::pair{"moving", &r.moving},
                                 std::pair{"stuck", &r.stuck}, std::pair{"leaderships", &r.leaderships}}) {
    const auto it = body.find(key);
    if (it == body.end() || !it->is_number_unsigned()) return std::unexpected(std::string("expected ") + key + " as a count");
    *out = it->get<std::uint64_t>();
  }
  return r;
}

std::string describe_decommission(std::uint64_t node, const decommission_report& r) {
  std::string out = "node " + std::to_string(node) + ": ";
  if (r.state == "done" && r.meta_member == "none") return out + "decommissioned: it holds no replica and is out of __meta";
  if (r.state == "done") return out + "holds no replica, leaving __meta (" + r.meta_member + ")";
  if (r.state == "none") return out + "not being decommissioned";
  out += std::to_string(r.partitions_left) + (r.partitions_left == 1 ? " partition" : " partitions") + " left";
  if (r.partitions_left > 0) {
    out += " (" + std::to_string(r.moving) + " moving";
    if (r.stuck > 0) out += ", " + std::to_string(r.stuck) + " stuck: no broker can take them";
    out += ")";
  }
  if (r.leaderships > 0) out += ", leads " + std::to_string(r.leaderships);
  if (r.meta_member != "none") out += ", __meta " + r.meta_member;
  return out;
}

CLI::App* add_decommission_command(CLI::App& node, decommission_command_options& opts) {
  auto* sub = node.add_subcommand(
      "decommission", "move every replica off a node and take it out of __meta, for good (reports progress)");
  sub->add_option_function<std::uint64_t>("node", [&opts](const std::uint64_t& v) { opts.node = v; }, "node id")
      ->required();
  sub->add_flag("--cancel", opts.cancel, "stop a decommission still moving replicas");
  sub->add_option("--admin", opts.admin, "admin endpoint IP:PORT of any node")->capture_default_str();
  sub->add_option_function<std::string>(
      "--admin-token-file", [&opts](const std::string& v) { opts.creds.token_file = v; }, "file with the admin token");
  sub->add_option_function<std::string>(
      "--data-dir", [&opts](const std::string& v) { opts.creds.data_dir = v; }, "a node's data dir (its admin_token)");
  sub->add_option("--timeout-s", opts.timeout_s, "stop waiting after this many seconds")->capture_default_str();
  sub->add_flag("--quiet", opts.quiet, "print only the outcome");
  return sub;
}

int run_decommission_command(const decommission_command_options& o) {
  if (!o.node || *o.node == 0) {
    std::cerr << "chronik-server: name the node to decommission\n";
    return 2;
  }
  if (o.timeout_s < 1) {
    std::cerr << "chronik-server: --timeout-s must be at least 1\n";
    return 2;
  }
  const std::string want = o.cancel ? "none" : "moving";
  const auto start = clock::now();
  const auto deadline = start + std::chrono::seconds(o.timeout_s);
  // The proposal is retried on a transport error (a busy or restarting endpoint) until the
  // deadline; an answer that refuses it (no such broker, too few brokers left) ends the command.
  for (;;) {
    auto p = propose(o);
    if (p) break;
    if (p.error().starts_with("HTTP 4") || clock::now() + poll_every >= deadline) {
      return fail(std::string(o.cancel ? "cancel of the decommission of" : "decommission of") + " node " +
                  std::to_string(*o.node) + ": " + p.error());
    }
    std::this_thread::sleep_for(poll_every);
  }
  auto proposed_at = start;
  std::optional<decommission_report> last;
  std::string last_error;
  while (clock::now() < deadline) {
    auto r = fetch(o);
    if (!r) {
      last_error = r.error();  // the node may be busy for a moment; the deadline bounds it
    } else {
      if (o.cancel && r->state != "moving") {
        std::cout << "node " << *o.node << ": decommission cancelled (" << r->partitions_left
                  << " partitions stay on it)\n";
        return 0;
      }
      if (r->state == "done" && r->meta_member == "none") {
        const auto s = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count() / 1000.0;
        std::cout << describe_decommission(*o.node, *r) << " (" << s << " s); stop it now\n";
        return 0;
      }
      if (r->state != want && clock::now() >= proposed_at + propose_again_after) {
        proposed_at = clock::now();
        if (auto p = propose(o); !p) {
          if (p.error().starts_with("HTTP 4")) return fail("decommission of node " + std::to_string(*o.node) + ": " + p.error());
          last_error = p.error();
        }
      }
      if (!o.cancel && r->state != "none" && !o.quiet && last != *r) std::cout << describe_decommission(*o.node, *r) << std::endl;
      last = *r;
    }
    std::this_thread::sleep_for(poll_every);
  }
  std::string line = "waiting for the decommission of node " + std::to_string(*o.node) + " timed out after " +
                     std::to_string(o.timeout_s) + " s";
  if (last) line += ": " + describe_decommission(*o.node, *last) + " (it goes on)";
  if (!last_error.empty()) line += "; last error: " + last_error;
  return fail(line);
}

}  // namespace chronik::daemon
