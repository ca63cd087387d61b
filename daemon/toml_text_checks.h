// Checks on a config file's text before, and after, toml11 parses it (daemon/config.cc
// read_toml): toml11 recurses once per nesting level and assumes UTF-8, and reports a syntax error
// over several lines, so the loader checks and condenses around it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace chronik::daemon {

// toml11 parses arrays and inline tables by recursion, one set of frames per level, so a few
// thousand '[' overflow the stack (found by tests/fuzz). No config needs more than a few levels.
constexpr int max_toml_nesting = 32;

// toml11's multi-line syntax error (message, file, excerpt, caret) as one line: the message and
// the line number.
std::string one_line_parse_error(std::string_view what);

// The offset of the first byte that does not belong to a well-formed UTF-8 sequence (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), or npos.
std::size_t first_invalid_utf8(std::string_view text);

// The deepest nesting of arrays and inline tables in `text`, counting brackets outside strings
// and comments (the TOML 1.0 string forms: "basic", 'literal', and their triple-quoted
// multi-line forms). Stops counting once past max_toml_nesting.
int toml_nesting(std::string_view text);

}  // namespace chronik::daemon
