#include "daemon/keyring_admin.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "daemon/config.h"
#include "daemon/node_identity.h"
#include "daemon/node_meta.h"

namespace chronik::daemon {
namespace {

bool is_loopback_ip(std::string_view ip) { return ip.starts_with("127."); }

std::string ip_of(std::string_view addr) {
  auto ep = parse_ipv4_endpoint(addr);
  return ep ? ep->ip : std::string();
}

std::string error_of(std::string_view body) {
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_string()) return doc["error"].get<std::string>();
  return "no error text";
}

}  // namespace

std::string_view to_string(keyring_action action) {
  switch (action) {
    case keyring_action::list: return "list";
    case keyring_action::install: return "install";
    case keyring_action::use: return "use";
    case keyring_action::remove: return "remove";
  }
  return "list";
}

std::optional<keyring_action> parse_keyring_action(std::string_view name) {
  for (auto a : {keyring_action::list, keyring_action::install, keyring_action::use, keyring_action::remove}) {
    if (to_string(a) == name) return a;
  }
  return std::nullopt;
}

std::expected<gossip::gossip_key, std::string> parse_keyring_body(std::string_view body) {
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::unexpected("the body must be a JSON object {\"key\": ...}");
  const auto it = doc.find("key");
  if (it == doc.end() || !it->is_string()) return std::unexpected("the body needs \"key\": the base64 key");
  auto key = gossip::key_from_base64(it->get<std::string>());
  if (!key) return std::unexpected("\"key\" must be the base64 of 32 bytes (chronik-server keygen)");
  return *key;
}

std::string keyring_body(std::string_view key_base64) { return nlohmann::json{{"key", key_base64}}.dump(); }

std::expected<gossip::keyring, std::string> apply_keyring_action(const gossip::keyring& ring, keyring_action action,
                                                                 const gossip::gossip_key& key) {
  gossip::keyring next = ring;
  std::expected<void, gossip::keyring_errc> done;
  switch (action) {
    case keyring_action::list: return next;
    case keyring_action::install: done = next.install(key); break;
    case keyring_action::use: done = next.use(key); break;
    case keyring_action::remove: done = next.remove(key); break;
  }
  if (done) return next;
  switch (done.error()) {
    case gossip::keyring_errc::unknown_key: return std::unexpected("the key is not installed");
    case gossip::keyring_errc::remove_primary:
      return std::unexpected("the primary key cannot be removed; use another key first");
    case gossip::keyring_errc::full: return std::unexpected("the keyring is full; remove a key first");
    default: break;
  }
  return std::unexpected(std::string(gossip::to_string(done.error())));
}

nlohmann::json keyring_json(const gossip::keyring& ring) {
  auto out = nlohmann::json::array();
  for (const auto& key : ring.keys()) {
    out.push_back({{"fingerprint", gossip::key_fingerprint(key)}, {"primary", key == ring.primary()}});
  }
  return out;
}

std::vector<keyring_target> keyring_targets(const std::vector<gossip::member_snapshot>& members,
                                            std::uint32_t self_id) {
  std::vector<keyring_target> out;
  for (const auto& snap : members) {
    const auto& m = snap.m;
    if (m.state != gossip::member_state::alive && m.state != gossip::member_state::suspect) continue;
    keyring_target t;
    t.node_id = m.id.value();
    t.uuid_hex = to_hex(m.uuid);
    t.self = t.node_id == self_id;
    const auto meta = decode_node_meta(m.meta);
    t.admin_addr = meta ? meta->admin_addr : std::string();
    if (!t.self) {
      const auto admin_ip = ip_of(t.admin_addr);
      if (admin_ip.empty()) {
        t.unusable = "no admin address in its gossip metadata";
      } else if (is_loopback_ip(admin_ip) && !is_loopback_ip(ip_of(m.addr))) {
        t.unusable = "its admin endpoint listens on loopback only (set admin_bind on it)";
      }
    }
    out.push_back(std::move(t));
  }
  std::ranges::stable_sort(out, [](const keyring_target& a, const keyring_target& b) {
    return a.self != b.self ? a.self : a.node_id < b.node_id;
  });
  return out;
}

std::string_view to_string(keyring_outcome outcome) {
  switch (outcome) {
    case keyring_outcome::ok: return "ok";
    case keyring_outcome::refused: return "refused";
    case keyring_outcome::unreachable: return "unreachable";
    case keyring_outcome::error: return "error";
  }
  return "error";
}

keyring_node_result interpret_keyring_answer(const keyring_target& target, std::optional<int> status,
                                             std::string_view body, std::string_view transport_error) {
  keyring_node_result r{target.node_id, target.admin_addr, keyring_outcome::error, {}, {}};
  if (!status) {
    r.outcome = keyring_outcome::unreachable;
    r.error = std::string(transport_error);
    return r;
  }
  if (*status == 401) {
    r.error = "401 unauthorized: this node does not share the admin token (use one admin_token_file everywhere)";
    return r;
  }
  if (*status == 409) {
    r.outcome = keyring_outcome::refused;
    r.error = error_of(body);
    return r;
  }
  if (*status != 200) {
    r.error = "HTTP " + std::to_string(*status) + ": " + error_of(body);
    return r;
  }
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array() || !doc.contains("node_id") ||
      !doc.contains("uuid")) {
    r.error = "the answer is not a keyring";
    return r;
  }
  // The address came from gossip; make sure the node that answered is the member we meant.
  if (doc["node_id"] != target.node_id || doc["uuid"] != target.uuid_hex) {
    r.error = "another node answers at " + target.admin_addr;
    return r;
  }
  r.outcome = keyring_outcome::ok;
  r.keys_json = doc["keys"].dump();
  return r;
}

nlohmann::json keyring_report(keyring_action action, const std::vector<keyring_node_result>& results) {
  auto nodes = nlohmann::json::array();
  std::size_t ok = 0;
  for (const auto& r : results) {
    nlohmann::json n{{"node_id", r.node_id}, {"admin_addr", r.admin_addr}, {"result", to_string(r.outcome)}};
    if (r.outcome == keyring_outcome::ok) {
      ++ok;
      n["keys"] = nlohmann::json::parse(r.keys_json, nullptr, false);
    } else {
      n["error"] = r.error;
    }
    nodes.push_back(std::move(n));
  }
  return {{"action", to_string(action)}, {"nodes", nodes}, {"ok", ok}, {"failed", results.size() - ok}};
}

nlohmann::json keyring_node_answer(std::uint32_t node_id, std::string_view uuid_hex, const gossip::keyring& ring) {
  return {{"node_id", node_id}, {"uuid", uuid_hex}, {"keys", keyring_json(ring)}};
}

std::expected<keyring_report_text, std::string> format_keyring_report(const nlohmann::json& report) {
  if (!report.is_object() || !report.contains("nodes") || !report["nodes"].is_array() ||
      !report.contains("failed") || !report["failed"].is_number_unsigned()) {
    return std::unexpected("the answer is not a keyring report");
  }
  keyring_report_text out;
  for (const auto& n : report["nodes"]) {
    if (!n.is_object()) return std::unexpected("the answer is not a keyring report");
    out.text += "node " + n.value("node_id", nlohmann::json(0)).dump() + " " + n.value("admin_addr", "") + ": " +
                n.value("result", "?");
    if (n.value("result", "") == "ok" && n.contains("keys") && n["keys"].is_array()) {
      for (const auto& k : n["keys"]) {
        if (!k.is_object()) continue;
        out.text += " " + k.value("fingerprint", "?") + (k.value("primary", false) ? "(primary)" : "");
      }
    } else {
      out.text += ": " + n.value("error", "");
    }
    out.text += "\n";
  }
  const auto failed = report["failed"].get<std::uint64_t>();
  out.all_ok = failed == 0 && !report["nodes"].empty();
  out.text += std::to_string(report["nodes"].size() - failed) + " of " + std::to_string(report["nodes"].size()) +
              " node(s) ok\n";
  return out;
}

}  // namespace chronik::daemon
