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

namespace chronik::daemon {

// PEM text of one certificate and its private key.
struct pem_pair {
  std::string cert_pem;
  std::string key_pem;
};

// A new self-signed CA: ECDSA P-256, CN "chronik cluster CA <random hex>", basicConstraints
// CA:TRUE (critical), keyUsage keyCertSign+cRLSign, valid `days` days from now.
std::expected<pem_pair, std::string> make_ca(std::uint32_t days);

// A node certificate signed by `ca`: ECDSA P-256, CN and DNS name "chronik-node-<id>",
// keyUsage digitalSignature, extendedKeyUsage serverAuth+clientAuth (every node is both), a
// random 128-bit serial, valid `days` days from now.
std::expected<pem_pair, std::string> make_node_certificate(const pem_pair& ca, node_id id, std::uint32_t days);

// The node id a certificate's subject common name names (peer_identity.h), or why not.
std::expected<node_id, std::string> certificate_node_id(const std::string& cert_pem);

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

}  // namespace chronik::daemon
