// Certificates for mutual TLS between nodes (docs/security.md "Between nodes: mutual TLS"), in
// memory: a development CA and node certificates made with OpenSSL's C API, and the checks
// `start` runs on the configured PEM text before the transport sees it. The transport's own rules
// for names live in consensus/transport/peer_identity.h; this file only makes and reads X.509.
// Files are daemon/rpc_tls_files.h's job.
#pragma once

#include <cstdint>
#include <expected>
#include <string>

#include "base/node_id.h"
#include "consensus/transport/peer_identity.h"

namespace chronik::daemon {

// PEM text of one certificate and its private key.
struct pem_pair {
  std::string cert_pem;
  std::string key_pem;
};

// A new self-signed CA: ECDSA P-256, CN "chronik cluster CA <random hex>", basicConstraints
// CA:TRUE (critical), keyUsage keyCertSign+cRLSign, valid `days` days from now.
std::expected<pem_pair, std::string> make_ca(std::uint32_t days);

// A node certificate signed by `ca`: ECDSA P-256, DNS name "chronik-node-<id>", common name
// "chronik-node-<id>.<uuid>" when `node_uuid` (32 lowercase hex digits) is given and "chronik-node-<id>"
// when it is empty (peer_identity.h), keyUsage digitalSignature, extendedKeyUsage
// serverAuth+clientAuth (every node is both), a random 128-bit serial, valid `days` days from now.
std::expected<pem_pair, std::string> make_node_certificate(const pem_pair& ca, node_id id, std::string_view node_uuid,
                                                           std::uint32_t days);

// The identity a certificate's subject common name names (peer_identity.h), or why not.
std::expected<consensus::certified_identity, std::string> certificate_identity(const std::string& cert_pem);

// The checks `start` runs on the configured PEM text (daemon/rpc_tls_files.h reads the files):
// each parses; the key is the certificate's; the certificate verifies against the CA (chain,
// validity dates); and it names `self`. `file` says which of the three is at fault.
enum class tls_file : std::uint8_t { ca, cert, key };
struct tls_check_error {
  tls_file file;
  std::string text;
};
std::expected<void, tls_check_error> check_node_tls(const std::string& ca_pem, const std::string& cert_pem,
                                                    const std::string& key_pem, node_id self);

// The check `run_node` adds once the data directory's node_uuid is known: a certificate that
// binds a uuid must bind this one (a wiped data directory has a new uuid and needs a new
// certificate). A certificate that binds the id only passes.
std::expected<void, std::string> check_certificate_uuid(const std::string& cert_pem, std::string_view node_uuid);

}  // namespace chronik::daemon
