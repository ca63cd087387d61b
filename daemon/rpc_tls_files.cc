#include "daemon/rpc_tls_files.h"

#include <system_error>
#include <tuple>

#include "consensus/transport/peer_identity.h"
#include "daemon/durable_file.h"
#include "daemon/node_certs.h"
#include "daemon/node_identity.h"

namespace chronik::daemon {
namespace {

// PEM files of a CA, a certificate or a key are a few KiB; anything far larger is not one.
constexpr std::size_t max_pem_bytes = 1 << 20;

}  // namespace

std::expected<rpc_tls_pems, std::string> load_rpc_tls_files(const rpc_tls_paths& paths, node_id self) {
  const std::tuple<const char*, const std::filesystem::path*> files[] = {
      {"rpc_tls_ca_file", &paths.ca_file}, {"rpc_tls_cert_file", &paths.cert_file}, {"rpc_tls_key_file", &paths.key_file}};
  std::string texts[3];
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& [key, path] = files[i];
    auto text = read_small_file(*path, max_pem_bytes);
    if (!text) return std::unexpected(std::string(key) + ": " + text.error());
    if (!*text) return std::unexpected(std::string(key) + ": " + path->string() + " does not exist");
    texts[i] = std::move(**text);
  }
  if (auto ok = check_node_tls(texts[0], texts[1], texts[2], self); !ok) {
    const auto& [key, path] = files[static_cast<std::size_t>(ok.error().file)];
    return std::unexpected(std::string(key) + ": " + path->string() + ": " + ok.error().text);
  }
  return rpc_tls_pems{std::move(texts[0]), std::move(texts[1]), std::move(texts[2])};
}

std::expected<std::vector<std::string>, std::string> make_certs(const certs_options& opts) {
  std::vector<std::string> lines;
  std::error_code ec;
  std::filesystem::create_directories(opts.dir, ec);
  if (ec) return std::unexpected("--dir " + opts.dir.string() + ": " + ec.message());
  if (opts.days == 0) return std::unexpected("--days must be positive");
  std::string bound_uuid;  // hex; empty: the certificates bind the node id only
  if (!opts.data_dir.empty()) {
    if (opts.nodes.size() != 1) return std::unexpected("--data-dir binds one node's certificate: give exactly one --node");
    auto uuid = load_or_create_node_uuid(opts.data_dir);
    if (!uuid) return std::unexpected("--data-dir: " + uuid.error());
    bound_uuid = uuid->hex();
  }
  auto existing = [](const std::filesystem::path& p) { return std::filesystem::exists(p); };
  const auto ca_crt = opts.dir / "ca.crt";
  const auto ca_key = opts.dir / "ca.key";
  pem_pair ca;
  if (existing(ca_crt) && existing(ca_key)) {
    auto c = read_small_file(ca_crt, max_pem_bytes);
    auto k = read_small_file(ca_key, max_pem_bytes);
    if (!c || !*c) return std::unexpected(ca_crt.string() + ": " + (c ? "cannot read" : c.error()));
    if (!k || !*k) return std::unexpected(ca_key.string() + ": " + (k ? "cannot read" : k.error()));
    ca = {std::move(**c), std::move(**k)};
    lines.push_back("kept " + ca_crt.string());
  } else if (existing(ca_crt) || existing(ca_key)) {
    // Half a CA: making a new one would orphan every certificate the old one signed.
    return std::unexpected(opts.dir.string() + " holds only one of ca.crt and ca.key; restore the other or remove both");
  } else {
    auto made = make_ca(opts.days * 4);  // outlives the node certificates it signs
    if (!made) return std::unexpected(made.error());
    ca = std::move(*made);
    if (auto r = write_file_durably(opts.dir, "ca.key", ca.key_pem, 0600); !r) return std::unexpected(r.error());
    if (auto r = write_file_durably(opts.dir, "ca.crt", ca.cert_pem, 0644); !r) return std::unexpected(r.error());
    lines.push_back("wrote " + ca_crt.string() + " and " + ca_key.string());
  }
  for (std::uint32_t raw : opts.nodes) {
    const node_id id{raw};
    const std::string base = "node-" + std::to_string(raw);
    const auto crt = opts.dir / (base + ".crt");
    if (!opts.force && existing(crt) && existing(opts.dir / (base + ".key"))) {
      auto kept = read_small_file(crt, max_pem_bytes);
      auto identity = kept && *kept ? certificate_identity(**kept) : std::unexpected(std::string("unreadable"));
      // Without --data-dir any certificate for the node is kept; with it, only one that binds
      // that directory's uuid (a wiped data directory needs a new certificate).
      if (opts.data_dir.empty() || (identity && identity->node_uuid == bound_uuid)) {
        lines.push_back("kept " + crt.string());
        continue;
      }
      lines.push_back("replacing " + crt.string() + ": it does not bind the node_uuid of " + opts.data_dir.string());
    }
    auto made = make_node_certificate(ca, id, bound_uuid, opts.days);
    if (!made) return std::unexpected("node " + std::to_string(raw) + ": " + made.error());
    if (auto r = write_file_durably(opts.dir, base + ".key", made->key_pem, 0600); !r) return std::unexpected(r.error());
    if (auto r = write_file_durably(opts.dir, base + ".crt", made->cert_pem, 0644); !r) return std::unexpected(r.error());
    lines.push_back("wrote " + crt.string() + " (" + consensus::node_certificate_name(id, bound_uuid) + ")");
  }
  return lines;
}

}  // namespace chronik::daemon
