// The pure parts of online gossip key rotation (docs/security.md "Key rotation"): what a keyring
// request says, what it does to a keyring, which members a cluster-wide request goes to, and how
// their answers add up. daemon/keyring_service.h moves the bytes; this file decides.
//
// As Consul's `keyring` command does through its agents, the node that takes a request applies it
// itself and forwards it to every live member's admin endpoint (`?scope=node`), then answers with
// one result per node. Only key fingerprints (gossip::key_fingerprint) ever leave a node.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "daemon/gossip_keyring_store.h"
#include "gossip/net/gossip_node.h"

namespace chronik::daemon {

std::string_view to_string(keyring_action action);
std::optional<keyring_action> parse_keyring_action(std::string_view name);

// The body of POST /v1/keyring/<action>: {"key": "<base64 of 32 bytes>"}. The error never
// echoes the body (it may hold a key).
std::expected<gossip::gossip_key, std::string> parse_keyring_body(std::string_view body);
// The body a client sends.
std::string keyring_body(std::string_view key_base64);

// memberlist's semantics, with one line for the operator on refusal: use or remove of a key not
// installed, remove of the primary, install into a full ring. list returns the ring unchanged.
std::expected<gossip::keyring, std::string> apply_keyring_action(const gossip::keyring& ring, keyring_action action,
                                                                 const gossip::gossip_key& key);

// [{"fingerprint": "1a2b3c4d", "primary": true}, ...], primary first.
nlohmann::json keyring_json(const gossip::keyring& ring);

// A member a cluster-wide request goes to.
struct keyring_target {
  std::uint32_t node_id = 0;
  std::string uuid_hex;
  std::string admin_addr;  // "IP:PORT" from its gossip metadata
  bool self = false;       // applied in process, not over HTTP
  std::string unusable;    // non-empty: why it cannot be asked (reported, not sent)
};
// Every alive or suspect member, self first; dead and departed members are left out (they get
// the ring again by a restart with the current gossip_key, or the offline CLI). A member whose
// admin endpoint is bound to loopback while its gossip address is not is unusable: asking its
// address would reach the asking host itself.
std::vector<keyring_target> keyring_targets(const std::vector<gossip::member_snapshot>& members,
                                            std::uint32_t self_id);

enum class keyring_outcome : std::uint8_t { ok, refused, unreachable, error };
std::string_view to_string(keyring_outcome outcome);

struct keyring_node_result {
  std::uint32_t node_id = 0;
  std::string admin_addr;
  keyring_outcome outcome = keyring_outcome::error;
  std::string error;       // empty when ok
  std::string keys_json;   // the node's keyring_json, serialized, when ok
};

// One member's answer to a forwarded request: `status` is nullopt when the request did not get
// an answer (`transport_error` says why). 200 must carry the target's node id and uuid (a
// different node at that address is an error) and its keys; 409 is a refusal; 401 a token that
// this cluster does not share.
keyring_node_result interpret_keyring_answer(const keyring_target& target, std::optional<int> status,
                                             std::string_view body, std::string_view transport_error);

// The answer to a cluster-wide request: {"action", "nodes": [...], "ok": n, "failed": n}.
nlohmann::json keyring_report(keyring_action action, const std::vector<keyring_node_result>& results);
// The node-scope answer body of a successful action.
nlohmann::json keyring_node_answer(std::uint32_t node_id, std::string_view uuid_hex, const gossip::keyring& ring);

// The CLI's text for a keyring_report, and whether every node succeeded.
struct keyring_report_text {
  std::string text;
  bool all_ok = false;
};
std::expected<keyring_report_text, std::string> format_keyring_report(const nlohmann::json& report);

}  // namespace chronik::daemon
