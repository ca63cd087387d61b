// Helpers shared by the fuzz entries (fuzz_entries.h): input views and the abort an oracle uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace chronik::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// An oracle failed: the input was accepted but the accepting code broke its promise. One line,
// then abort, which libFuzzer records as a crash with the input and the smoke test as a death.
[[noreturn]] inline void oracle_failed(std::string_view target, const std::string& what) {
  std::fprintf(stderr, "%.*s fuzz: %s\n", static_cast<int>(target.size()), target.data(), what.c_str());
  std::abort();
}

}  // namespace chronik::fuzz
