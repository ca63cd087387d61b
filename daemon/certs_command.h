// `chronik-server certs`: a development CA and node certificates for mutual TLS between nodes
// (docs/security.md "Between nodes: mutual TLS"; the X.509 work is daemon/node_certs.h).
#pragma once

#include <CLI/CLI.hpp>

#include "daemon/rpc_tls_files.h"

namespace chronik::daemon {

// Registers `certs --dir DIR --node ID [--node ID]... [--data-dir DATA] [--days N] [--force]` on `app`.
CLI::App* add_certs_command(CLI::App& app, certs_options& opts);

// Writes the files and prints one line per file; exit code 0, or 1 with one error line.
int run_certs_command(const certs_options& opts);

}  // namespace chronik::daemon
