// How a node's identity is written into its TLS certificate, and the one rule that ties a Raft
// batch to the certificate it arrived under (docs/security.md "Between nodes: mutual TLS").
// Pure: names and numbers only, no OpenSSL and no KJ; the KJ side reads the certificate's common
// name and asks here.
//
// A node certificate names its node id as the subject common name "chronik-node-<id>" and as a
// DNS subject alternative name with the same text. The DNS name is what a dialling node checks
// (RFC 6125 host name matching, done by OpenSSL inside kj::TlsContext::wrapClient): a peer link to
// node 3 only completes its handshake with a certificate for "chronik-node-3". The common name
// is what the receiving node reads (kj::TlsPeerIdentity::getCommonName) to learn which node
// is calling. The node uuid is not in the certificate: it changes whenever a data directory is
// wiped, while certificates are issued before the first start; the uuid check of
// docs/transport.md "Identity checks" runs on top of the authenticated node id instead.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "consensus/core/types.h"

namespace chronik::consensus {

inline constexpr std::string_view node_name_prefix = "chronik-node-";

// "chronik-node-<id>" for a non-zero id.
std::string node_certificate_name(node_id id);

// The node id named by a certificate's common name (or DNS name): exactly "chronik-node-" and a
// decimal id in 1..2^32-1 without sign or leading zeros. Anything else (another prefix, trailing
// text, "chronik-node-0", "chronik-node-007", an id too large) is nullopt, so one name maps to
// one node and one node to one name.
std::optional<node_id> node_id_from_certificate_name(std::string_view name);

// Who may speak for whom on one inbound connection.
enum class peer_auth : std::uint8_t {
  plaintext,      // no TLS on this connection (only while rpc_tls_verify_incoming is off)
  authenticated,  // a TLS connection whose certificate names `certified`
};

enum class sender_verdict : std::uint8_t {
  accept,             // plaintext connection (not authenticated), or the claim matches
  claim_mismatch,     // the batch claims another node than the certificate names
};

// The decision on one batch: a TLS peer may only send batches (and messages, whose `from` the
// codec already ties to the batch's sender) as the node its certificate names.
sender_verdict check_sender(peer_auth auth, node_id certified, node_id claimed);

}  // namespace chronik::consensus
