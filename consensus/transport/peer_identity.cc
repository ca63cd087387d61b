#include "consensus/transport/peer_identity.h"

#include <cassert>
#include <charconv>
#include <cstdint>

namespace chronik::consensus {

// Lowercase only: one uuid has one spelling, as one node has one name.
bool is_node_uuid_hex(std::string_view text) {
  return text.size() == node_uuid_hex_size && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string node_host_name(node_id id) {
  return std::string(node_name_prefix) + std::to_string(id.value());
}

std::string node_certificate_name(node_id id, std::string_view node_uuid) {
  assert(node_uuid.empty() || is_node_uuid_hex(node_uuid));
  std::string name = node_host_name(id);
  if (node_uuid.empty()) return name;
  name.push_back('.');
  name.append(node_uuid);
  return name;
}

std::optional<node_id> node_id_from_host_name(std::string_view name) {
  if (!name.starts_with(node_name_prefix)) return std::nullopt;
  const std::string_view digits = name.substr(node_name_prefix.size());
  // from_chars accepts leading zeros; refusing them gives every node exactly one name.
  if (digits.empty() || digits.size() > 10 || digits.front() == '0') return std::nullopt;
  if (digits.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  auto id = node_id_from_u64(value);
  if (!id || *id == no_node) return std::nullopt;
  return id;
}

std::optional<certified_identity> identity_from_certificate_name(std::string_view name) {
  const auto dot = name.find('.');
  auto node = node_id_from_host_name(name.substr(0, dot));
  if (!node) return std::nullopt;
  if (dot == std::string_view::npos) return certified_identity{*node, {}};
  const std::string_view uuid = name.substr(dot + 1);
  if (!is_node_uuid_hex(uuid)) return std::nullopt;
  return certified_identity{*node, std::string(uuid)};
}

sender_verdict check_sender(peer_auth auth, const certified_identity& certified, node_id claimed,
                            std::string_view claimed_uuid) {
  if (auth == peer_auth::plaintext) return sender_verdict::accept;
  if (certified.node == no_node || certified.node != claimed) return sender_verdict::claim_mismatch;
  if (!certified.node_uuid.empty() && certified.node_uuid != claimed_uuid) return sender_verdict::uuid_mismatch;
  return sender_verdict::accept;
}

}  // namespace chronik::consensus
