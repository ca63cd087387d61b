// The server-side TLS context of the Kafka listeners (docs/security.md "Kafka listeners and TLS"):
// the node's certificate and key, the CA for client certificates, and Kafka's ssl.client.auth.
// TLS 1.2 and 1.3 only, no renegotiation. Built once at start; every TLS listener shares it.
#pragma once

#include <expected>
#include <memory>
#include <string>

#include <asio/ssl/context.hpp>

#include "kafka/server/server_config.h"

namespace chronik::kafka {

// The error is one log-ready line naming the file and OpenSSL's reason.
std::expected<std::unique_ptr<asio::ssl::context>, std::string> make_tls_context(const tls_config& cfg);

}  // namespace chronik::kafka
