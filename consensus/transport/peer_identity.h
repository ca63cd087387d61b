// How a node's identity is written into its TLS certificate, and the one rule that ties a Raft
// batch to the certificate it arrived under (docs/security.md "Between nodes: mutual TLS").
// Pure: names and numbers only, no OpenSSL and no KJ; the KJ side reads the certificate's common
// name and asks here.
//
// A node certificate carries two names:
// - The DNS subject alternative name "chronik-node-<id>". It is what a dialling node checks
//   (RFC 6125 host name matching, done by OpenSSL inside kj::TlsContext::wrapClient): a peer link
//   to node 3 only completes its handshake with a certificate for node 3.
// - The subject common name, which the receiving node reads (kj::TlsPeerIdentity::getCommonName)
//   to learn who is calling. It is "chronik-node-<id>.<uuid>" when the certificate binds the
//   node's uuid too (32 lowercase hex digits of the node_uuid in the node's data directory), or
//   "chronik-node-<id>" when it binds the id only. `chronik-server certs --data-dir` issues the
//   first kind: the uuid is created in the data directory before the node's first start.
//   A certificate that binds a uuid speaks only for that incarnation of the node: a node whose
//   data directory was wiped has a new uuid and needs a new certificate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "consensus/core/types.h"

namespace chronik::consensus {

inline constexpr std::string_view node_name_prefix = "chronik-node-";
// A node_uuid as the transport carries it (transport_config::node_uuid): 32 lowercase hex digits.
inline constexpr std::size_t node_uuid_hex_size = 32;
bool is_node_uuid_hex(std::string_view text);

// "chronik-node-<id>" for a non-zero id: the DNS name a dialler checks.
std::string node_host_name(node_id id);

// The common name: "chronik-node-<id>" for an empty `node_uuid`, else "chronik-node-<id>.<uuid>".
// Precondition: `node_uuid` is empty or is_node_uuid_hex.
std::string node_certificate_name(node_id id, std::string_view node_uuid = {});

// The node id named by a host name: exactly "chronik-node-" and a decimal id in 1..2^32-1
// without sign or leading zeros. Anything else (another prefix, trailing text,
// "chronik-node-0", "chronik-node-007", an id too large) is nullopt, so one name maps to one node
// and one node to one name.
std::optional<node_id> node_id_from_host_name(std::string_view name);

// Who a certificate's common name speaks for.
struct certified_identity {
  node_id node = no_node;
  std::string node_uuid;  // 32 lowercase hex digits, or empty when the certificate binds the id only
  friend bool operator==(const certified_identity&, const certified_identity&) = default;
};

// The identity a common name names: a host name as above, optionally followed by "." and
// exactly 32 lowercase hex digits. Anything else is nullopt.
std::optional<certified_identity> identity_from_certificate_name(std::string_view name);

// Who may speak for whom on one inbound connection.
enum class peer_auth : std::uint8_t {
  plaintext,      // no TLS on this connection (only while rpc_tls_verify_incoming is off)
  authenticated,  // a TLS connection whose certificate names `certified`
};

enum class sender_verdict : std::uint8_t {
  accept,          // plaintext connection (not authenticated), or the claim matches
  claim_mismatch,  // the batch claims another node than the certificate names
  uuid_mismatch,   // the certificate binds a node_uuid and the batch claims another one
};

// The decision on one batch: a TLS peer may only send batches (and messages, whose `from` the
// codec already ties to the batch's sender) as the node, and the node_uuid if the certificate
// binds one, that its certificate names.
sender_verdict check_sender(peer_auth auth, const certified_identity& certified, node_id claimed,
                            std::string_view claimed_uuid);

}  // namespace chronik::consensus
