// The server side of one SCRAM exchange (RFC 5802 section 5, SCRAM-SHA-256 per RFC 7677 and
// SCRAM-SHA-512 alike), in Kafka's profile (KIP-84): no channel binding (the gs2 header is "n,," or
// "y,,", optionally with "a=" naming the user itself), extensions in the client-first message are
// allowed and ignored except Kafka's "tokenauth" (delegation tokens, which chronik does not issue)
// and RFC 5802's mandatory "m" (which a server that does not know it must refuse).
//
//   client-first  n,,n=user,r=cnonce             client_first() -> the user to look up
//   server-first  r=cnonce+snonce,s=salt,i=4096  server_first(credential)
//   client-final  c=biws,r=cnonce+snonce,p=proof client_final() -> checks the proof
//   server-final  v=signature                    (its result)
//
// Pure: the server's nonce comes from the caller, so the exchange is a function of its inputs and
// the RFC 7677 test vector replays exactly. Every malformed message is an error with a message
// that is safe to send to the client; the proof is compared in constant time.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "kafka/sasl/scram_credential.h"

namespace chronik::kafka::sasl {

// Longest SCRAM message accepted: real ones are under 300 bytes.
inline constexpr std::size_t scram_max_message_bytes = 4096;
inline constexpr std::size_t scram_max_user_bytes = 255;

class scram_server {
 public:
  // `server_nonce`: printable ASCII without ',' (RFC 5802 "printable"), at least 16 characters.
  scram_server(scram_mechanism m, std::string server_nonce);

  // Reads the client-first message; returns the user it names (saslname decoded).
  std::expected<std::string, std::string> client_first(std::string_view message);
  // The server-first message for the user's stored credential (its mechanism must be this one).
  // Only after client_first succeeded.
  std::string server_first(const scram_credential& credential);
  // Checks the client-final message and the client's proof; returns the server-final message.
  std::expected<std::string, std::string> client_final(std::string_view message);

  scram_mechanism mechanism() const { return mechanism_; }
  bool complete() const { return stage_ == stage::done; }

 private:
  enum class stage : std::uint8_t { client_first, server_first, client_final, done, failed };
  std::unexpected<std::string> fail(std::string why);

  scram_mechanism mechanism_;
  std::string server_nonce_;
  stage stage_ = stage::client_first;
  std::string gs2_header_;         // "n,," or "n,a=user," as the client sent it
  std::string client_first_bare_;  // the client-first message after the gs2 header
  std::string nonce_;              // client nonce + server nonce
  std::string server_first_;
  scram_credential credential_;
};

}  // namespace chronik::kafka::sasl
