#include "daemon/keyring_service.h"

#include <future>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "daemon/config.h"
#include "daemon/gossip_keyring_store.h"
#include "daemon/keyring_admin.h"

namespace chronik::daemon {
namespace {

// Members asked at once; a larger cluster is asked in rounds of this many.
constexpr std::size_t fanout_parallelism = 16;
constexpr auto member_connect_timeout = std::chrono::seconds(2);
constexpr auto member_read_timeout = std::chrono::seconds(5);

using answer = admin_server::answer;

std::string describe(httplib::Error err) {
  switch (err) {
    case httplib::Error::Connection: return "connection failed";
    case httplib::Error::ConnectionTimeout: return "connection timed out";
    case httplib::Error::Read: return "no answer (read failed or timed out)";
    default: break;
  }
  return httplib::to_string(err);
}

}  // namespace

struct keyring_service::impl {
  admin_server& admin;
  gossip::gossip_node& gossip;
  keyring_service_options opts;
  std::shared_ptr<spdlog::logger> log;

  // On the io thread: this node's part. Returns the node-scope answer.
  answer apply_here(keyring_action action, const gossip::gossip_key& key) {
    auto done = admin.call_on_io([this, action, key]() -> nlohmann::json {
      const auto& current = gossip.keys();
      if (!current) return {{"refused", "gossip encryption is off on this node (set gossip_key)"}};
      auto next = apply_keyring_action(*current, action, key);
      if (!next) return {{"refused", next.error()}};
      if (*next != *current) {
        // Persist first, then apply (see the header).
        if (auto saved = save_gossip_keyring(opts.data_dir, *next); !saved) return {{"failed", saved.error()}};
        if (auto r = gossip.replace_keys(*next); !r) return {{"failed", r.error()}};
        log->info("gossip keyring: {} {}; {} key(s), primary {}", to_string(action), gossip::key_fingerprint(key),
                  next->keys().size(), gossip::key_fingerprint(next->primary()));
      }
      return keyring_node_answer(opts.node_id, opts.uuid_hex, *next);
    });
    if (!done) return admin_server::refusal(503, done.error());
    if (done->contains("refused")) return admin_server::refusal(409, (*done)["refused"].get<std::string>());
    if (done->contains("failed")) return admin_server::refusal(500, (*done)["failed"].get<std::string>());
    return answer{200, std::move(*done)};
  }

  // One member over HTTP, with ?scope=node so that it does not forward again.
  keyring_node_result ask_member(const keyring_target& t, keyring_action action, const std::string& body) {
    if (!t.unusable.empty()) {
      return keyring_node_result{t.node_id, t.admin_addr, keyring_outcome::unreachable, t.unusable, {}};
    }
    auto ep = parse_ipv4_endpoint(t.admin_addr);
    if (!ep) return interpret_keyring_answer(t, std::nullopt, {}, "bad admin address");
    httplib::Client client(ep->ip, ep->port);
    client.set_connection_timeout(member_connect_timeout);
    client.set_read_timeout(member_read_timeout);
    client.set_bearer_token_auth(opts.admin_token);
    httplib::Result res = action == keyring_action::list
                              ? client.Get("/v1/keyring?scope=node")
                              : client.Post("/v1/keyring/" + std::string(to_string(action)) + "?scope=node", body,
                                            "application/json");
    if (!res) return interpret_keyring_answer(t, std::nullopt, {}, describe(res.error()));
    return interpret_keyring_answer(t, res->status, res->body, {});
  }

  keyring_node_result self_result(const keyring_target& t, keyring_action action, const gossip::gossip_key& key) {
    const auto a = apply_here(action, key);
    return interpret_keyring_answer(t, a.status, a.body.dump(), {});
  }

  answer serve(const admin_server::request& req, keyring_action action) {
    gossip::gossip_key key{};
    if (action != keyring_action::list) {
      auto parsed = parse_keyring_body(req.body);
      if (!parsed) return admin_server::refusal(400, parsed.error());
      key = *parsed;
    }
    if (req.scope == "node") return apply_here(action, key);
    if (!req.scope.empty() && req.scope != "cluster") return admin_server::refusal(400, "scope must be node or cluster");
    auto members = admin.call_on_io([this] {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& t : keyring_targets(gossip.members(), opts.node_id)) {
        out.push_back({{"node_id", t.node_id}, {"uuid", t.uuid_hex}, {"admin_addr", t.admin_addr},
                       {"self", t.self}, {"unusable", t.unusable}});
      }
      return out;
    });
    if (!members) return admin_server::refusal(503, members.error());
    std::vector<keyring_target> targets;
    for (const auto& m : *members) {
      targets.push_back(keyring_target{m["node_id"].get<std::uint32_t>(), m["uuid"].get<std::string>(),
                                       m["admin_addr"].get<std::string>(), m["self"].get<bool>(),
                                       m["unusable"].get<std::string>()});
    }
    if (action != keyring_action::list) {
      log->info("gossip keyring: {} {} on {} live node(s), asked through this node", to_string(action),
                gossip::key_fingerprint(key), targets.size());
    }
    const std::string body = keyring_body(gossip::key_to_base64(key));
    std::vector<keyring_node_result> results(targets.size());
    for (std::size_t first = 0; first < targets.size(); first += fanout_parallelism) {
      std::vector<std::future<keyring_node_result>> round;
      const std::size_t last = std::min(targets.size(), first + fanout_parallelism);
      for (std::size_t i = first; i < last; ++i) {
        const auto& t = targets[i];
        round.push_back(std::async(std::launch::async, [this, &t, action, &key, &body] {
          return t.self ? self_result(t, action, key) : ask_member(t, action, body);
        }));
      }
      for (std::size_t i = first; i < last; ++i) results[i] = round[i - first].get();
    }
    auto report = keyring_report(action, results);
    const bool all_ok = report["failed"] == 0;
    return answer{all_ok ? 200 : 500, std::move(report)};
  }
};

keyring_service::keyring_service(admin_server& admin, gossip::gossip_node& gossip, keyring_service_options opts,
                                 std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_shared<impl>(impl{admin, gossip, std::move(opts), std::move(log)})) {
  admin.add_route(admin_server::method::get, "/v1/keyring",
                  [s = impl_](const admin_server::request& req) { return s->serve(req, keyring_action::list); });
  admin.add_route(admin_server::method::post, "/v1/keyring/(install|use|remove)",
                  [s = impl_](const admin_server::request& req) {
                    const auto action = parse_keyring_action(req.match);
                    if (!action) return admin_server::refusal(404, "not found");
                    return s->serve(req, *action);
                  });
}

}  // namespace chronik::daemon
