// The files of mutual TLS between nodes: the three the config names (read and checked at start)
// and the ones `chronik-server certs` writes (docs/security.md "Between nodes: mutual TLS").
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <vector>

#include "base/node_id.h"

namespace chronik::daemon {

// Reads the configured files and runs check_node_tls (node_certs.h) on them. The error starts
// with the config key of the file at fault: "rpc_tls_cert_file: ...".
struct rpc_tls_paths {
  std::filesystem::path ca_file;
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
};
struct rpc_tls_pems {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};
std::expected<rpc_tls_pems, std::string> load_rpc_tls_files(const rpc_tls_paths& paths, node_id self);

// `chronik-server certs --dir DIR [--node ID]... [--data-dir DATA] [--days N] [--force]`: makes
// DIR/ca.crt and DIR/ca.key unless both exist (then they sign), and DIR/node-<id>.crt and .key for
// each id; existing node files are kept unless `force`. Keys are written with mode 0600.
// With `data_dir` (one node only) the certificate also binds that data directory's node_uuid,
// which is created there first if the node never started (peer_identity.h); a kept certificate
// that binds no uuid or another one is replaced.
struct certs_options {
  std::filesystem::path dir;
  std::vector<std::uint32_t> nodes;
  std::uint32_t days = 825;
  bool force = false;
  std::filesystem::path data_dir;
};
// Returns the lines to print (one per file written or kept), or one error line.
std::expected<std::vector<std::string>, std::string> make_certs(const certs_options& opts);

}  // namespace chronik::daemon
