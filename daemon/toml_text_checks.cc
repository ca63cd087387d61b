#include "daemon/toml_text_checks.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace chronik::daemon {

std::string one_line_parse_error(std::string_view what) {
  std::string first;
  std::string line_no;
  std::istringstream in{std::string(what)};
  for (std::string line; std::getline(in, line);) {
    if (first.empty()) {
      first = line.starts_with("[error] ") ? line.substr(8) : line;
      continue;
    }
    const auto bar = line.find(" | ");
    if (line_no.empty() && bar != std::string::npos) {
      std::string digits;
      for (char c : line.substr(0, bar)) {
        if (std::isdigit(static_cast<unsigned char>(c)) != 0) digits += c;
      }
      line_no = digits;
    }
  }
  if (!line_no.empty()) first += " (line " + line_no + ")";
  return first;
}

std::size_t first_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    std::size_t len = 1;
    unsigned char lo = 0x80;  // allowed range of the second byte
    unsigned char hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;  // overlong
      if (b == 0xED) hi = 0x9F;  // surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;  // overlong
      if (b == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else if (b >= 0x80) {
      return i;
    }
    if (len > text.size() - i) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

int toml_nesting(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  std::size_t i = 0;
  // Moves i past the next `end`; in basic strings a backslash escapes the next character.
  auto skip_past = [&](std::string_view end, bool escapes) {
    while (i < text.size() && !text.substr(i).starts_with(end)) i += (escapes && text[i] == '\\') ? 2 : 1;
    i += end.size();
  };
  while (i < text.size() && deepest <= max_toml_nesting) {
    const std::string_view rest = text.substr(i);
    if (rest.starts_with(R"(""")") || rest.starts_with("'''")) {
      i += 3;
      skip_past(rest.substr(0, 3), rest[0] == '"');
    } else if (rest[0] == '"' || rest[0] == '\'') {
      ++i;
      skip_past(rest.substr(0, 1), rest[0] == '"');
    } else if (rest[0] == '#') {
      skip_past("\n", false);
    } else {
      if (rest[0] == '[' || rest[0] == '{') deepest = std::max(deepest, ++depth);
      if ((rest[0] == ']' || rest[0] == '}') && depth > 0) --depth;
      ++i;
    }
  }
  return deepest;
}

}  // namespace chronik::daemon
