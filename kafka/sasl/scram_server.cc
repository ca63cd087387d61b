#include "kafka/sasl/scram_server.h"

#include <optional>
#include <span>
#include <vector>

#include "base/assert.h"
#include "kafka/sasl/base64.h"

namespace chronik::kafka::sasl {
namespace {

// RFC 5802 "printable": %x21-2B / %x2D-7E, every visible ASCII character but ','.
bool printable(std::string_view s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    const std::size_t comma = s.find(',');
    out.push_back(s.substr(0, comma));
    if (comma == std::string_view::npos) return out;
    s.remove_prefix(comma + 1);
  }
}

// The value of an attribute "k=value", or nullopt when the part is not attribute `k`.
std::optional<std::string_view> attribute(std::string_view part, char k) {
  if (part.size() < 2 || part[0] != k || part[1] != '=') return std::nullopt;
  return part.substr(2);
}

// RFC 5802 saslname: UTF-8 where ',' is written "=2C" and '=' is written "=3D"; any other '=' is
// malformed.
std::optional<std::string> decode_saslname(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ',') return std::nullopt;
    if (s[i] != '=') {
      out += s[i];
      continue;
    }
    const std::string_view code = s.substr(i + 1, 2);
    if (code == "2C") {
      out += ',';
    } else if (code == "3D") {
      out += '=';
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

// Kafka's extensions (KIP-84, KIP-48): "key=value" pairs after the nonce. Only "tokenauth" means
// something (a delegation token instead of a password), and chronik issues no tokens.
std::expected<void, std::string> check_extensions(std::span<const std::string_view> parts) {
  for (std::string_view p : parts) {
    const std::size_t eq = p.find('=');
    if (eq == 0 || eq == std::string_view::npos) return std::unexpected("invalid SCRAM extension '" + std::string(p) + "'");
    const std::string_view key = p.substr(0, eq);
    if (key == "tokenauth" && p.substr(eq + 1) == "true") {
      return std::unexpected("delegation token authentication is not supported");
    }
  }
  return {};
}

}  // namespace

scram_server::scram_server(scram_mechanism m, std::string server_nonce)
    : mechanism_(m), server_nonce_(std::move(server_nonce)) {
  CHRONIK_EXPECTS(server_nonce_.size() >= 16 && printable(server_nonce_), "the server nonce is printable and long enough");
}

std::unexpected<std::string> scram_server::fail(std::string why) {
  stage_ = stage::failed;
  return std::unexpected(std::move(why));
}

std::expected<std::string, std::string> scram_server::client_first(std::string_view message) {
  if (stage_ != stage::client_first) return fail("unexpected SCRAM client-first message");
  if (message.size() > scram_max_message_bytes) return fail("SCRAM client-first message too long");
  // gs2-header: cbind-flag "," [authzid] ","
  const std::size_t c1 = message.find(',');
  const std::size_t c2 = c1 == std::string_view::npos ? c1 : message.find(',', c1 + 1);
  if (c2 == std::string_view::npos) return fail("invalid SCRAM client-first message: no gs2 header");
  const std::string_view flag = message.substr(0, c1);
  const std::string_view authzid_part = message.substr(c1 + 1, c2 - c1 - 1);
  if (flag.starts_with("p=")) return fail("SCRAM channel binding is not supported");
  if (flag != "n" && flag != "y") return fail("invalid SCRAM client-first message: bad gs2 channel binding flag");
  std::optional<std::string> authzid;
  if (!authzid_part.empty()) {
    auto a = attribute(authzid_part, 'a');
    if (!a) return fail("invalid SCRAM client-first message: bad authorization id");
    authzid = decode_saslname(*a);
    if (!authzid) return fail("invalid SCRAM client-first message: bad authorization id");
  }
  const std::string_view bare = message.substr(c2 + 1);
  const auto parts = split_commas(bare);
  if (!parts.empty() && parts[0].starts_with("m=")) return fail("SCRAM mandatory extensions are not supported");
  if (parts.size() < 2) return fail("invalid SCRAM client-first message: expected n= and r=");
  const auto user_raw = attribute(parts[0], 'n');
  const auto cnonce = attribute(parts[1], 'r');
  if (!user_raw || !cnonce) return fail("invalid SCRAM client-first message: expected n= and r=");
  auto user = decode_saslname(*user_raw);
  if (!user || user->empty() || user->size() > scram_max_user_bytes) {
    return fail("invalid SCRAM client-first message: bad user name");
  }
  if (cnonce->empty() || !printable(*cnonce)) return fail("invalid SCRAM client-first message: bad nonce");
  if (auto ext = check_extensions(std::span(parts).subspan(2)); !ext) return fail(ext.error());
  // Kafka, like RFC 5802 section 5.1 allows, lets a user act only as itself.
  if (authzid && *authzid != *user) return fail("authorization id must be the same as the user name");
  gs2_header_ = std::string(message.substr(0, c2 + 1));
  client_first_bare_ = std::string(bare);
  nonce_ = std::string(*cnonce) + server_nonce_;
  stage_ = stage::server_first;
  return std::move(*user);
}

std::string scram_server::server_first(const scram_credential& credential) {
  CHRONIK_EXPECTS(stage_ == stage::server_first, "server_first follows a successful client_first");
  CHRONIK_EXPECTS(credential.mechanism == mechanism_, "the credential is of this exchange's mechanism");
  credential_ = credential;
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(credential.salt) + ",i=" + std::to_string(credential.iterations);
  stage_ = stage::client_final;
  return server_first_;
}

std::expected<std::string, std::string> scram_server::client_final(std::string_view message) {
  if (stage_ != stage::client_final) return fail("unexpected SCRAM client-final message");
  if (message.size() > scram_max_message_bytes) return fail("SCRAM client-final message too long");
  // The proof is the last attribute; everything before ",p=" is signed (client-final-message-without-proof).
  const std::size_t proof_at = message.rfind(",p=");
  if (proof_at == std::string_view::npos) return fail("invalid SCRAM client-final message: no proof");
  const std::string_view without_proof = message.substr(0, proof_at);
  const auto parts = split_commas(without_proof);
  if (parts.size() < 2) return fail("invalid SCRAM client-final message: expected c=, r= and p=");
  const auto binding = attribute(parts[0], 'c');
  const auto nonce = attribute(parts[1], 'r');
  if (!binding || !nonce) return fail("invalid SCRAM client-final message: expected c=, r= and p=");
  // Without channel binding, c= is the gs2 header the client-first message began with.
  const auto header = base64_decode(*binding);
  if (!header || *header != gs2_header_) return fail("invalid SCRAM client-final message: channel binding does not match");
  // Kafka's ScramSaslServer accepts a nonce that ends with the server-first one, and librdkafka
  // relies on it: it sends its client nonce again in front of the whole nonce it was given. The
  // proof is over the message as sent, so this admits nothing a proof does not.
  if (!nonce->ends_with(nonce_)) return fail("invalid SCRAM client-final message: nonce does not match");
  const auto proof = base64_decode(message.substr(proof_at + 3));
  if (!proof) return fail("invalid SCRAM client-final message: the proof is not base64");
  // RFC 5802 section 3: ClientSignature = HMAC(StoredKey, AuthMessage); ClientKey = proof XOR
  // ClientSignature; the proof is good when H(ClientKey) is StoredKey.
  const std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  const std::string signature = scram_hmac(mechanism_, credential_.stored_key, auth_message);
  std::string client_key = *proof;
  const bool sized = client_key.size() == signature.size();
  if (sized) {
    for (std::size_t i = 0; i < client_key.size(); ++i) client_key[i] = static_cast<char>(client_key[i] ^ signature[i]);
  }
  const bool good = constant_time_equal(scram_hash(mechanism_, client_key), credential_.stored_key);
  if (!sized || !good) return fail("authentication failed: invalid credentials");
  stage_ = stage::done;
  return "v=" + base64_encode(scram_hmac(mechanism_, credential_.server_key, auth_message));
}

}  // namespace chronik::kafka::sasl
