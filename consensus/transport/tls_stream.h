// The TLS pieces of the transport's KJ side (internal to consensus/transport, KJ thread only):
// the kj::TlsContext built from the configured PEM text, the stream that gives back the one byte
// read to tell a TLS handshake from plaintext Cap'n Proto, and the one that hands the TLS stream
// whole messages (docs/transport.md "TLS").
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include <kj/async-io.h>
#include <kj/compat/tls.h>
#include <kj/vector.h>

#include "consensus/transport/transport_config.h"
#include "consensus/transport/transport_error.h"

namespace chronik::consensus {

// The CAs, this node's key pair and the context made from them; kj::TlsContext keeps pointers
// into the options it was built with, so they live together.
struct tls_material {
  kj::Vector<kj::TlsCertificate> cas;
  kj::TlsKeypair keypair;
  kj::Own<kj::TlsContext> context;

  explicit tls_material(const transport_tls& cfg);
};

// The CA file may hold several certificates (a bundle, old and new CA while the CA is rotated,
// docs/security.md): each PEM certificate block of `pem`, in order, at most max_trusted_cas.
inline constexpr std::size_t max_trusted_cas = 16;
std::vector<std::string> split_pem_certificates(std::string_view pem);

// Parses the PEM text and builds the context: only the cluster CA is trusted (not the system
// store), clients must present a certificate (verifyClients), TLS 1.2 at least. Never throws.
std::expected<kj::Own<tls_material>, transport_error> make_tls_material(const transport_tls& cfg);

// A TLS record starts with the handshake content type 22 (RFC 8446 §5.1, RFC 5246 §6.2.1). A
// Cap'n Proto stream starts with its first message's segment count minus one (a little-endian
// uint32); the first message on an RPC connection is a small Bootstrap of one segment, so its
// first byte is 0, never 22.
inline constexpr std::uint8_t tls_handshake_record_type = 22;

// Forwards every call to `inner`; the streams below override what they change.
class forwarding_stream : public kj::AsyncIoStream {
 public:
  explicit forwarding_stream(kj::Own<kj::AsyncIoStream> inner) : inner_(kj::mv(inner)) {}

  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes, size_t max_bytes) override {
    return inner_->tryRead(buffer, min_bytes, max_bytes);
  }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }
  void abortRead() override { inner_->abortRead(); }
  void getsockopt(int level, int option, void* value, kj::uint* length) override {
    inner_->getsockopt(level, option, value, length);
  }
  void setsockopt(int level, int option, const void* value, kj::uint length) override {
    inner_->setsockopt(level, option, value, length);
  }
  void getsockname(struct sockaddr* addr, kj::uint* length) override {
    inner_->getsockname(addr, length);
  }
  void getpeername(struct sockaddr* addr, kj::uint* length) override {
    inner_->getpeername(addr, length);
  }

 protected:
  kj::Own<kj::AsyncIoStream> inner_;
};

// Returns `first` before the rest of `inner`: the byte the listener read to choose between TLS
// and plaintext goes back to whoever reads the stream next.
class prefixed_stream final : public forwarding_stream {
 public:
  prefixed_stream(kj::Own<kj::AsyncIoStream> inner, kj::byte first)
      : forwarding_stream(kj::mv(inner)), first_(first) {}
  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes, size_t max_bytes) override;

 private:
  kj::byte first_;
  bool first_taken_ = false;
};

// Joins the pieces of one write into one buffer before they reach the TLS stream. Cap'n Proto
// writes a message as its segment table and segments, and kj's TLS stream turns each piece into
// its own SSL_write, so its own TLS record and socket write; one buffer is one record per 16 KiB
// instead. The copy costs less than the records it saves (docs/transport.md "TLS").
class coalescing_stream final : public forwarding_stream {
 public:
  using forwarding_stream::forwarding_stream;
  using forwarding_stream::write;
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override;
};

}  // namespace chronik::consensus
