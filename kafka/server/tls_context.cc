#include "kafka/server/tls_context.h"

#include <openssl/ssl.h>

namespace chronik::kafka {

std::expected<std::unique_ptr<asio::ssl::context>, std::string> make_tls_context(const tls_config& cfg) {
  // Asio reports OpenSSL failures by exception unless given an error_code: every call below takes
  // one, so nothing is thrown out of here.
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  // TLS 1.2 is the oldest version Kafka's clients still negotiate by default; renegotiation is
  // refused (a client could otherwise make the server redo the expensive half at will).
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) return std::unexpected("TLS: cannot require TLS 1.2");
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  asio::error_code ec;
  ctx->use_certificate_chain_file(cfg.cert_file, ec);
  if (ec) return std::unexpected("TLS certificate " + cfg.cert_file + ": " + ec.message());
  ctx->use_private_key_file(cfg.key_file, asio::ssl::context::pem, ec);
  if (ec) return std::unexpected("TLS key " + cfg.key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    return std::unexpected("TLS key " + cfg.key_file + " does not match the certificate " + cfg.cert_file);
  }
  if (cfg.client_auth == tls_client_auth::none) {
    ctx->set_verify_mode(asio::ssl::verify_none, ec);
    return ctx;
  }
  ctx->load_verify_file(cfg.ca_file, ec);
  if (ec) return std::unexpected("TLS CA " + cfg.ca_file + ": " + ec.message());
  // The CA names go into the CertificateRequest, so a client with several certificates picks the
  // one this CA signed (RFC 8446 §4.3.2 certificate_authorities).
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(cfg.ca_file.c_str())) SSL_CTX_set_client_CA_list(native, names);
  const auto mode = cfg.client_auth == tls_client_auth::required
                        ? asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert
                        : asio::ssl::verify_peer;
  ctx->set_verify_mode(mode, ec);
  if (ec) return std::unexpected("TLS: cannot set client authentication: " + ec.message());
  return ctx;
}

}  // namespace chronik::kafka
