// Hex fixtures for codec tests: bytes to lower-case hex, and hex ("00 12" or "0012") to bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chronik::test {

inline std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    const auto b = static_cast<std::uint8_t>(c);
    out += digits[b >> 4];
    out += digits[b & 0xF];
  }
  return out;
}

// Spaces are skipped, so fixtures can be written grouped by field.
inline std::string unhex(std::string_view text) {
  std::string out;
  int high = -1;
  for (const char c : text) {
    if (c == ' ') continue;
    const int v = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    if (high < 0) {
      high = v;
    } else {
      out += static_cast<char>(high * 16 + v);
      high = -1;
    }
  }
  return out;
}

}  // namespace chronik::test
