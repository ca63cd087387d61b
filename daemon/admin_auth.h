// Who may use the admin HTTP endpoint (docs/security.md "Admin HTTP"): everything but
// `GET /health` needs `Authorization: Bearer <token>` (RFC 6750 §2.1) with the node's admin token.
// This file decides; it does no I/O. The token file is read by daemon/admin_token.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace chronik::daemon {

// The longest token accepted anywhere (file, header); a generated one has 64 characters.
inline constexpr std::size_t max_admin_token_bytes = 256;
// The shortest token a node accepts from admin_token_file: anything shorter can be guessed.
inline constexpr std::size_t min_admin_token_bytes = 16;

enum class admin_auth : std::uint8_t {
  ok,
  missing,  // no Authorization header, or not the Bearer scheme
  wrong,    // a bearer token that is not the node's
};

// The token of an `Authorization` header value: "Bearer" (any case, RFC 7235 §2.1), one or more
// spaces, then the token (RFC 6750's b64token characters). nullopt for anything else.
std::optional<std::string_view> bearer_token_of(std::string_view authorization);

// Compares in time that depends only on the lengths, never on where the first difference is, so
// that response times do not reveal a prefix of the token.
bool tokens_equal(std::string_view a, std::string_view b);

// The decision for one request: `authorization` is the header's value (nullopt if absent).
admin_auth check_admin_auth(std::optional<std::string_view> authorization, std::string_view token);

// A token an operator wrote into admin_token_file: surrounding whitespace (a trailing newline)
// trimmed; nullopt when what remains is shorter than min_admin_token_bytes, longer than
// max_admin_token_bytes, or holds characters outside RFC 6750's b64token set.
std::optional<std::string_view> parse_admin_token(std::string_view file_text);

}  // namespace chronik::daemon
