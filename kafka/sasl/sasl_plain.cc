#include "kafka/sasl/sasl_plain.h"

namespace chronik::kafka::sasl {

std::expected<plain_message, std::string> parse_plain(std::string_view message) {
  const std::size_t first = message.find('\0');
  if (first == std::string_view::npos) return std::unexpected("invalid SASL/PLAIN message: expected 3 fields separated by NUL");
  const std::size_t second = message.find('\0', first + 1);
  if (second == std::string_view::npos) return std::unexpected("invalid SASL/PLAIN message: expected 3 fields separated by NUL");
  if (message.find('\0', second + 1) != std::string_view::npos) {
    return std::unexpected("invalid SASL/PLAIN message: more than 3 fields");
  }
  const std::string_view authzid = message.substr(0, first);
  const std::string_view authcid = message.substr(first + 1, second - first - 1);
  const std::string_view passwd = message.substr(second + 1);
  if (authcid.empty()) return std::unexpected("invalid SASL/PLAIN message: the user name is empty");
  if (passwd.empty()) return std::unexpected("invalid SASL/PLAIN message: the password is empty");
  if (authzid.size() > plain_max_field_bytes || authcid.size() > plain_max_field_bytes ||
      passwd.size() > plain_max_field_bytes) {
    return std::unexpected("invalid SASL/PLAIN message: a field is longer than 255 bytes");
  }
  if (!authzid.empty() && authzid != authcid) {
    return std::unexpected("authorization id must be empty or the same as the user name");
  }
  return plain_message{std::string(authcid), std::string(passwd)};
}

}  // namespace chronik::kafka::sasl
