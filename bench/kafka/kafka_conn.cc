#include "bench/kafka/kafka_conn.h"

#include <array>
#include <stdexcept>
#include <string_view>

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/write.hpp>

#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/sasl_authenticate.h"
#include "kafka/protocol/messages/sasl_handshake.h"
#include "kafka/sasl/base64.h"
#include "kafka/sasl/scram_crypto.h"

namespace chronik::bench {
namespace {

using namespace chronik::kafka;
namespace sasl = chronik::kafka::sasl;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

// RFC 5802 section 5.1: in a saslname ',' is written "=2C" and '=' is written "=3D".
std::string saslname(std::string_view user) {
  std::string out;
  for (char ch : user) {
    if (ch == ',') out += "=2C";
    else if (ch == '=') out += "=3D";
    else out += ch;
  }
  return out;
}

// The value of attribute `key` ("r", "s", "i", "v", "e") in a SCRAM message "k=v,k=v,...".
std::string attribute(std::string_view message, char key) {
  while (!message.empty()) {
    const auto comma = message.find(',');
    const std::string_view part = message.substr(0, comma);
    if (part.size() >= 2 && part[0] == key && part[1] == '=') return std::string(part.substr(2));
    if (comma == std::string_view::npos) break;
    message.remove_prefix(comma + 1);
  }
  fail(std::string("SCRAM: the server's message has no '") + key + "=' attribute");
}

std::string xor_bytes(const std::string& a, const std::string& b) {
  std::string out(a.size(), '\0');
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = static_cast<char>(a[i] ^ b[i]);
  return out;
}

}  // namespace

kafka_conn::kafka_conn(const std::string& addr, const client_security& security) : socket_(io_) {
  const auto colon = addr.rfind(':');
  const std::string host = addr.substr(0, colon);
  asio::ip::tcp::resolver resolver(io_);
  asio::connect(socket_, resolver.resolve(host, addr.substr(colon + 1)));
  socket_.set_option(asio::ip::tcp::no_delay(true));
  if (security.uses_tls()) {
    tls_context_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    tls_context_->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                              asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    if (security.ca_file.empty()) fail("TLS needs --ca");
    tls_context_->load_verify_file(security.ca_file);
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *tls_context_);
    tls_->set_verify_mode(asio::ssl::verify_peer);
    tls_->set_verify_callback(asio::ssl::host_name_verification(host));
    asio::error_code ec;
    tls_->handshake(asio::ssl::stream_base::client, ec);
    if (ec) fail("TLS handshake with " + addr + " failed: " + ec.message());
  }
  if (security.uses_sasl()) sasl_login(security);
}

kafka_conn::~kafka_conn() = default;

template <class Buffers>
void kafka_conn::write(const Buffers& b) {
  if (tls_) asio::write(*tls_, b);
  else asio::write(socket_, b);
}

template <class Buffers>
void kafka_conn::read(const Buffers& b) {
  if (tls_) asio::read(*tls_, b);
  else asio::read(socket_, b);
}

reader kafka_conn::call(api_key key, std::int16_t version, const std::string& body) {
  writer w;
  encode_request_header({key, version, ++correlation_, std::string("kafka_load")}, w);
  w.write_raw(body);
  std::string frame = w.take();
  const auto n = static_cast<std::uint32_t>(frame.size());
  const char size[4] = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
  const std::array<asio::const_buffer, 2> out{asio::buffer(size, 4), asio::buffer(frame)};
  write(out);
  std::uint8_t in[4];
  read(asio::buffer(in));
  const std::size_t length =
      (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) | in[3];
  if (resp_.use_count() != 1) resp_ = std::make_shared<std::string>();
  // The read fills it; the size comes from the capture (GCC 12 passes the grown capacity).
  resp_->resize_and_overwrite(length, [length](char*, std::size_t) { return length; });
  read(asio::buffer(*resp_));
  reader h{std::string_view(*resp_)};
  if (!decode_response_header(h, key, version)) fail("bad response header");
  return reader(std::string_view(*resp_).substr(h.offset()), resp_);
}

std::string kafka_conn::authenticate(const std::string& token) {
  writer w;
  encode_sasl_authenticate_request({token}, 1, w);
  reader r(call(api_key::sasl_authenticate, 1, w.take()));
  auto resp = decode_sasl_authenticate_response(r, 1);
  if (!resp) fail("bad SaslAuthenticate response");
  if (resp->error != error_code::none) {
    fail("SASL authentication failed (error " + std::to_string(static_cast<int>(resp->error)) +
         "): " + resp->error_message.value_or(""));
  }
  return resp->auth_bytes;
}

// KIP-152: SaslHandshake v1 names the mechanism, then every SASL token travels in a
// SaslAuthenticate request. SCRAM is RFC 5802 section 3 without channel binding ("n,,"), as
// Kafka's clients send it.
void kafka_conn::sasl_login(const client_security& s) {
  writer hw;
  encode_sasl_handshake_request({s.sasl_mechanism}, 1, hw);
  reader hr(call(api_key::sasl_handshake, 1, hw.take()));
  auto hs = decode_sasl_handshake_response(hr, 1);
  if (!hs) fail("bad SaslHandshake response");
  if (hs->error != error_code::none) fail("the broker does not offer SASL mechanism " + s.sasl_mechanism);
  if (s.sasl_mechanism == "PLAIN") {
    authenticate(std::string(1, '\0') + s.sasl_username + std::string(1, '\0') + s.sasl_password);
    return;
  }
  const auto mechanism = sasl::scram_mechanism_named(s.sasl_mechanism);
  if (!mechanism) fail("unknown SASL mechanism " + s.sasl_mechanism);
  const auto m = *mechanism;
  const std::string client_nonce = sasl::base64_encode(sasl::random_bytes(24));
  const std::string client_first_bare = "n=" + saslname(s.sasl_username) + ",r=" + client_nonce;
  const std::string server_first = authenticate("n,," + client_first_bare);
  const std::string nonce = attribute(server_first, 'r');
  if (!nonce.starts_with(client_nonce)) fail("SCRAM: the server's nonce does not extend ours");
  const auto salt = sasl::base64_decode(attribute(server_first, 's'));
  if (!salt) fail("SCRAM: the server's salt is not base64");
  const long iterations = std::stol(attribute(server_first, 'i'));
  if (iterations < 1 || iterations > 1'000'000) fail("SCRAM: iteration count out of range");
  const std::string salted =
      sasl::scram_salted_password(m, s.sasl_password, *salt, static_cast<std::uint32_t>(iterations));
  const std::string client_key = sasl::scram_hmac(m, salted, "Client Key");
  const std::string stored_key = sasl::scram_hash(m, client_key);
  const std::string client_final_bare = "c=biws,r=" + nonce;  // "biws" = base64("n,,")
  const std::string auth_message = client_first_bare + "," + server_first + "," + client_final_bare;
  const std::string proof = xor_bytes(client_key, sasl::scram_hmac(m, stored_key, auth_message));
  const std::string server_final = authenticate(client_final_bare + ",p=" + sasl::base64_encode(proof));
  // The server proves it knows ServerKey too (RFC 5802 section 3): check it, as clients must.
  const std::string server_key = sasl::scram_hmac(m, salted, "Server Key");
  const auto signature = sasl::base64_decode(attribute(server_final, 'v'));
  if (!signature || !sasl::constant_time_equal(*signature, sasl::scram_hmac(m, server_key, auth_message))) {
    fail("SCRAM: the server's signature does not verify");
  }
}

}  // namespace chronik::bench
