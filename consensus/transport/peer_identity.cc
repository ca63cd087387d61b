#include "consensus/transport/peer_identity.h"

#include <charconv>
#include <cstdint>

namespace chronik::consensus {

std::string node_certificate_name(node_id id) {
  return std::string(node_name_prefix) + std::to_string(id.value());
}

std::optional<node_id> node_id_from_certificate_name(std::string_view name) {
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

sender_verdict check_sender(peer_auth auth, node_id certified, node_id claimed) {
  if (auth == peer_auth::plaintext) return sender_verdict::accept;
  return certified == claimed && certified != no_node ? sender_verdict::accept
                                                      : sender_verdict::claim_mismatch;
}

}  // namespace chronik::consensus
