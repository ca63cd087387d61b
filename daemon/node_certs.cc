#include "daemon/node_certs.h"

#include <memory>
#include <optional>
#include <vector>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "consensus/transport/peer_identity.h"

namespace chronik::daemon {
namespace {

// RAII for the OpenSSL objects used here; every error path frees what it made.
template <auto Free>
struct ossl_deleter {
  template <typename T>
  void operator()(T* p) const { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, ossl_deleter<EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, ossl_deleter<X509_free>>;
using bio_ptr = std::unique_ptr<BIO, ossl_deleter<BIO_free_all>>;
using bn_ptr = std::unique_ptr<BIGNUM, ossl_deleter<BN_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, ossl_deleter<X509_EXTENSION_free>>;
using store_ptr = std::unique_ptr<X509_STORE, ossl_deleter<X509_STORE_free>>;
using store_ctx_ptr = std::unique_ptr<X509_STORE_CTX, ossl_deleter<X509_STORE_CTX_free>>;

// consensus/transport's tls_stream.h max_trusted_cas: the transport trusts no more than these.
constexpr std::size_t max_bundle_cas = 16;

// The last OpenSSL error as text (and the queue cleared, so it cannot leak into the next call).
std::string ssl_error(const std::string& what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return what;
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return what + ": " + buf;
}

std::expected<pkey_ptr, std::string> new_p256_key() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) return std::unexpected(ssl_error("cannot generate a P-256 key"));
  return key;
}

std::expected<std::string, std::string> to_pem(X509* cert) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return std::unexpected(ssl_error("cannot write a certificate"));
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::expected<std::string, std::string> to_pem(EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  // PKCS#8, unencrypted: what kj::TlsPrivateKey reads.
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return std::unexpected(ssl_error("cannot write a private key"));
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::expected<x509_ptr, std::string> read_cert(const std::string& pem) {
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  x509_ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return std::unexpected(ssl_error("not a PEM certificate"));
  return cert;
}

std::expected<pkey_ptr, std::string> read_key(const std::string& pem) {
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  // No password callback: an encrypted key is refused rather than prompted for.
  pkey_ptr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return std::unexpected(ssl_error("not an unencrypted PEM private key"));
  return key;
}

std::expected<void, std::string> add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    return std::unexpected(ssl_error(std::string("cannot add extension ") + OBJ_nid2sn(nid)));
  return {};
}

// The fields every certificate here shares: version 3, a random serial, the validity window
// (from five minutes ago, for clocks a little behind), the subject CN and the public key.
std::expected<x509_ptr, std::string> new_cert(EVP_PKEY* key, const std::string& common_name, std::uint32_t days) {
  x509_ptr cert(X509_new());
  bn_ptr serial(BN_new());
  if (!cert || !serial || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400L) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1 ||
      X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) != 1) {
    return std::unexpected(ssl_error("cannot build a certificate"));
  }
  return cert;
}

std::expected<pem_pair, std::string> to_pems(X509* cert, EVP_PKEY* key) {
  auto c = to_pem(cert);
  if (!c) return std::unexpected(c.error());
  auto k = to_pem(key);
  if (!k) return std::unexpected(k.error());
  return pem_pair{std::move(*c), std::move(*k)};
}

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 0xf]);
  }
  return out;
}

std::optional<std::string> common_name(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (at < 0) return std::nullopt;
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at)));
  if (n < 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

}  // namespace

std::expected<pem_pair, std::string> make_ca(std::uint32_t days) {
  auto key = new_p256_key();
  if (!key) return std::unexpected(key.error());
  // A random suffix tells two development CAs apart in logs and `openssl x509 -text`.
  unsigned char tag[4];
  if (RAND_bytes(tag, sizeof tag) != 1) return std::unexpected(ssl_error("no random bytes"));
  auto cert = new_cert(key->get(), "chronik cluster CA " + hex(tag, sizeof tag), days);
  if (!cert) return std::unexpected(cert.error());
  X509* c = cert->get();
  if (X509_set_issuer_name(c, X509_get_subject_name(c)) != 1) return std::unexpected(ssl_error("cannot set the issuer"));
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"},
                            std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto r = add_ext(c, c, nid, value); !r) return std::unexpected(r.error());
  }
  if (X509_sign(c, key->get(), EVP_sha256()) == 0) return std::unexpected(ssl_error("cannot sign the CA"));
  return to_pems(c, key->get());
}

std::expected<pem_pair, std::string> make_node_certificate(const pem_pair& ca, node_id id, std::string_view node_uuid,
                                                           std::uint32_t days) {
  if (id == no_node) return std::unexpected("node id 0 is not a node");
  if (!node_uuid.empty() && !consensus::is_node_uuid_hex(node_uuid))
    return std::unexpected("a node_uuid is 32 lowercase hex digits");
  auto ca_cert = read_cert(ca.cert_pem);
  if (!ca_cert) return std::unexpected("CA certificate: " + ca_cert.error());
  auto ca_key = read_key(ca.key_pem);
  if (!ca_key) return std::unexpected("CA key: " + ca_key.error());
  if (X509_check_private_key(ca_cert->get(), ca_key->get()) != 1) {
    ERR_clear_error();
    return std::unexpected("the CA key does not belong to the CA certificate");
  }
  auto key = new_p256_key();
  if (!key) return std::unexpected(key.error());
  auto cert = new_cert(key->get(), consensus::node_certificate_name(id, node_uuid), days);
  if (!cert) return std::unexpected(cert.error());
  X509* c = cert->get();
  if (X509_set_issuer_name(c, X509_get_subject_name(ca_cert->get())) != 1)
    return std::unexpected(ssl_error("cannot set the issuer"));
  const std::string san = "DNS:" + consensus::node_host_name(id);
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                            std::pair{NID_key_usage, "critical,digitalSignature"},
                            std::pair{NID_ext_key_usage, "serverAuth,clientAuth"},
                            std::pair{NID_subject_alt_name, san.c_str()},
                            std::pair{NID_subject_key_identifier, "hash"},
                            std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto r = add_ext(c, ca_cert->get(), nid, value); !r) return std::unexpected(r.error());
  }
  if (X509_sign(c, ca_key->get(), EVP_sha256()) == 0) return std::unexpected(ssl_error("cannot sign the certificate"));
  return to_pems(c, key->get());
}

std::expected<consensus::certified_identity, std::string> certificate_identity(const std::string& cert_pem) {
  auto cert = read_cert(cert_pem);
  if (!cert) return std::unexpected(cert.error());
  auto cn = common_name(cert->get());
  if (!cn) return std::unexpected("the certificate has no subject common name");
  auto identity = consensus::identity_from_certificate_name(*cn);
  // The name comes from a file an operator chose; it is printable enough to quote in an error.
  if (!identity)
    return std::unexpected("the certificate's common name \"" + cn->substr(0, 80) +
                           "\" is not chronik-node-<id> or chronik-node-<id>.<node_uuid hex>");
  return std::move(*identity);
}

std::expected<void, std::string> check_certificate_uuid(const std::string& cert_pem, std::string_view node_uuid) {
  auto identity = certificate_identity(cert_pem);
  if (!identity) return std::unexpected(identity.error());
  if (identity->node_uuid.empty() || identity->node_uuid == node_uuid) return {};
  return std::unexpected("the certificate binds node_uuid " + identity->node_uuid +
                         " but this data directory's node_uuid is " + std::string(node_uuid) +
                         " (a wiped data directory needs a new certificate: chronik-server certs --node " +
                         std::to_string(identity->node.value()) + " --data-dir DIR --force)");
}

std::expected<void, tls_check_error> check_node_tls(const std::string& ca_pem, const std::string& cert_pem,
                                                    const std::string& key_pem, node_id self) {
  auto fail = [](tls_file file, std::string text) { return std::unexpected(tls_check_error{file, std::move(text)}); };
  // The CA file may be a bundle (old and new CA while the CA is rotated, docs/security.md).
  std::vector<x509_ptr> cas;
  {
    bio_ptr bio(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())));
    while (bio && cas.size() < max_bundle_cas) {
      x509_ptr one(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
      if (!one) break;
      cas.push_back(std::move(one));
    }
    ERR_clear_error();  // the read that ended the loop
  }
  if (cas.empty()) return fail(tls_file::ca, "not a PEM certificate");
  auto cert = read_cert(cert_pem);
  if (!cert) return fail(tls_file::cert, cert.error());
  auto key = read_key(key_pem);
  if (!key) return fail(tls_file::key, key.error());
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return fail(tls_file::key, "not the key of the certificate");
  }
  store_ptr store(X509_STORE_new());
  store_ctx_ptr ctx(X509_STORE_CTX_new());
  bool added = store != nullptr;
  for (const auto& ca : cas) added = added && X509_STORE_add_cert(store.get(), ca.get()) == 1;
  if (!added || !ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr) != 1)
    return fail(tls_file::ca, ssl_error("cannot build a certificate store"));
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return fail(tls_file::cert, std::string("does not verify against the CA: ") + X509_verify_cert_error_string(err));
  }
  auto identity = certificate_identity(cert_pem);
  if (!identity) return fail(tls_file::cert, identity.error());
  if (identity->node != self)
    return fail(tls_file::cert, "is for node " + std::to_string(identity->node.value()) + ", this node is " +
                                    std::to_string(self.value()));
  return {};
}

}  // namespace chronik::daemon
