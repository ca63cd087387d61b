#include "consensus/transport/tls_stream.h"

#include <cstring>
#include <string>

namespace chronik::consensus {
namespace {

kj::TlsContext::Options context_options(kj::ArrayPtr<const kj::TlsCertificate> cas,
                                        const kj::TlsKeypair& keypair) {
  kj::TlsContext::Options options;
  // The cluster CA is the only authority: a certificate from a public CA names no node of ours.
  options.useSystemTrustStore = false;
  options.verifyClients = true;
  options.trustedCertificates = cas;
  options.defaultKeypair = keypair;
  // kj 0.9 names versions up to 1.2 and sets no maximum, so OpenSSL negotiates 1.3 when both
  // sides have it.
  options.minVersion = kj::TlsVersion::TLS_1_2;
  return options;
}

kj::Vector<kj::TlsCertificate> parse_cas(const std::string& pem) {
  kj::Vector<kj::TlsCertificate> out;
  for (const auto& one : split_pem_certificates(pem)) out.add(kj::StringPtr(one.c_str()));
  return out;
}

}  // namespace

std::vector<std::string> split_pem_certificates(std::string_view pem) {
  static constexpr std::string_view begin = "-----BEGIN CERTIFICATE-----";
  static constexpr std::string_view end = "-----END CERTIFICATE-----";
  std::vector<std::string> out;
  for (std::size_t at = pem.find(begin); at != std::string_view::npos && out.size() < max_trusted_cas;
       at = pem.find(begin, at)) {
    const std::size_t stop = pem.find(end, at);
    if (stop == std::string_view::npos) break;
    out.emplace_back(pem.substr(at, stop + end.size() - at));
    out.back().push_back('\n');
    at = stop + end.size();
  }
  return out;
}

tls_material::tls_material(const transport_tls& cfg)
    : cas(parse_cas(cfg.ca_pem)),
      keypair{kj::TlsPrivateKey(kj::StringPtr(cfg.key_pem.c_str())),
              kj::TlsCertificate(kj::StringPtr(cfg.cert_pem.c_str()))},
      context(kj::heap<kj::TlsContext>(context_options(cas.asPtr(), keypair))) {}

std::expected<kj::Own<tls_material>, transport_error> make_tls_material(const transport_tls& cfg) {
  if (split_pem_certificates(cfg.ca_pem).empty())
    return std::unexpected(transport_error{transport_errc::invalid_config, "tls: the CA PEM holds no certificate"});
  try {
    return kj::heap<tls_material>(cfg);
  } catch (const kj::Exception& e) {
    return std::unexpected(transport_error{
        transport_errc::invalid_config,
        std::string("tls: cannot use the CA, certificate or key: ") + e.getDescription().cStr()});
  }
}

kj::Promise<size_t> prefixed_stream::tryRead(void* buffer, size_t min_bytes, size_t max_bytes) {
  if (first_taken_ || max_bytes == 0) return inner_->tryRead(buffer, min_bytes, max_bytes);
  first_taken_ = true;
  auto* out = static_cast<kj::byte*>(buffer);
  out[0] = first_;
  if (min_bytes <= 1) return size_t{1};
  return inner_->tryRead(out + 1, min_bytes - 1, max_bytes - 1).then([](size_t n) { return n + 1; });
}

kj::Promise<void> coalescing_stream::write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
  if (pieces.size() == 1) return inner_->write(pieces[0].begin(), pieces[0].size());
  size_t total = 0;
  for (auto piece : pieces) total += piece.size();
  auto joined = kj::heapArray<kj::byte>(total);
  size_t at = 0;
  for (auto piece : pieces) {
    memcpy(joined.begin() + at, piece.begin(), piece.size());
    at += piece.size();
  }
  auto written = inner_->write(joined.begin(), joined.size());
  return written.attach(kj::mv(joined));
}

}  // namespace chronik::consensus
