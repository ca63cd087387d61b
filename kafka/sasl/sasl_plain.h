// SASL PLAIN (RFC 4616): one client message, [authzid] NUL authcid NUL passwd, no challenge.
// Kafka's PlainSaslServer rules apply: the authorization id is empty or the authentication id
// itself (a client cannot act as another user), and neither the user nor the password is empty.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace chronik::kafka::sasl {

// RFC 4616 section 2 bounds each of the three fields to 255 octets.
inline constexpr std::size_t plain_max_field_bytes = 255;

struct plain_message {
  std::string user;  // the authentication id
  std::string password;
};

// The message's user and password, or why it is malformed (the text is safe to send back: it
// never contains the password).
std::expected<plain_message, std::string> parse_plain(std::string_view message);

}  // namespace chronik::kafka::sasl
