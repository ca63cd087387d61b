#include "daemon/admin_auth.h"

#include <algorithm>
#include <cctype>

namespace chronik::daemon {
namespace {

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool is_b64token(std::string_view s) {
  if (s.empty()) return false;
  const auto body_end = s.find_last_not_of('=');
  if (body_end == std::string_view::npos) return false;
  return std::ranges::all_of(s.substr(0, body_end + 1), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' || c == '~' ||
           c == '+' || c == '/';
  });
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

std::optional<std::string_view> bearer_token_of(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size() || authorization.size() > scheme.size() + 64 + max_admin_token_bytes) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return std::nullopt;
  }
  std::string_view rest = authorization.substr(scheme.size());
  if (rest.front() != ' ') return std::nullopt;
  rest.remove_prefix(std::min(rest.find_first_not_of(' '), rest.size()));
  if (!is_b64token(rest) || rest.size() > max_admin_token_bytes) return std::nullopt;
  return rest;
}

bool tokens_equal(std::string_view a, std::string_view b) {
  // Every byte of `b` is read whatever `a` holds; a length difference is folded in, not returned
  // early. The lengths themselves are not secret (a generated token always has 64 characters).
  unsigned diff = a.size() == b.size() ? 0U : 1U;
  for (std::size_t i = 0; i < b.size(); ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    diff |= static_cast<unsigned>(x ^ static_cast<unsigned char>(b[i]));
  }
  // Keep the compiler from turning the loop into an early-exit compare.
  volatile unsigned sink = diff;
  return sink == 0;
}

admin_auth check_admin_auth(std::optional<std::string_view> authorization, std::string_view token) {
  if (!authorization) return admin_auth::missing;
  const auto presented = bearer_token_of(*authorization);
  if (!presented) return admin_auth::missing;
  // An empty configured token would match nothing anyway; refuse it explicitly.
  if (token.empty() || !tokens_equal(*presented, token)) return admin_auth::wrong;
  return admin_auth::ok;
}

std::optional<std::string_view> parse_admin_token(std::string_view file_text) {
  const auto t = trim(file_text);
  if (t.size() < min_admin_token_bytes || t.size() > max_admin_token_bytes || !is_b64token(t)) return std::nullopt;
  return t;
}

}  // namespace chronik::daemon
