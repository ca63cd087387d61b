#include "kafka/server/client_stream.h"

#include <memory>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace chronik::kafka {

std::optional<std::string> client_stream::peer_common_name() {
  auto* s = std::get_if<tls_stream>(&stream_);
  if (s == nullptr) return std::nullopt;
  const std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(s->native_handle()), X509_free);
  if (!cert) return std::nullopt;
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (subject == nullptr) return std::nullopt;
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0) return std::nullopt;
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0) return std::nullopt;
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  // X.520 bounds a common name at 64 characters; a longer one is not a name we trust to print.
  if (cn.empty() || cn.size() > 256 || cn.find('\0') != std::string::npos) return std::nullopt;
  return cn;
}

}  // namespace chronik::kafka
